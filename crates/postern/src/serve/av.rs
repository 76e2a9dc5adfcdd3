//! The antivirus engine of the running server (issue 17 item 7): loaded from
//! DATA/av at start (the built-in set if that set does not load), reloaded
//! within [`REFRESH`] of any change there (`postern av update` from the CLI),
//! and updated from `av.mirror` every `av.update_interval` — at start too,
//! when the newest database file is older than that. Each reload and update
//! is a mail.log line (`event=av-reloaded|av-reload-failed|av-updated|
//! av-update-failed`). The SMTP stage (crates/smtp session/av.rs) scans
//! with the [`Handle`] made here.

use postern_av::store::{av_dir, fingerprint, install, Handle};
use postern_av::Engine;
use postern_config::Config;
use postern_logs::Logs;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

/// How often DATA/av is looked at for changes.
pub const REFRESH: Duration = Duration::from_secs(2);

pub fn initial(data_dir: &Path, logs: &Logs) -> Arc<Handle> {
    let dir = av_dir(data_dir);
    match Handle::open(&dir) {
        Ok(h) => Arc::new(h),
        Err(e) => {
            logs.mail(&[("event", "av-reload-failed"), ("error", &e.to_string())]);
            Arc::new(Handle::new(&dir, Engine::builtin(), fingerprint(&dir)))
        }
    }
}

/// Reloads on change until `stop`.
pub async fn watch_dir(handle: Arc<Handle>, logs: Logs, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(REFRESH) => {}
            _ = stop.changed() => return,
        }
        let h = handle.clone();
        match tokio::task::spawn_blocking(move || h.reload_if_changed()).await {
            Ok(Ok(false)) => {}
            Ok(Ok(true)) => {
                let n = handle.engine().signatures().to_string();
                logs.mail(&[("event", "av-reloaded"), ("signatures", &n)]);
            }
            Ok(Err(e)) => logs.mail(&[("event", "av-reload-failed"), ("error", &e.to_string())]),
            Err(e) => logs.mail(&[("event", "av-reload-failed"), ("error", &e.to_string())]),
        }
    }
}

/// Fetches from `av.mirror` every `av.update_interval`, until `stop`.
pub async fn update_every(
    handle: Arc<Handle>,
    logs: Logs,
    config: watch::Receiver<Arc<Config>>,
    mut stop: watch::Receiver<bool>,
) {
    // After an attempt, good or not, the next waits a whole interval.
    let mut attempted = false;
    loop {
        let (mirror, every) = {
            let c = config.borrow();
            (c.av.mirror.clone(), c.av.update_interval.0)
        };
        let wait = if mirror.is_empty() {
            REFRESH
        } else if attempted {
            every
        } else {
            every.saturating_sub(newest_age(handle.dir()))
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        if mirror.is_empty() {
            continue;
        }
        update(&handle, &logs, mirror).await;
        attempted = true;
    }
}

async fn update(handle: &Handle, logs: &Logs, mirror: String) {
    let dir = handle.dir().to_path_buf();
    let source = mirror.clone();
    let done = tokio::task::spawn_blocking(move || {
        let files = postern_av::fetch::fetch(&source)?;
        install(&dir, files)
    })
    .await;
    match done {
        Ok(Ok(engine)) => {
            let n = engine.signatures().to_string();
            logs.mail(&[
                ("event", "av-updated"),
                ("from", &mirror),
                ("signatures", &n),
            ]);
        }
        Ok(Err(e)) => logs.mail(&[
            ("event", "av-update-failed"),
            ("from", &mirror),
            ("error", &e.to_string()),
        ]),
        Err(e) => logs.mail(&[
            ("event", "av-update-failed"),
            ("from", &mirror),
            ("error", &e.to_string()),
        ]),
    }
}

/// How long ago the newest database file changed (forever if none).
fn newest_age(dir: &Path) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    fingerprint(dir)
        .iter()
        .map(|(_, _, mtime)| now.saturating_sub(Duration::from_nanos(*mtime as u64)))
        .min()
        .unwrap_or(Duration::MAX)
}
