//! A backup's manifest (`manifest.json`): every file of the backup with its
//! size and SHA-256, so `backup verify` can re-check each one, and the
//! backup it was made incrementally against.

use crate::StoreError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

pub const MANIFEST: &str = "manifest.json";
/// The manifest's format; a newer one is refused rather than misread.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the backup's directory, `/`-separated.
    pub path: String,
    pub size: u64,
    pub sha256: String,
    /// Taken from the previous backup (a hard link), not copied again.
    #[serde(default)]
    pub reused: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// The backup's name: its directory under DEST.
    pub id: String,
    /// Unix seconds when the snapshot was taken.
    pub created: i64,
    /// The database and bodies are encrypted (with the store's own key).
    pub encrypted: bool,
    /// The backup this one was made incrementally against.
    #[serde(default)]
    pub previous: Option<String>,
    pub files: Vec<Entry>,
}

impl Manifest {
    pub fn load(backup_dir: &Path) -> Result<Manifest, StoreError> {
        let path = backup_dir.join(MANIFEST);
        let text = std::fs::read(&path).map_err(|e| StoreError::io(&path, e))?;
        let m: Manifest = serde_json::from_slice(&text)
            .map_err(|e| StoreError::Invalid(format!("{}: {e}", path.display())))?;
        if m.format > FORMAT {
            return Err(StoreError::Invalid(format!(
                "{}: format {} is newer than this postern reads ({FORMAT})",
                path.display(),
                m.format
            )));
        }
        Ok(m)
    }

    /// Written to a temporary name, fsync'd, then renamed into place.
    pub fn save(&self, backup_dir: &Path) -> Result<(), StoreError> {
        let tmp = backup_dir.join(".manifest.json.tmp");
        let text = serde_json::to_vec_pretty(self)
            .map_err(|e| StoreError::Invalid(format!("manifest: {e}")))?;
        write_synced(&tmp, &text)?;
        let path = backup_dir.join(MANIFEST);
        std::fs::rename(&tmp, &path).map_err(|e| StoreError::io(&path, e))
    }

    /// Path → entry, for an incremental backup's look-ups.
    pub fn by_path(&self) -> HashMap<&str, &Entry> {
        self.files.iter().map(|e| (e.path.as_str(), e)).collect()
    }
}

pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    use std::io::Write;
    let io = |e| StoreError::io(path, e);
    let mut f = std::fs::File::create(path).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)
}

/// The size and SHA-256 (hex) of a file, read in chunks.
pub fn hash_file(path: &Path) -> Result<(u64, String), StoreError> {
    let io = |e| StoreError::io(path, e);
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, crate::crypt::keyfile::hex_encode(&h.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_hash() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a"), b"abc").unwrap();
        let (size, sum) = hash_file(&d.path().join("a")).unwrap();
        assert_eq!(size, 3);
        assert_eq!(
            sum,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let m = Manifest {
            format: FORMAT,
            id: "x".into(),
            created: 1,
            encrypted: false,
            previous: None,
            files: vec![Entry {
                path: "a".into(),
                size,
                sha256: sum,
                reused: false,
            }],
        };
        m.save(d.path()).unwrap();
        let back = Manifest::load(d.path()).unwrap();
        assert_eq!(back.files, m.files);
    }

    #[test]
    fn newer_format_refused() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join(MANIFEST),
            br#"{"format": 99, "id": "x", "created": 0, "encrypted": false, "files": []}"#,
        )
        .unwrap();
        let e = Manifest::load(d.path()).unwrap_err().to_string();
        assert!(e.contains("newer"), "{e}");
    }
}
