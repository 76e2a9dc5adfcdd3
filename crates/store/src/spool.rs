//! The spool, `queue/incoming/`, where a body is written before the commit
//! that keeps it (blob.rs), spread over sixteen subdirectories by the last
//! hex digit of its id: `queue/incoming/X/ID`.
//!
//! Why (issue 18 item 2): every APPEND and delivery creates a file here and
//! every expunge later frees one. ext4 takes a new file's inode from its
//! directory's block group, and without a journal it skips, one by one, the
//! inodes of that group freed in the last seconds (`recently_deleted`), so
//! with one directory the cost of a create grows with the churn: 9 % of the
//! server's CPU under imaptest. With `FS_TOPDIR_FL` on the spool, ext4's
//! Orlov allocator places each subdirectory in a block group of its own, and
//! each group sees a sixteenth of the churn (a create + unlink loop: 184–210
//! µs of system time per file in one directory, 35–40 µs spread). Sixteen
//! directories also spread the directory lock every create and rename takes.
//! The flag is a hint: where it cannot be set, the layout is the same.
//!
//! Bodies spooled by an older version (`queue/incoming/ID`) are still found.

use crate::{BlobId, StoreError};
use std::path::{Path, PathBuf};

/// Creates the spool and marks it a top directory for the block allocator
/// before any subdirectory exists (they are made as bodies need them).
pub(crate) fn prepare(spool: &Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(spool).map_err(|e| StoreError::io(spool, e))?;
    mark_top(spool);
    Ok(())
}

/// `chattr +T`: a hint, so a file system without it is no error.
fn mark_top(dir: &Path) {
    use rustix::fs::{ioctl_getflags, ioctl_setflags, IFlags};
    let Ok(d) = std::fs::File::open(dir) else {
        return;
    };
    if let Ok(flags) = ioctl_getflags(&d) {
        if !flags.contains(IFlags::TOPDIR) {
            let _ = ioctl_setflags(&d, flags | IFlags::TOPDIR);
        }
    }
}

/// Where the body `id` is spooled.
pub(crate) fn path(spool: &Path, id: &BlobId) -> PathBuf {
    spool.join(id.spool_dir()).join(id.as_str())
}

/// Where the body `id` may be spooled: its place, then an older version's.
pub(crate) fn paths(spool: &Path, id: &BlobId) -> [PathBuf; 2] {
    [path(spool, id), spool.join(id.as_str())]
}

/// The spool and its subdirectories (none when there is no spool).
pub(crate) fn dirs(spool: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let entries = match std::fs::read_dir(spool) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io(spool, e)),
    };
    let mut dirs = vec![spool.to_path_buf()];
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(spool, e))?;
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            dirs.push(entry.path());
        }
    }
    Ok(dirs)
}

/// Every file in the spool, in its subdirectories or (older) at its top.
pub(crate) fn files(spool: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let mut files = Vec::new();
    for dir in dirs(spool)? {
        let entries = std::fs::read_dir(&dir).map_err(|e| StoreError::io(&dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io(&dir, e))?;
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                files.push(entry.path());
            }
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_spread_over_sixteen_directories_and_old_ones_are_still_found() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("incoming");
        prepare(&spool).unwrap();
        let mut used = std::collections::BTreeSet::new();
        for n in 0..64u32 {
            let id = BlobId::parse(&format!("{:021x}", n.wrapping_mul(0x9e37_79b9))).unwrap();
            let p = path(&spool, &id);
            assert_eq!(p.parent().unwrap().parent().unwrap(), spool);
            used.insert(p.parent().unwrap().to_path_buf());
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"body").unwrap();
        }
        assert_eq!(used.len(), 16);
        let old = BlobId::parse("0123456789abcdef01234").unwrap();
        std::fs::write(spool.join(old.as_str()), b"old body").unwrap();
        assert_eq!(paths(&spool, &old)[1], spool.join(old.as_str()));
        let found = files(&spool).unwrap();
        assert_eq!(found.len(), 65);
        assert!(found.contains(&spool.join(old.as_str())));
        assert_eq!(dirs(&spool).unwrap().len(), 17);
    }

    #[test]
    fn the_spool_is_a_top_directory_where_the_file_system_knows_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("incoming");
        prepare(&spool).unwrap();
        prepare(&spool).unwrap(); // again: no error
        let d = std::fs::File::open(&spool).unwrap();
        // tmpfs and some others have no such flags: nothing to check there.
        if let Ok(flags) = rustix::fs::ioctl_getflags(&d) {
            if rustix::fs::ioctl_setflags(&d, flags).is_ok() {
                assert!(flags.contains(rustix::fs::IFlags::TOPDIR));
            }
        }
    }
}
