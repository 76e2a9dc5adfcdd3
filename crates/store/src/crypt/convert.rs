//! Converting a store between plaintext and encrypted, file by file, so a
//! conversion killed anywhere (kill -9, power loss) resumes on the next run:
//! each file is written whole to `.NAME.crypt-tmp` beside it, fsync'd and
//! renamed over the old one, so every body is always one whole file in one
//! form or the other (readers tell them apart per file). Temporary files
//! left by an interrupted run are removed by the next. The database is
//! exported by SQLCipher into `postern.db.crypt-tmp` and renamed the same way.
//! The mode in `encryption.json` (keyfile.rs) says which way a conversion
//! goes until it is done.

use super::body_file::{BodyFile, Forms};
use super::stream::{self, Opener, Sealer, CHUNK, HEADER_LEN, SEALED_CHUNK};
use super::AtRestKeys;
use crate::StoreError;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Suffix of every temporary file a conversion writes.
pub const TMP_SUFFIX: &str = ".crypt-tmp";

/// The plaintext of an encrypted body still being written: `on_disk` holds
/// the header and whole chunks (none of them the last), `pending` the rest.
pub fn open_unfinished(keys: &AtRestKeys, on_disk: &[u8], pending: &[u8]) -> io::Result<Vec<u8>> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "unfinished body malformed");
    let (header, chunks) = on_disk
        .split_at_checked(HEADER_LEN as usize)
        .ok_or_else(bad)?;
    let opener = Opener::new(keys.blobs.expose(), header).ok_or_else(bad)?;
    let mut out = Vec::with_capacity(on_disk.len() + pending.len());
    for (i, sealed) in chunks.chunks(SEALED_CHUNK as usize).enumerate() {
        if sealed.len() != SEALED_CHUNK as usize {
            return Err(bad());
        }
        let mut buf = sealed.to_vec();
        let n = opener.open(i as u64, false, &mut buf)?;
        out.extend_from_slice(&buf[..n]);
    }
    out.extend_from_slice(pending);
    Ok(out)
}

/// Every body file of the store (`blobs/XX/ID`, `queue/incoming/X/ID`). With
/// `clean`, the temporary files of an interrupted conversion are removed on
/// the way (never by `status`, which may run beside a conversion).
pub fn body_files(root: &Path, clean: bool) -> Result<Vec<PathBuf>, StoreError> {
    let spool = root.join("queue").join("incoming");
    let mut dirs = crate::spool::dirs(&spool)?;
    let blobs = root.join("blobs");
    if let Ok(shards) = std::fs::read_dir(&blobs) {
        for shard in shards {
            let shard = shard.map_err(|e| StoreError::io(&blobs, e))?.path();
            if shard.is_dir() {
                dirs.push(shard);
            }
        }
    }
    let mut files = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.map_err(|e| StoreError::io(&dir, e))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(TMP_SUFFIX) {
                if !clean {
                    continue;
                }
                std::fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
            } else if !name.starts_with('.') && path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Is this body file encrypted under `keys`? Told by opening its first
/// chunk, not by its first octets: a plaintext body may begin with the magic.
pub fn file_is_sealed(path: &Path, keys: &AtRestKeys) -> Result<bool, StoreError> {
    let file = std::fs::File::open(path).map_err(|e| StoreError::io(path, e))?;
    let body = BodyFile::new(file, Forms::Mixed(keys)).map_err(|e| StoreError::io(path, e))?;
    Ok(body.is_encrypted())
}

/// Does this body file begin like an encrypted one? (`encryption status`,
/// which has no key: a plaintext body beginning with the magic counts.)
pub fn file_is_encrypted(path: &Path) -> Result<bool, StoreError> {
    let mut head = [0u8; stream::MAGIC.len()];
    let mut f = std::fs::File::open(path).map_err(|e| StoreError::io(path, e))?;
    let mut n = 0;
    while n < head.len() {
        match f
            .read(&mut head[n..])
            .map_err(|e| StoreError::io(path, e))?
        {
            0 => break,
            k => n += k,
        }
    }
    Ok(stream::is_encrypted(&head[..n]))
}

/// Converts every body to the form asked for; `progress(done, total)` is
/// called as it goes. Files already in that form are left as they are.
pub fn convert_bodies(
    root: &Path,
    keys: &AtRestKeys,
    encrypt: bool,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(), StoreError> {
    let files = body_files(root, true)?;
    let total = files.len();
    let mut touched_dirs = std::collections::BTreeSet::new();
    for (i, path) in files.iter().enumerate() {
        if file_is_sealed(path, keys)? != encrypt {
            convert_one(path, keys, encrypt)?;
            touched_dirs.insert(path.parent().expect("in a shard").to_path_buf());
        }
        progress(i + 1, total);
    }
    for dir in touched_dirs {
        crate::blob::sync_dir(&dir)?;
    }
    Ok(())
}

fn tmp_path(path: &Path) -> PathBuf {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("body");
    path.with_file_name(format!(".{name}{TMP_SUFFIX}"))
}

/// One file: the other form into a temporary file, fsync'd, renamed over.
fn convert_one(path: &Path, keys: &AtRestKeys, encrypt: bool) -> Result<(), StoreError> {
    let io = |e| StoreError::io(path, e);
    let tmp = tmp_path(path);
    let _ = std::fs::remove_file(&tmp);
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| StoreError::io(&tmp, e))?;
    let file = std::fs::File::open(path).map_err(io)?;
    // The caller found it in the other form (file_is_sealed).
    let forms = match encrypt {
        true => Forms::Plain,
        false => Forms::Sealed(keys),
    };
    let mut input = BodyFile::new(file, forms).map_err(io)?;
    let written = if encrypt {
        seal_into(&mut input, keys, &mut out)
    } else {
        io::copy(&mut input, &mut out).map(|_| ())
    };
    let done = written.and_then(|()| out.sync_all());
    if let Err(e) = done {
        let _ = std::fs::remove_file(&tmp);
        return Err(StoreError::io(path, e));
    }
    std::fs::rename(&tmp, path).map_err(io)
}

fn seal_into(input: &mut impl Read, keys: &AtRestKeys, out: &mut impl Write) -> io::Result<()> {
    let mut sealer = Sealer::new(keys.blobs.expose());
    out.write_all(sealer.header())?;
    let mut buf = vec![0u8; CHUNK];
    let mut sealed = Vec::with_capacity(CHUNK + stream::TAG_LEN);
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        sealed.clear();
        sealer.update(&buf[..n], &mut sealed)?;
        out.write_all(&sealed)?;
    }
    sealed.clear();
    sealer.finish(&mut sealed)?;
    out.write_all(&sealed)
}

/// (encrypted, total) body files, for `encryption status`.
pub fn count_encrypted(root: &Path) -> Result<(usize, usize), StoreError> {
    let files = body_files(root, false)?;
    let mut enc = 0;
    for f in &files {
        enc += file_is_encrypted(f)? as usize;
    }
    Ok((enc, files.len()))
}
