//! The dashboard's counts of the last day (issue 19 item 4) kept up to
//! date from mail.log and security.log without reading a day of logs on
//! every request: the first count reads them back (newest first, bounded by
//! [`MAX_LOG_SCAN`]); later ones read only the lines added since, onto the
//! last tally moved on to this hour ([`crate::traffic`] counts each line).

use crate::logread::{page, Filter, MAX_LIMIT};
use crate::traffic::{Older, Tally};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Bytes of each log a count reads at most (a busy day is cut
/// short, the request stays quick).
pub const MAX_LOG_SCAN: u64 = 64 * 1024 * 1024;

/// Feeds the lines of `path` before byte `end`, newest first, to `add`
/// until it says they are older or `max_scan` bytes were read.
pub fn read_back(
    path: &Path,
    end: u64,
    max_scan: u64,
    mut add: impl FnMut(&str) -> Result<(), Older>,
) -> std::io::Result<()> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut before = Some(end);
    loop {
        let (lines, next) = page(&mut f, before, MAX_LIMIT, &Filter::default())?;
        if lines.iter().any(|l| add(l).is_err()) {
            return Ok(());
        }
        match next {
            Some(n) if end.saturating_sub(n) < max_scan => before = Some(n),
            _ => return Ok(()),
        }
    }
}

/// Where a count stopped in one log: the file (its inode) and the byte
/// after the last line counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mark {
    pub ino: u64,
    pub pos: u64,
}

/// Feeds the complete lines of `path` from `from` on to `add`; the mark
/// after the last of them, or `None` when it grew by more than `max_scan`
/// (then count afresh). A rotated log (another inode: moved aside and
/// created anew; or shorter: truncated in place) is new from its first
/// line: the lines counted before stay counted, they were in the last day.
pub fn read_on(
    path: &Path,
    from: Mark,
    max_scan: u64,
    mut add: impl FnMut(&str),
) -> std::io::Result<Option<Mark>> {
    let Some(mut f) = open(path)? else {
        return Ok(Some(Mark::default()));
    };
    let now = mark_of(&f)?;
    let from = match now.ino != from.ino || now.pos < from.pos {
        true => Mark {
            ino: now.ino,
            pos: 0,
        },
        false => from,
    };
    if now.pos - from.pos > max_scan {
        return Ok(None);
    }
    if now.pos == from.pos {
        return Ok(Some(from));
    }
    f.seek(SeekFrom::Start(from.pos))?;
    let mut buf = Vec::new();
    f.take(now.pos - from.pos).read_to_end(&mut buf)?;
    let end = buf.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    for line in buf[..end].split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        add(&String::from_utf8_lossy(line));
    }
    Ok(Some(Mark {
        pos: from.pos + end as u64,
        ..from
    }))
}

/// The log, or None when there is none yet.
fn open(path: &Path) -> std::io::Result<Option<std::fs::File>> {
    match std::fs::File::open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The open file's inode and length.
fn mark_of(f: &std::fs::File) -> std::io::Result<Mark> {
    use std::os::unix::fs::MetadataExt;
    let m = f.metadata()?;
    Ok(Mark {
        ino: m.ino(),
        pos: m.len(),
    })
}

/// Where `path` ends now (a missing log: inode 0, empty).
fn log_mark(path: &Path) -> std::io::Result<Mark> {
    match open(path)? {
        Some(f) => mark_of(&f),
        None => Ok(Mark::default()),
    }
}

/// The last count: of which directory, where it stopped in each log.
#[derive(Default)]
pub struct Counted(Option<(PathBuf, Mark, Mark, Tally)>);
pub static COUNTED: Mutex<Counted> = Mutex::new(Counted(None));

/// The last day's counts at `now`: the lines added since the last call
/// are counted onto its tally (moved on to this hour); the logs are read
/// back afresh only the first time or after a burst of more than
/// [`MAX_LOG_SCAN`]; after a rotation the new file is counted from its start.
pub fn count(cache: &Mutex<Counted>, dir: &Path, now: i64) -> std::io::Result<Tally> {
    let mut last = cache.lock().unwrap_or_else(|p| p.into_inner());
    let logs = dir.join("logs");
    let (mail, security) = (logs.join("mail.log"), logs.join("security.log"));
    if let Some((d, m, s, t)) = last.0.take().filter(|(d, ..)| d == dir) {
        let mut t = t.rebase(now);
        let m = read_on(&mail, m, MAX_LOG_SCAN, |l| {
            let _ = t.add_mail(l);
        })?;
        let s = read_on(&security, s, MAX_LOG_SCAN, |l| {
            let _ = t.add_security(l);
        })?;
        if let (Some(m), Some(s)) = (m, s) {
            last.0 = Some((d, m, s, t.clone()));
            return Ok(t);
        }
    }
    let (m, s) = (log_mark(&mail)?, log_mark(&security)?);
    let mut t = Tally::new(now);
    read_back(&mail, m.pos, MAX_LOG_SCAN, |l| t.add_mail(l))?;
    read_back(&security, s.pos, MAX_LOG_SCAN, |l| t.add_security(l))?;
    last.0 = Some((dir.to_path_buf(), m, s, t.clone()));
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn log_of(lines: usize) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        for i in 0..lines {
            writeln!(f, "2026-12-07T05:00:00Z event=accepted id={i:06}").unwrap();
        }
        f
    }

    #[test]
    fn reading_back_stops_at_the_scan_limit() {
        let f = log_of(5000); // 47 bytes a line: 235,000 bytes
        let count = |max| {
            let mut n = 0;
            read_back(f.path(), u64::MAX, max, |_| {
                n += 1;
                Ok(())
            })
            .unwrap();
            n
        };
        assert_eq!(count(u64::MAX), 5000);
        // Pages are MAX_LIMIT lines: a limit under one page reads one page.
        assert_eq!(count(1000), MAX_LIMIT);
        assert!(count(100_000) < 5000);
    }

    #[test]
    fn reading_back_stops_at_the_first_older_line() {
        let f = log_of(10);
        let mut n = 0;
        read_back(f.path(), u64::MAX, u64::MAX, |_| {
            n += 1;
            if n == 3 {
                Err(Older)
            } else {
                Ok(())
            }
        })
        .unwrap();
        assert_eq!(n, 3);
    }

    fn append(path: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn counts_go_on_from_where_the_last_request_stopped() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("logs")).unwrap();
        let (mail, sec) = (
            d.path().join("logs/mail.log"),
            d.path().join("logs/security.log"),
        );
        let now = 1_796_621_400; // 2026-12-07T05:30:00Z
        let line = "2026-12-07T05:10:00Z event=accepted id=a\n";
        let cache = Mutex::new(Counted::default());
        let received = |now| {
            count(&cache, d.path(), now)
                .unwrap()
                .received
                .iter()
                .sum::<u64>()
        };
        append(&mail, &line.repeat(2));
        assert_eq!(received(now), 2);
        append(&mail, line);
        append(&sec, "2026-12-07T05:11:00Z event=auth-failed\n");
        assert_eq!(received(now), 3);
        assert_eq!(
            count(&cache, d.path(), now)
                .unwrap()
                .failed_logins
                .iter()
                .sum::<u64>(),
            1
        );
        // A line still being written is counted once it is whole.
        append(&mail, "2026-12-07T05:12:00Z event=acc");
        assert_eq!(received(now), 3);
        append(&mail, "epted id=b\n");
        assert_eq!(received(now), 4);
        // A log truncated in place (copytruncate) is new from its start.
        std::fs::write(&mail, line).unwrap();
        assert_eq!(received(now), 5);
        // A day later they are out of the window.
        assert_eq!(received(now + 86_400), 0);
    }

    #[test]
    fn a_log_rotated_by_rename_is_read_from_its_start_even_when_longer_than_the_old() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("logs")).unwrap();
        let mail = d.path().join("logs/mail.log");
        let now = 1_796_621_400; // 2026-12-07T05:30:00Z
        let line = "2026-12-07T05:10:00Z event=accepted id=a\n";
        let cache = Mutex::new(Counted::default());
        let received = |now| {
            count(&cache, d.path(), now)
                .unwrap()
                .received
                .iter()
                .sum::<u64>()
        };
        append(&mail, &line.repeat(2));
        assert_eq!(received(now), 2);
        // logrotate: the old file moved aside, a new one with more lines
        // than the old had begun (its size alone does not tell).
        std::fs::rename(&mail, d.path().join("logs/mail.log.1")).unwrap();
        append(&mail, &line.repeat(5));
        assert_eq!(received(now), 7);
        append(&mail, line);
        assert_eq!(received(now), 8);
    }

    #[test]
    fn a_burst_over_the_scan_limit_is_read_back_afresh() {
        let f = log_of(3);
        let mut n = 0;
        let start = Mark {
            pos: 0,
            ..log_mark(f.path()).unwrap()
        };
        assert_eq!(read_on(f.path(), start, 10, |_| n += 1).unwrap(), None);
        assert_eq!(n, 0);
        let end = log_mark(f.path()).unwrap();
        assert_eq!(
            read_on(f.path(), start, end.pos, |_| n += 1).unwrap(),
            Some(end)
        );
        assert_eq!(n, 3);
    }
}
