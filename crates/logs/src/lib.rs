//! The mail log and the security log (A6, X10): one line per event in
//! `DIR/logs/mail.log` and `DIR/logs/security.log`, as `key=value` text or
//! JSON lines. Secrets never reach these functions: callers pass only
//! addresses, IPs and reasons. Security-log lines about a client are rate
//! limited ([`limit`]).

pub mod limit;

use limit::{Key, LimitContext, Limiter, Suppressed, SystemContext};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Both logs; cheap to clone.
#[derive(Clone)]
pub struct Logs {
    mail: Arc<Mutex<File>>,
    security: Arc<Mutex<File>>,
    json: bool,
    limiter: Arc<Mutex<Limiter>>,
    context: Arc<dyn LimitContext>,
}

impl Logs {
    /// Opens (appending) `DIR/logs/mail.log` and `DIR/logs/security.log`.
    pub fn open(data_dir: &Path, json: bool) -> std::io::Result<Logs> {
        let dir = data_dir.join("logs");
        std::fs::create_dir_all(&dir)?;
        let open = |name: &str| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(name))
        };
        Ok(Logs {
            mail: Arc::new(Mutex::new(open("mail.log")?)),
            security: Arc::new(Mutex::new(open("security.log")?)),
            json,
            limiter: Arc::default(),
            context: Arc::new(SystemContext),
        })
    }

    /// The clock and client keys the security log's rate limit runs on.
    pub fn with_limit_context(mut self, context: Arc<dyn LimitContext>) -> Logs {
        self.context = context;
        self
    }

    pub fn mail(&self, fields: &[(&str, &str)]) {
        self.write(&self.mail, fields);
    }

    /// A security-log line; one with a `client` is rate limited per client,
    /// `event` and `reason` (limit.rs).
    pub fn security(&self, fields: &[(&str, &str)]) {
        let field = |name| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let Some(client) = field("client") else {
            return self.write(&self.security, fields);
        };
        let key = Key {
            client: self.context.client_key(client),
            event: field("event").unwrap_or_default().to_string(),
            reason: field("reason").unwrap_or_default().to_string(),
        };
        let now = self.context.now();
        let (write, summary) = self.lock_limiter().admit(now, key);
        if let Some(summary) = summary {
            self.write_suppressed(&summary);
        }
        if write {
            self.write(&self.security, fields);
        }
    }

    /// Writes the `log-suppressed` lines of windows that are over (called
    /// every second or so by the server) — or of all of them, at shutdown.
    pub fn flush_suppressed(&self, all: bool) {
        let now = self.context.now();
        let due = {
            let mut limiter = self.lock_limiter();
            if all {
                limiter.drain()
            } else {
                limiter.due(now)
            }
        };
        due.iter().for_each(|s| self.write_suppressed(s));
    }

    fn lock_limiter(&self) -> std::sync::MutexGuard<'_, Limiter> {
        self.limiter.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write_suppressed(&self, s: &Suppressed) {
        let count = s.count.to_string();
        let window = format!("{}s", limit::WINDOW_SECS);
        let fields = [
            ("event", "log-suppressed"),
            ("client", s.key.client.as_str()),
            ("of", s.key.event.as_str()),
            ("reason", s.key.reason.as_str()),
            ("suppressed", count.as_str()),
            ("window", window.as_str()),
        ];
        self.write(&self.security, &fields);
    }

    fn write(&self, file: &Mutex<File>, fields: &[(&str, &str)]) {
        let line = format_line(&timestamp(), fields, self.json);
        let mut f = file.lock().unwrap_or_else(|p| p.into_inner());
        // A full disk must not take the mail service down with it.
        let _ = f.write_all(line.as_bytes());
    }
}

fn timestamp() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// One log line, newline-terminated. Values are quoted when they need it, and
/// control characters are escaped so a client cannot forge log lines.
pub fn format_line(time: &str, fields: &[(&str, &str)], json: bool) -> String {
    if json {
        let mut map = serde_json::Map::new();
        map.insert("time".into(), time.into());
        for (k, v) in fields {
            map.insert((*k).into(), (*v).into());
        }
        return format!("{}\n", serde_json::Value::Object(map));
    }
    let mut line = time.to_string();
    for (k, v) in fields {
        line.push(' ');
        line.push_str(k);
        line.push('=');
        if !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
        {
            line.push_str(v);
        } else {
            line.push_str(&serde_json::Value::from(*v).to_string());
        }
    }
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_json() {
        let t = format_line(
            "T",
            &[
                ("ip", "127.0.0.1"),
                ("reason", "bad password"),
                ("user", ""),
            ],
            false,
        );
        assert_eq!(t, "T ip=127.0.0.1 reason=\"bad password\" user=\"\"\n");
        let j = format_line("T", &[("ip", "::1")], true);
        assert_eq!(j, "{\"ip\":\"::1\",\"time\":\"T\"}\n");
    }

    #[test]
    fn no_line_injection() {
        let t = format_line("T", &[("from", "a\r\nT forged=1")], false);
        assert_eq!(t.matches('\n').count(), 1);
    }

    struct Fake(std::sync::atomic::AtomicI64);

    impl LimitContext for Fake {
        fn now(&self) -> i64 {
            self.0.load(std::sync::atomic::Ordering::SeqCst)
        }
        fn client_key(&self, client: &str) -> String {
            client.split(':').next().unwrap_or_default().to_string()
        }
    }

    #[test]
    fn security_lines_are_rate_limited_per_client() {
        let d = tempfile::tempdir().unwrap();
        let clock = Arc::new(Fake(0.into()));
        let logs = Logs::open(d.path(), false)
            .unwrap()
            .with_limit_context(clock.clone());
        let refused = |client| {
            [
                ("event", "connection-refused"),
                ("client", client),
                ("reason", "blocked"),
            ]
        };
        for _ in 0..50 {
            logs.security(&refused("192.0.2.1"));
        }
        logs.security(&refused("192.0.2.2"));
        logs.security(&[("event", "unblocked"), ("reason", "cli")]); // no client: never limited
        let read = || std::fs::read_to_string(d.path().join("logs/security.log")).unwrap();
        assert_eq!(read().matches("client=192.0.2.1 ").count(), 10);
        assert_eq!(read().lines().count(), 12);
        logs.flush_suppressed(false);
        assert!(!read().contains("suppressed="), "the window is not over");
        clock.0.store(60, std::sync::atomic::Ordering::SeqCst);
        logs.flush_suppressed(false);
        let log = read();
        assert!(log.contains("event=log-suppressed client=192.0.2.1 of=connection-refused reason=blocked suppressed=40 window=60s"), "{log}");
        assert_eq!(log.matches("suppressed=").count(), 1);
    }

    #[test]
    fn files_are_written() {
        let d = tempfile::tempdir().unwrap();
        let logs = Logs::open(d.path(), false).unwrap();
        logs.mail(&[("result", "accepted")]);
        logs.security(&[("event", "auth-failed")]);
        assert!(std::fs::read_to_string(d.path().join("logs/mail.log"))
            .unwrap()
            .contains("result=accepted"));
        assert!(std::fs::read_to_string(d.path().join("logs/security.log"))
            .unwrap()
            .contains("event=auth-failed"));
    }
}
