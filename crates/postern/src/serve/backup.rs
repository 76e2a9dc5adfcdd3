//! Scheduled backups (`[backup]`, issue 21 item 1): the task looks at the
//! injectable clock every [`LOOK_EVERY`]; when the schedule's time has come
//! it takes a backup into `backup.dest` (on the blocking pool: the store's
//! backup is file work), deletes all but `backup.keep`, and writes one
//! mail.log line (`event=backup` or `event=backup-error`). The decision is
//! the pure [`Due::tick`], so tests move a manual clock instead of waiting.

use postern_config::backup_schedule::Schedule;
use postern_config::Config;
use postern_logs::Logs;
use postern_net::clock::Clock;
use postern_store::backup::{prune, Options};
use postern_store::Store;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often the clock is looked at (a changed schedule is seen within this).
pub const LOOK_EVERY: Duration = Duration::from_secs(5);

/// The next backup's time for the schedule it was computed from.
#[derive(Debug, Default)]
pub struct Due(Option<(Schedule, i64)>);

impl Due {
    /// True when a backup is to be taken at `now`; keeps the next time.
    pub fn tick(&mut self, schedule: Option<Schedule>, now: i64) -> bool {
        let Some(s) = schedule else {
            self.0 = None;
            return false;
        };
        match self.0 {
            Some((old, at)) if old == s && now >= at => {
                self.0 = Some((s, s.next_after(now)));
                true
            }
            Some((old, _)) if old == s => false,
            // A new or changed schedule counts from now.
            _ => {
                self.0 = Some((s, s.next_after(now)));
                false
            }
        }
    }
}

/// Runs until `stop` changes.
pub async fn backup_on_schedule(
    store: Store,
    data: PathBuf,
    logs: Logs,
    config: watch::Receiver<Arc<Config>>,
    clock: Arc<dyn Clock>,
    mut stop: watch::Receiver<bool>,
) {
    let mut due = Due::default();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(LOOK_EVERY) => {}
            _ = stop.changed() => return,
        }
        let cfg = config.borrow().clone();
        let now = clock.now();
        if !due.tick(cfg.backup.parsed_schedule().ok().flatten(), now) {
            continue;
        }
        let (store, dest) = (store.clone(), cfg.backup.dest_in(&data));
        let b = cfg.backup.clone();
        let done = tokio::task::spawn_blocking(move || {
            let opts = Options {
                incremental: b.incremental,
                now,
            };
            let s = store
                .backup(&dest, &opts, &mut |_| {})
                .map_err(|e| e.to_string())?;
            let gone = prune(&dest, b.keep).map_err(|e| e.to_string())?;
            Ok::<_, String>((s, gone.len()))
        })
        .await
        .unwrap_or_else(|e| Err(format!("the backup task failed: {e}")));
        match done {
            Ok((s, gone)) => logs.mail(&[
                ("event", "backup"),
                ("id", &s.id),
                ("dir", &s.dir.display().to_string()),
                ("files", &s.files.to_string()),
                ("new", &s.new_files.to_string()),
                ("reused", &s.reused.to_string()),
                ("deleted", &gone.to_string()),
            ]),
            Err(e) => logs.mail(&[("event", "backup-error"), ("reason", &e)]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_net::clock::ManualClock;

    #[test]
    fn due_follows_the_clock() {
        let clock = ManualClock::at(1_000_000);
        let every = Schedule::parse("1h").ok();
        let mut due = Due::default();
        assert!(!due.tick(every, clock.now()), "the first look only plans");
        clock.advance(3599);
        assert!(!due.tick(every, clock.now()));
        clock.advance(1);
        assert!(due.tick(every, clock.now()));
        assert!(!due.tick(every, clock.now()), "once per time");
        clock.advance(3600);
        assert!(due.tick(every, clock.now()));
        // Switched off, then on again: counts from then.
        assert!(!due.tick(None, clock.now()));
        clock.advance(7200);
        assert!(!due.tick(every, clock.now()));
    }

    #[test]
    fn daily_fires_at_its_minute() {
        let day = 86_400;
        let clock = ManualClock::at(10 * day + 2 * 3600);
        let at3 = Schedule::parse("daily 03:00").ok();
        let mut due = Due::default();
        assert!(!due.tick(at3, clock.now()));
        clock.advance(3599);
        assert!(!due.tick(at3, clock.now()));
        clock.advance(1);
        assert!(due.tick(at3, clock.now()));
        clock.advance(day - 1);
        assert!(!due.tick(at3, clock.now()));
        clock.advance(1);
        assert!(due.tick(at3, clock.now()));
    }
}
