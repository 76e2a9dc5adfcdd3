//! One backup at a time into one DEST, and the leftovers of a run that died.
//!
//! A backup is written as `.partial-ID` and renamed when finished, so a
//! crash (kill -9, power loss, a full disk) leaves a `.partial-*` directory
//! that no later run would otherwise remove. Every backup holds an exclusive
//! lock on `DEST/.lock` from start to end: a second backup into the same DEST
//! (the schedule and an admin at once) waits for the first, and whoever holds
//! the lock knows that every `.partial-*` it finds belongs to a run that is no
//! longer alive — the kernel drops a dead process's lock — so it may delete it.

use crate::StoreError;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

/// The lock file's name in DEST (dot-named: never taken for a backup).
pub const LOCK: &str = ".lock";
/// The prefix of a backup being written.
pub const PARTIAL: &str = ".partial-";

/// Takes DEST's lock, waiting (and saying so) while another backup holds it.
/// The lock lasts as long as the returned file is open.
pub fn lock(dest: &Path, progress: &mut dyn FnMut(&str)) -> Result<File, StoreError> {
    let path = dest.join(LOCK);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            progress("another backup into DEST is running: waiting for it to finish");
            file.lock().map_err(|e| StoreError::io(&path, e))?;
        }
        Err(TryLockError::Error(e)) => return Err(StoreError::io(&path, e)),
    }
    Ok(file)
}

/// Deletes every `.partial-*` in DEST. Only to be called while holding
/// [`lock`]: then none of them is being written. Returns the names removed.
pub fn sweep_partials(
    dest: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<String>, StoreError> {
    let mut removed = Vec::new();
    for name in super::read_dir_names(dest)? {
        if !name.starts_with(PARTIAL) {
            continue;
        }
        let dir = dest.join(&name);
        std::fs::remove_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        progress(&format!(
            "removed {name}, left by a backup that did not finish"
        ));
        removed.push(name);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_are_swept_and_finished_backups_kept() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join(".partial-20260101T000000Z/blobs/ab")).unwrap();
        std::fs::write(d.path().join(".partial-20260101T000000Z/blobs/ab/x"), b"x").unwrap();
        std::fs::create_dir(d.path().join("20260102T000000Z")).unwrap();
        let _held = lock(d.path(), &mut |_| {}).unwrap();
        let mut said = Vec::new();
        let gone = sweep_partials(d.path(), &mut |s| said.push(s.to_string())).unwrap();
        assert_eq!(gone, [".partial-20260101T000000Z"]);
        assert!(!d.path().join(".partial-20260101T000000Z").exists());
        assert!(d.path().join("20260102T000000Z").is_dir());
        assert!(said[0].contains("did not finish"), "{said:?}");
    }

    #[test]
    fn a_second_locker_waits_for_the_first() {
        let d = tempfile::tempdir().unwrap();
        let first = lock(d.path(), &mut |_| {}).unwrap();
        let path = d.path().to_path_buf();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let waiter = std::thread::spawn(move || {
            let said = tx.clone();
            let _second = lock(&path, &mut |s| said.send(s.to_string()).unwrap()).unwrap();
            tx.send("granted".into()).unwrap();
        });
        let said = rx.recv().unwrap();
        assert!(said.contains("waiting"), "{said}");
        // It said it waits and then blocks: nothing more until the first goes.
        assert!(rx.try_recv().is_err());
        drop(first);
        assert_eq!(rx.recv().unwrap(), "granted");
        waiter.join().unwrap();
    }
}
