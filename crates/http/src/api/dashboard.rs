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

/// Feeds `file`'s lines, newest first, to `add` until it says they are older
/// or `max_scan` bytes were read.
pub fn read_back(
    path: &Path,
    max_scan: u64,
    mut add: impl FnMut(&str) -> Result<(), Older>,
) -> std::io::Result<()> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    let mut before = None;
    loop {
        let (lines, next) = page(&mut f, before, MAX_LIMIT, &Filter::default())?;
        if lines.iter().any(|l| add(l).is_err()) {
            return Ok(());
        }
        match next {
            Some(n) if len - n < max_scan => before = Some(n),
            _ => return Ok(()),
        }
    }
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
    let mut t = Tally::new(now);
    let logs = dir.join("logs");
    read_back(&logs.join("mail.log"), MAX_LOG_SCAN, |l| t.add_mail(l))?;
    read_back(&logs.join("security.log"), MAX_LOG_SCAN, |l| {
        t.add_security(l)
    })?;
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
        failed_logins: t.failed_logins,
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
            read_back(f.path(), max, |_| {
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
        read_back(f.path(), u64::MAX, |_| {
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

    #[test]
    fn disk_use_sums_nested_files() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a/b")).unwrap();
        std::fs::write(d.path().join("x"), [0; 10]).unwrap();
        std::fs::write(d.path().join("a/b/y"), [0; 5]).unwrap();
        assert_eq!(disk_use(d.path()), 15);
    }
}
