//! Where the passphrase comes from, for `serve` and every command that opens
//! an encrypted store: `--key-file PATH`, else `POSTERN_PASSPHRASE_FILE`,
//! else one line on stdin. Files must be private (mode 0600 or stricter):
//! a key readable by others is refused, not used. Read once per process.

use crate::{Secret, StoreError};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

pub const PASSPHRASE_ENV: &str = "POSTERN_PASSPHRASE_FILE";
/// A passphrase longer than this is surely not one (a wrong file given).
pub const MAX_PASSPHRASE: usize = 4096;

static KEY_FILE: OnceLock<PathBuf> = OnceLock::new();
static CACHED: Mutex<Option<Secret<Vec<u8>>>> = Mutex::new(None);

/// `--key-file`: set once by the command line, before any store is opened.
pub fn set_key_file(path: PathBuf) {
    let _ = KEY_FILE.set(path);
}

/// The passphrase (or key file's content), read at first need.
pub fn read_passphrase() -> Result<Secret<Vec<u8>>, StoreError> {
    let mut cached = CACHED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(p) = cached.as_ref() {
        return Ok(p.clone());
    }
    let pass = match (KEY_FILE.get(), std::env::var_os(PASSPHRASE_ENV)) {
        (Some(file), _) => from_file(file)?,
        (None, Some(file)) => from_file(Path::new(&file))?,
        (None, None) => from_stdin()?,
    };
    if pass.expose().is_empty() {
        return Err(StoreError::Invalid("the passphrase is empty".into()));
    }
    *cached = Some(pass.clone());
    Ok(pass)
}

fn from_file(path: &Path) -> Result<Secret<Vec<u8>>, StoreError> {
    let meta = std::fs::metadata(path).map_err(|e| StoreError::io(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(StoreError::Invalid(format!(
                "{}: mode {mode:o} lets others read the key; chmod 600 it",
                path.display()
            )));
        }
    }
    if meta.len() > MAX_PASSPHRASE as u64 {
        return Err(StoreError::Invalid(format!(
            "{}: longer than {MAX_PASSPHRASE} octets, not a key file",
            path.display()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| StoreError::io(path, e))?;
    Ok(trim_line(bytes))
}

fn from_stdin() -> Result<Secret<Vec<u8>>, StoreError> {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .take(MAX_PASSPHRASE as u64)
        .read_line(&mut line)
        .map_err(|e| StoreError::io(Path::new("stdin"), e))?;
    if line.is_empty() {
        return Err(StoreError::Invalid(format!(
            "the store is encrypted: give its passphrase on stdin, in the file \
             named by {PASSPHRASE_ENV}, or --key-file PATH"
        )));
    }
    Ok(trim_line(std::mem::take(&mut line).into_bytes()))
}

use std::io::Read as _;

/// A passphrase line loses its line ending; 32 raw octets keep theirs
/// unless they end in one (then the key is simply 31 or 30 octets).
fn trim_line(mut bytes: Vec<u8>) -> Secret<Vec<u8>> {
    while matches!(bytes.last(), Some(b'\n' | b'\r')) {
        bytes.pop();
    }
    Secret::new(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn private(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn key_file_length_limit_and_mode() {
        let d = tempfile::tempdir().unwrap();
        let at = private(d.path(), "at", &[b'a'; MAX_PASSPHRASE], 0o600);
        assert_eq!(from_file(&at).unwrap().expose().len(), MAX_PASSPHRASE);
        let over = private(d.path(), "over", &[b'a'; MAX_PASSPHRASE + 1], 0o600);
        let e = from_file(&over).err().unwrap().to_string();
        assert!(e.contains("not a key file"), "{e}");
        let loose = private(d.path(), "loose", b"pass\n", 0o640);
        let e = from_file(&loose).err().unwrap().to_string();
        assert!(e.contains("chmod 600"), "{e}");
        let line = private(d.path(), "line", b"pass phrase\r\n", 0o400);
        assert_eq!(from_file(&line).unwrap().expose(), b"pass phrase");
    }
}
