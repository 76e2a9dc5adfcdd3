//! The server key file, `DIR/keys/server.key` (mode 0600, its folder 0700):
//! created at first need, never rewritten. It holds two independent 32-byte
//! keys: one that seals the per-user mechanism secrets at rest
//! (ChaCha20-Poly1305, RFC 8439), and the `server_secret` SASL derives the
//! stand-in secrets of unknown users from (it must stay stable, or an
//! unknown user's SCRAM salt would change and give them away).
//!
//! Losing the file makes every stored mechanism secret unreadable: those
//! users can then log in with PLAIN/LOGIN only, until their password is set
//! again. Back it up with the database.

use crate::{Secret, Store, StoreError};
use rand::Rng;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file starts with this line; the two keys follow as raw bytes.
const MAGIC: &[u8] = b"postern-server-key-v1\n";
const KEY_LEN: usize = 32;

pub(crate) struct ServerKeys {
    pub seal: Secret<[u8; KEY_LEN]>,
    pub sasl: Secret<[u8; KEY_LEN]>,
}

impl Store {
    /// The key file's keys, read (or created) once per process.
    pub(crate) fn server_keys(&self) -> Result<&ServerKeys, StoreError> {
        if let Some(k) = self.inner.keys.get() {
            return Ok(k);
        }
        let loaded = load_or_create(&self.inner.root)?;
        Ok(self.inner.keys.get_or_init(|| loaded))
    }
}

/// Where the key file of a data directory lives.
pub fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join("server.key")
}

/// Reads the key file, creating it when missing. Two processes creating it
/// at once (the CLI and the server) end up with the same keys: the file
/// appears whole by a hard link that fails if another got there first.
pub(crate) fn load_or_create(data_dir: &Path) -> Result<ServerKeys, StoreError> {
    let path = key_path(data_dir);
    match std::fs::read(&path) {
        Ok(bytes) => parse(&path, &bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            create(&path)?;
            let bytes = std::fs::read(&path).map_err(|e| StoreError::io(&path, e))?;
            parse(&path, &bytes)
        }
        Err(e) => Err(StoreError::io(&path, e)),
    }
}

fn parse(path: &Path, bytes: &[u8]) -> Result<ServerKeys, StoreError> {
    let keys = bytes
        .strip_prefix(MAGIC)
        .filter(|k| k.len() == 2 * KEY_LEN)
        .ok_or_else(|| {
            StoreError::Invalid(format!(
                "{}: not a Postern server key file (restore it from a backup)",
                path.display()
            ))
        })?;
    let (seal, sasl) = keys.split_at(KEY_LEN);
    Ok(ServerKeys {
        seal: Secret::new(seal.try_into().expect("32 bytes")),
        sasl: Secret::new(sasl.try_into().expect("32 bytes")),
    })
}

fn create(path: &Path) -> Result<(), StoreError> {
    let dir = path.parent().expect("keys/ has a parent");
    make_private_dir(dir)?;
    let mut content = zeroize::Zeroizing::new(MAGIC.to_vec());
    let mut rng = rand::rng();
    content.extend_from_slice(&rng.random::<[u8; KEY_LEN]>());
    content.extend_from_slice(&rng.random::<[u8; KEY_LEN]>());
    let tmp = dir.join(format!(".server.key.{}", std::process::id()));
    write_private(&tmp, &content)?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => sync_dir(dir),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

fn make_private_dir(dir: &Path) -> Result<(), StoreError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| StoreError::io(dir, e))
}

fn write_private(path: &Path, content: &[u8]) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| StoreError::io(path, e))?;
    file.write_all(content)
        .and_then(|()| file.sync_all())
        .map_err(|e| StoreError::io(path, e))
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_private_and_stable() {
        let d = tempfile::tempdir().unwrap();
        let a = load_or_create(d.path()).unwrap();
        let b = load_or_create(d.path()).unwrap();
        assert_eq!(a.seal.expose(), b.seal.expose());
        assert_eq!(a.sasl.expose(), b.sasl.expose());
        assert_ne!(a.seal.expose(), a.sasl.expose());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&key_path(d.path())), 0o600);
            assert_eq!(mode(&d.path().join("keys")), 0o700);
        }
        let left: Vec<_> = std::fs::read_dir(d.path().join("keys")).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn a_damaged_file_is_refused_not_replaced() {
        let d = tempfile::tempdir().unwrap();
        load_or_create(d.path()).unwrap();
        let path = key_path(d.path());
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.pop();
        std::fs::write(&path, &bytes).unwrap();
        let e = load_or_create(d.path()).err().unwrap().to_string();
        assert!(e.contains("not a Postern server key file"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }
}
