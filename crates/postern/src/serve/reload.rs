//! Live config: postern.toml is checked every half second and, when it
//! changed and still validates, handed to every session (also on SIGHUP).
//! Listener addresses are read only at start.

use postern_config::{Config, Listen};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

const POLL: Duration = Duration::from_millis(500);

pub async fn watch_config(
    data_dir: PathBuf,
    overrides: Vec<(String, String)>,
    tx: watch::Sender<Arc<Config>>,
    // Installed by the caller before the server says it is ready: SIGHUP's
    // default action would otherwise end the process (`postern reload`).
    mut hup: Option<tokio::signal::unix::Signal>,
    // The file's state when the running config was read: taken by the caller
    // before the server says it is ready, so a change made right after
    // `ready` is never mistaken for the starting state.
    mut seen: Option<(SystemTime, u64)>,
) {
    let path = postern_config::path_in(&data_dir);
    loop {
        let forced = tokio::select! {
            _ = tokio::time::sleep(POLL) => false,
            Some(_) = async { match hup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => true,
        };
        let now = modified(&path);
        if !forced && now == seen {
            continue;
        }
        seen = now;
        match Config::load(&data_dir) {
            Ok(mut c) => {
                for (name, value) in &overrides {
                    c.listeners
                        .0
                        .insert(name.clone(), Listen::One(value.clone()));
                }
                let _ = tx.send(Arc::new(c));
            }
            Err(e) => eprintln!("postern: config not reloaded, keeping the previous one: {e}"),
        }
    }
}

/// The config file's (mtime, length), to notice a change.
pub fn modified(path: &std::path::Path) -> Option<(SystemTime, u64)> {
    std::fs::metadata(path)
        .ok()
        .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()))
}
