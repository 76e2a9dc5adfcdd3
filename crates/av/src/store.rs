//! The thin file layer: the signature set lives in `DATA/av/`. Loading reads
//! every database file there (in name order); installing validates the new
//! set in memory first and only then writes it, file by file through a
//! temporary name and `rename(2)`, so a refused set leaves the old one in
//! place. The running server holds a [`Handle`] and reloads when the
//! directory's fingerprint (names, sizes, modification times) changes.

use crate::database::{self, Builder, LoadError};
use crate::engine::Engine;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::UNIX_EPOCH;

/// `DATA/av`.
pub fn av_dir(data: &Path) -> PathBuf {
    data.join("av")
}

fn io(path: &Path, source: std::io::Error) -> LoadError {
    LoadError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The database files in `dir` by name (none if it does not exist).
fn database_files(dir: &Path) -> Result<BTreeMap<String, PathBuf>, LoadError> {
    let mut out = BTreeMap::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && database::is_database(&name) && entry.path().is_file() {
            out.insert(name, entry.path());
        }
    }
    Ok(out)
}

fn read_all(files: &BTreeMap<String, PathBuf>) -> Result<BTreeMap<String, Vec<u8>>, LoadError> {
    files
        .iter()
        .map(|(name, path)| Ok((name.clone(), std::fs::read(path).map_err(|e| io(path, e))?)))
        .collect()
}

fn build(files: &BTreeMap<String, Vec<u8>>) -> Result<Engine, LoadError> {
    let mut b = Builder::default();
    for (name, bytes) in files {
        b.add(name, bytes)?;
    }
    b.build()
}

impl Engine {
    /// Loads every database file in `dir` (`DATA/av`); with none, the
    /// built-in EICAR signature alone.
    pub fn load(dir: &Path) -> Result<Engine, LoadError> {
        build(&read_all(&database_files(dir)?)?)
    }
}

/// Adds or replaces database files in `dir`: the resulting set is loaded
/// first, and nothing is written if it does not load. Returns the new engine.
pub fn install(dir: &Path, new: Vec<(String, Vec<u8>)>) -> Result<Engine, LoadError> {
    let mut set = read_all(&database_files(dir)?)?;
    for (name, bytes) in &new {
        if !database::is_database(name) || name.contains('/') || name.starts_with('.') {
            return Err(LoadError::File {
                file: name.clone(),
                reason: "not a database file name".into(),
            });
        }
        set.insert(name.clone(), bytes.clone());
    }
    let engine = build(&set)?;
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    for (name, bytes) in new {
        let tmp = dir.join(format!(".{name}.tmp"));
        let fin = dir.join(&name);
        write_synced(&tmp, &bytes)?;
        std::fs::rename(&tmp, &fin).map_err(|e| io(&fin, e))?;
    }
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(engine)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), LoadError> {
    use std::io::Write;
    let mut f = std::fs::File::create(path).map_err(|e| io(path, e))?;
    f.write_all(bytes).map_err(|e| io(path, e))?;
    f.sync_all().map_err(|e| io(path, e))
}

/// What identifies one state of the directory: each database file's name,
/// size and modification time.
pub fn fingerprint(dir: &Path) -> Vec<(String, u64, u128)> {
    let Ok(files) = database_files(dir) else {
        return Vec::new();
    };
    files
        .into_iter()
        .filter_map(|(name, path)| {
            let m = std::fs::metadata(&path).ok()?;
            let t = m
                .modified()
                .ok()?
                .duration_since(UNIX_EPOCH)
                .ok()?
                .as_nanos();
            Some((name, m.len(), t))
        })
        .collect()
}

/// The engine in use, swapped whole when the directory changes: scans in
/// progress keep the `Arc` they took. For the SMTP stage: call
/// [`Handle::reload_if_changed`] every few seconds off the async workers.
pub struct Handle {
    dir: PathBuf,
    current: RwLock<Arc<Engine>>,
    seen: Mutex<Vec<(String, u64, u128)>>,
}

impl Handle {
    pub fn open(dir: &Path) -> Result<Handle, LoadError> {
        let seen = fingerprint(dir);
        Ok(Handle::new(dir, Engine::load(dir)?, seen))
    }

    /// A handle on `engine`, as loaded from `dir` when it looked like `seen`
    /// (e.g. the built-in set, when the directory's set would not load).
    pub fn new(dir: &Path, engine: Engine, seen: Vec<(String, u64, u128)>) -> Handle {
        Handle {
            dir: dir.to_path_buf(),
            current: RwLock::new(Arc::new(engine)),
            seen: Mutex::new(seen),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn engine(&self) -> Arc<Engine> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Reloads if the directory changed. Ok(true) when a new set is in
    /// use; an error leaves the old set in use (and is not retried until
    /// the directory changes again).
    pub fn reload_if_changed(&self) -> Result<bool, LoadError> {
        let now = fingerprint(&self.dir);
        {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            if *seen == now {
                return Ok(false);
            }
            *seen = now;
        }
        let engine = Engine::load(&self.dir)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(engine);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO_MD5: &[u8] = b"5d41402abc4b2a76b9719d911017c592:5:Hello.Hash\n";

    #[test]
    fn install_validates_then_writes() {
        let d = tempfile::tempdir().unwrap();
        let dir = av_dir(d.path());
        assert_eq!(Engine::load(&dir).unwrap().signatures(), 1, "builtin only");
        install(&dir, vec![("a.hdb".into(), HELLO_MD5.to_vec())]).unwrap();
        assert_eq!(
            Engine::load(&dir).unwrap().detect(b"hello"),
            Some("Hello.Hash")
        );
        let e = install(&dir, vec![("b.ndb".into(), b"X:0:*:41\n".to_vec())]).unwrap_err();
        assert!(e.to_string().starts_with("b.ndb:1: "), "{e}");
        assert!(!dir.join("b.ndb").exists(), "nothing written");
        assert!(install(&dir, vec![("../x.hdb".into(), vec![])]).is_err());
    }

    #[test]
    fn handle_swaps_on_change_and_keeps_old_on_error() {
        let d = tempfile::tempdir().unwrap();
        let dir = av_dir(d.path());
        let h = Handle::open(&dir).unwrap();
        assert!(!h.reload_if_changed().unwrap());
        install(&dir, vec![("a.hdb".into(), HELLO_MD5.to_vec())]).unwrap();
        assert!(h.reload_if_changed().unwrap());
        assert_eq!(h.engine().detect(b"hello"), Some("Hello.Hash"));
        std::fs::write(dir.join("broken.ndb"), "X:0:*:zz\n").unwrap();
        assert!(h.reload_if_changed().is_err());
        assert_eq!(
            h.engine().detect(b"hello"),
            Some("Hello.Hash"),
            "old set kept"
        );
    }
}
