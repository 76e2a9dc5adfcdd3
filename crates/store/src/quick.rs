//! Reads answered on the calling thread when nothing has to wait (issue 18
//! item 2). A store call on the blocking pool costs two thread hand-offs —
//! the pool's thread woken, then the session's task woken again — which
//! under imaptest cost more CPU than the SQLite work of a small read (a
//! UIDVALIDITY, a folder list, the changes since a MODSEQ: tens of
//! microseconds on cached pages).
//!
//! [`attempt`] runs a read in quick mode: while it runs, [`Store::reader`]
//! takes only a connection that is free at this instant (the shared one, or
//! an idle pooled one, never a new or awaited one) and otherwise fails with
//! [`StoreError::WouldWait`]; the caller (sqlite_api.rs `Store::quick_call`) then
//! runs the same read on the blocking pool. So a quick read never waits on a
//! lock, never opens a database and never fsyncs; what it can still meet is a
//! page not in the OS cache, the same disk read the blocking pool would make.
//!
//! Only bounded reads go this way, and each bound is checked as the read
//! goes: a list longer than [`QUICK_ROWS`] rows ([`rows`]), a body larger
//! than [`QUICK_BODY`] or not wholly in the page cache ([`cached`]) gives
//! up with `WouldWait` and is read on the blocking pool instead.
//!
//! The relaxed writes (STORE, EXPUNGE, the \Recent claim: lazy_sync.rs) go
//! the same way, as they never fsync: in quick mode `Store::writer` takes
//! the write connection only when it is free at once, and their BEGIN does
//! not wait for another connection's write lock (busy timeout 0 while it
//! runs). Their WAL is fsync'd by the flusher thread, and an APPEND's by its
//! blocking-pool thread after it has let the lock go (append.rs), so the
//! lock is seldom held for long. Other writes always go to the pool.
//!
//! [`Store::reader`]: crate::Store

use crate::StoreError;
use std::cell::Cell;
use std::fs::File;

/// Rows a quick read may collect before it gives up for the blocking pool.
pub(crate) const QUICK_ROWS: usize = 2_000;
/// The largest body a quick read takes.
pub(crate) const QUICK_BODY: u64 = 128 * 1024;

thread_local! {
    static QUICK: Cell<bool> = const { Cell::new(false) };
}

/// True while a quick attempt runs on this thread.
pub(crate) fn active() -> bool {
    QUICK.with(Cell::get)
}

/// Runs `f` in quick mode on this thread (restored after, even on panic).
pub(crate) fn attempt<T>(f: impl FnOnce() -> T) -> T {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            QUICK.with(|q| q.set(self.0));
        }
    }
    let _restore = Restore(QUICK.with(|q| q.replace(true)));
    f()
}

/// In quick mode, `WouldWait` once a read has collected more than
/// [`QUICK_ROWS`] rows; outside it, always Ok.
pub(crate) fn rows(collected: usize) -> Result<(), StoreError> {
    if collected > QUICK_ROWS && active() {
        return Err(StoreError::WouldWait);
    }
    Ok(())
}

/// Collects a query's rows, checking [`rows`] after each one, so a quick
/// read gives up at the bound instead of after the whole list.
pub(crate) fn collect<T, E>(iter: impl Iterator<Item = Result<T, E>>) -> Result<Vec<T>, StoreError>
where
    StoreError: From<E>,
{
    let mut out = Vec::new();
    for row in iter {
        out.push(row?);
        rows(out.len())?;
    }
    Ok(out)
}

/// In quick mode, the whole of `file` when it is at most [`QUICK_BODY`]
/// long and every octet of it is in the page cache, so reading it did not
/// wait on the disk: a `preadv2` with `RWF_NOWAIT` (Linux 4.14) of the
/// whole file must return all of it; else `WouldWait`. The caller serves
/// these bytes rather than read the file a second time. Outside quick
/// mode, Ok(None): nothing read.
pub(crate) fn cached(file: &File) -> Result<Option<Vec<u8>>, StoreError> {
    if !active() {
        return Ok(None);
    }
    let len = file.metadata().map_err(|_| StoreError::WouldWait)?.len();
    if len > QUICK_BODY {
        return Err(StoreError::WouldWait);
    }
    let mut buf = vec![0u8; len as usize];
    let mut at = 0usize;
    while at < buf.len() {
        let mut slice = [std::io::IoSliceMut::new(&mut buf[at..])];
        // EAGAIN: not cached; EOPNOTSUPP: no NOWAIT on this file system.
        match rustix::io::preadv2(
            file,
            &mut slice,
            at as u64,
            rustix::io::ReadWriteFlags::NOWAIT,
        ) {
            Ok(0) | Err(_) => return Err(StoreError::WouldWait),
            Ok(n) => at += n,
        }
    }
    Ok(Some(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_mode_holds_only_inside_an_attempt_and_nests() {
        assert!(!active());
        attempt(|| {
            assert!(active());
            attempt(|| assert!(active()));
            assert!(active());
        });
        assert!(!active());
        let caught = std::panic::catch_unwind(|| attempt(|| panic!("inside")));
        assert!(caught.is_err());
        assert!(!active());
    }

    #[test]
    fn a_read_past_the_row_bound_gives_up_only_in_quick_mode() {
        assert!(rows(QUICK_ROWS + 1).is_ok());
        attempt(|| {
            assert!(rows(QUICK_ROWS).is_ok());
            assert!(matches!(rows(QUICK_ROWS + 1), Err(StoreError::WouldWait)));
        });
    }

    #[test]
    fn a_body_is_quick_only_when_small_and_in_the_page_cache() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small");
        std::fs::write(&small, vec![b'x'; 20_000]).unwrap();
        let small = File::open(&small).unwrap();
        let large = dir.path().join("large");
        std::fs::write(&large, vec![b'x'; QUICK_BODY as usize + 1]).unwrap();
        let large = File::open(&large).unwrap();
        assert!(
            matches!(cached(&large), Ok(None)),
            "outside quick mode nothing is checked nor read"
        );
        let mut one = [0u8; 1];
        let probe = rustix::io::preadv2(
            &small,
            &mut [std::io::IoSliceMut::new(&mut one)],
            0,
            rustix::io::ReadWriteFlags::NOWAIT,
        );
        if probe == Err(rustix::io::Errno::OPNOTSUPP) {
            // No RWF_NOWAIT here (tmpfs): every body goes to the pool.
            attempt(|| assert!(matches!(cached(&small), Err(StoreError::WouldWait))));
            return;
        }
        attempt(|| {
            // Just written, so in the page cache: read whole, once.
            assert_eq!(cached(&small).unwrap(), Some(vec![b'x'; 20_000]));
            assert!(matches!(cached(&large), Err(StoreError::WouldWait)));
        });
        // Dropped from the page cache (POSIX_FADV_DONTNEED on a clean file):
        // a quick read would wait on the disk, so it gives up. Not on tmpfs,
        // whose pages are the file itself and always cached.
        const TMPFS_MAGIC: i64 = 0x0102_1994;
        if rustix::fs::fstatfs(&small).unwrap().f_type as i64 == TMPFS_MAGIC {
            eprintln!("temp dir on tmpfs: nothing to evict, eviction case not run");
            return;
        }
        small.sync_all().unwrap();
        rustix::fs::fadvise(&small, 0, None, rustix::fs::Advice::DontNeed).unwrap();
        attempt(|| assert!(matches!(cached(&small), Err(StoreError::WouldWait))));
    }
}
