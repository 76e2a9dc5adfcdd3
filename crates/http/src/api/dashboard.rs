//! `GET /api/v1/dashboard`: what the console's first page shows (issue 19
//! item 4) in one request — listeners with their connections now, queue
//! size, messages in and out per hour over the last day and failed logins
//! (from the logs, [`crate::traffic`]), blocked addresses, and the disk the
//! data directory uses. Server-wide: admins and auditors.

use crate::conn::Peer;
use crate::logread::{page, Filter, MAX_LIMIT};
use crate::problem::{blocking, ApiError, ApiResult, Problem};
use crate::roles::Caller;
use crate::traffic::{Older, Tally};
use crate::Ctx;
use axum::extract::State;
use axum::Extension;
use serde::Serialize;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use utoipa::ToSchema;

/// Bytes of each log the dashboard reads back at most (a busy day is cut
/// short, the request stays quick).
pub const MAX_LOG_SCAN: u64 = 64 * 1024 * 1024;

#[derive(Serialize, ToSchema)]
pub struct ListenerNow {
    pub name: String,
    pub address: String,
    /// Connections open now.
    pub connections: u32,
}

#[derive(Serialize, ToSchema)]
pub struct Dashboard {
    pub version: String,
    pub uptime_seconds: u64,
    pub listeners: Vec<ListenerNow>,
    pub queue_size: usize,
    /// `YYYY-MM-DDTHH` (UTC) of each hour of the last day, oldest first.
    pub hours: Vec<String>,
    /// Messages accepted by SMTP in each of those hours.
    pub received: Vec<u64>,
    /// Recipients delivered to other servers in each of those hours.
    pub sent: Vec<u64>,
    /// Failed logins over the last day (security.log `auth-failed`).
    pub failed_logins: u64,
    /// Addresses blocked now.
    pub blocked: usize,
    /// Bytes of the files under the data directory (walked at most once
    /// per [`DISK_USE_TTL`]).
    pub disk_bytes: u64,
}

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

/// Feeds the complete lines of `path` from byte `from` on to `add`; the
/// position after the last of them, or `None` when the file is now shorter
/// (rotated) or grew by more than `max_scan` (then count afresh).
pub fn read_on(
    path: &Path,
    from: u64,
    max_scan: u64,
    mut add: impl FnMut(&str),
) -> std::io::Result<Option<u64>> {
    let len = log_len(path)?;
    if len < from || len - from > max_scan {
        return Ok(None);
    }
    if len == from {
        return Ok(Some(from));
    }
    let mut f = std::fs::File::open(path)?;
    f.seek(SeekFrom::Start(from))?;
    let mut buf = Vec::new();
    f.take(len - from).read_to_end(&mut buf)?;
    let end = buf.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    for line in buf[..end].split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        add(&String::from_utf8_lossy(line));
    }
    Ok(Some(from + end as u64))
}

fn log_len(path: &Path) -> std::io::Result<u64> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}

/// The last count: of which directory, where it stopped in each log.
#[derive(Default)]
pub struct Counted(Option<(PathBuf, u64, u64, Tally)>);
static COUNTED: Mutex<Counted> = Mutex::new(Counted(None));

/// The last day's counts at `now`: the lines added since the last call
/// are counted onto its tally (moved on to this hour); the logs are read
/// back afresh only the first time, after a rotation, or after a burst
/// of more than [`MAX_LOG_SCAN`].
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
    let (m, s) = (log_len(&mail)?, log_len(&security)?);
    let mut t = Tally::new(now);
    read_back(&mail, m, MAX_LOG_SCAN, |l| t.add_mail(l))?;
    read_back(&security, s, MAX_LOG_SCAN, |l| t.add_security(l))?;
    last.0 = Some((dir.to_path_buf(), m, s, t.clone()));
    Ok(t)
}

/// How long a measured disk use is shown before the data directory is
/// walked again (a big store has millions of files; the page refreshes
/// every 10 seconds).
pub const DISK_USE_TTL: Duration = Duration::from_secs(60);

/// The last walk: which directory, when, how many bytes.
type Measured = Mutex<Option<(PathBuf, Instant, u64)>>;
static DISK_USE: Measured = Mutex::new(None);

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

fn tally(dir: &Path, now: i64) -> std::io::Result<(Tally, u64)> {
    let t = count(&COUNTED, dir, now)?;
    Ok((t, cached_disk_use(&DISK_USE, dir, Instant::now())))
}

#[utoipa::path(get, path = "/api/v1/dashboard", tag = "status",
    responses((status = 200, body = Dashboard), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn dashboard(
    State(ctx): State<Ctx>,
    Extension(peer): Extension<Peer>,
    caller: Caller,
) -> ApiResult<axum::Json<Dashboard>> {
    caller.require_server_wide()?;
    let (store, now) = (ctx.store.clone(), ctx.clock.now());
    let (queue_size, blocked) =
        blocking(move || Ok((store.queue_list()?.len(), store.block_list(now)?.len()))).await?;
    let dir = ctx.data_dir.clone();
    let (t, disk_bytes) = tokio::task::spawn_blocking(move || tally(&dir, now))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(format!("reading the logs: {e}")))?;
    let connections = |name: &str| {
        peer.security
            .as_ref()
            .map_or(0, |s| s.connections(name, None))
    };
    let listeners = ctx.listeners.get().into_iter().flatten();
    let listeners = listeners.map(|(name, address)| ListenerNow {
        connections: connections(name),
        name: name.clone(),
        address: address.clone(),
    });
    Ok(axum::Json(Dashboard {
        version: env!("CARGO_PKG_VERSION").into(),
        uptime_seconds: ctx.started.elapsed().as_secs(),
        listeners: listeners.collect(),
        queue_size,
        hours: t.hours,
        received: t.received,
        sent: t.sent,
        failed_logins: t.failed_logins.iter().sum(),
        blocked,
        disk_bytes,
    }))
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
        // A day later they are out of the window.
        assert_eq!(received(now + 86_400), 0);
        // A rotated log is counted afresh.
        std::fs::write(&mail, line).unwrap();
        assert_eq!(received(now), 1);
    }

    #[test]
    fn a_burst_over_the_scan_limit_is_read_back_afresh() {
        let f = log_of(3);
        let mut n = 0;
        assert_eq!(read_on(f.path(), 0, 10, |_| n += 1).unwrap(), None);
        assert_eq!(n, 0);
        let len = std::fs::metadata(f.path()).unwrap().len();
        assert_eq!(read_on(f.path(), 0, len, |_| n += 1).unwrap(), Some(len));
        assert_eq!(n, 3);
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
