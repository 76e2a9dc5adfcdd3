//! Putting a file into a backup: a hard link when the backup is on the same
//! filesystem (bodies are immutable once committed, so a link is a copy
//! that costs nothing), else a copy; and which files of the data directory
//! besides the database and bodies a backup holds.

use crate::StoreError;
use std::path::{Path, PathBuf};

/// How a file got into the backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    Linked,
    Copied,
}

/// Hard-links `from` to `to`, or copies it when they are on different
/// filesystems (or links are refused). Creates `to`'s directory.
pub fn link_or_copy(from: &Path, to: &Path) -> std::io::Result<Placed> {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::hard_link(from, to) {
        Ok(()) => Ok(Placed::Linked),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(e),
        Err(_) => copy_synced(from, to).map(|()| Placed::Copied),
    }
}

/// Copies `from` to `to` and fsyncs the copy.
pub fn copy_synced(from: &Path, to: &Path) -> std::io::Result<()> {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::copy(from, to)?;
    std::fs::File::open(to)?.sync_all()
}

/// Top-level entries of the data directory a backup leaves out: the
/// database and bodies (taken apart, consistently), logs, the antivirus
/// signatures (downloaded again), the pid file.
const SKIPPED: [&str; 5] = ["db", "blobs", "logs", "av", "postern.pid"];

/// The settings and keys to back up: every file of the data directory but
/// [`SKIPPED`] and `queue/incoming` (bodies never acknowledged), as paths
/// relative to `data`. `exclude` (the backup's own destination, when it is
/// inside the data directory) is left out too.
pub fn settings_files(data: &Path, exclude: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let mut out = Vec::new();
    walk(data, Path::new(""), exclude, &mut out)?;
    out.sort();
    Ok(out)
}

fn walk(data: &Path, rel: &Path, exclude: &Path, out: &mut Vec<PathBuf>) -> Result<(), StoreError> {
    let dir = data.join(rel);
    let entries = std::fs::read_dir(&dir).map_err(|e| StoreError::io(&dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(&dir, e))?;
        let name = entry.file_name();
        let child = rel.join(&name);
        let skipped = rel.as_os_str().is_empty()
            && SKIPPED.iter().any(|s| name.to_str() == Some(s))
            || child == Path::new("queue").join("incoming")
            || same_path(&data.join(&child), exclude);
        if skipped {
            continue;
        }
        let kind = entry.file_type().map_err(|e| StoreError::io(&dir, e))?;
        if kind.is_dir() {
            walk(data, &child, exclude, out)?;
        } else if kind.is_file() {
            out.push(child);
        }
    }
    Ok(())
}

fn same_path(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// A relative path in the manifest's form (`/`-separated).
pub fn manifest_path(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_leave_out_bodies_logs_and_spool() {
        let d = tempfile::tempdir().unwrap();
        let data = d.path().join("data");
        for dir in [
            "db",
            "blobs/aa",
            "logs",
            "queue/incoming",
            "keys",
            "tls",
            "bk",
        ] {
            std::fs::create_dir_all(data.join(dir)).unwrap();
        }
        for f in [
            "postern.toml",
            "db/postern.db",
            "blobs/aa/11aa",
            "logs/mail.log",
            "queue/incoming/22bb",
            "keys/server.key",
            "tls/cert.pem",
            "bk/old",
        ] {
            std::fs::write(data.join(f), b"x").unwrap();
        }
        let got = settings_files(&data, &data.join("bk")).unwrap();
        let got: Vec<String> = got.iter().map(|p| manifest_path(p)).collect();
        assert_eq!(got, ["keys/server.key", "postern.toml", "tls/cert.pem"]);
    }

    #[test]
    fn link_then_copy() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a"), b"x").unwrap();
        let placed = link_or_copy(&d.path().join("a"), &d.path().join("s/b")).unwrap();
        assert_eq!(placed, Placed::Linked);
        assert!(link_or_copy(&d.path().join("missing"), &d.path().join("c")).is_err());
    }
}
