//! How much disk the data directory takes, for the dashboard (issue 19
//! item 4): a walk of its files, at most once per [`DISK_USE_TTL`].

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a measured disk use is shown before the data directory is
/// walked again (a big store has millions of files; the page refreshes
/// every 10 seconds).
pub const DISK_USE_TTL: Duration = Duration::from_secs(60);

/// The last walk: which directory, when, how many bytes.
pub type Measured = Mutex<Option<(PathBuf, Instant, u64)>>;
pub static DISK_USE: Measured = Mutex::new(None);

/// [`disk_use`] of `dir`, walked again only when the last walk is older
/// than [`DISK_USE_TTL`] at `now`.
pub fn cached_disk_use(cache: &Measured, dir: &Path, now: Instant) -> u64 {
    let mut last = cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((d, at, n)) = last.as_ref() {
        if d == dir && now.saturating_duration_since(*at) < DISK_USE_TTL {
            return *n;
        }
    }
    let n = disk_use(dir);
    *last = Some((dir.to_path_buf(), now, n));
    n
}

/// Sum of file sizes under `dir` (links not followed).
pub fn disk_use(dir: &Path) -> u64 {
    let mut total = 0;
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => todo.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_use_is_walked_again_once_the_ttl_is_over() {
        let d = tempfile::tempdir().unwrap();
        let cache = Measured::default();
        let t0 = Instant::now();
        std::fs::write(d.path().join("x"), [0; 10]).unwrap();
        assert_eq!(cached_disk_use(&cache, d.path(), t0), 10);
        std::fs::write(d.path().join("y"), [0; 5]).unwrap();
        let just_before = t0 + DISK_USE_TTL - Duration::from_millis(1);
        assert_eq!(cached_disk_use(&cache, d.path(), just_before), 10);
        assert_eq!(cached_disk_use(&cache, d.path(), t0 + DISK_USE_TTL), 15);
        // Another directory is never answered from this one's walk.
        let e = tempfile::tempdir().unwrap();
        assert_eq!(cached_disk_use(&cache, e.path(), t0 + DISK_USE_TTL), 0);
    }

    #[test]
    fn disk_use_sums_nested_files() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a/b")).unwrap();
        std::fs::write(d.path().join("x"), [0; 10]).unwrap();
        std::fs::write(d.path().join("a/b/y"), [0; 5]).unwrap();
        assert_eq!(disk_use(d.path()), 15);
    }
}
