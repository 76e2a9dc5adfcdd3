//! Rate limit of the security log (issue 6, SPEC X10): every refusal is
//! logged, so an attacker could otherwise fill the disk by being refused.
//! Per client (an IPv4 address or IPv6 /64, given by [`LimitContext`]),
//! event and reason: at most [`LINES_PER_WINDOW`] lines per [`WINDOW_SECS`];
//! what is held back is counted and reported in one `log-suppressed` line
//! when the window is over (at the next line, the next [`Limiter::due`]
//! sweep, or shutdown). Pure bookkeeping on times the caller gives.

use std::collections::HashMap;

/// Lines written per client, event and reason within one window.
pub const LINES_PER_WINDOW: u32 = 10;
/// The window, in seconds.
pub const WINDOW_SECS: i64 = 60;
/// Windows tracked at once; past this, new clients share one window
/// ([`OVERFLOW_CLIENT`]), so memory stays bounded under a flood from many
/// addresses and the lines stay limited.
pub const MAX_TRACKED: usize = 10_000;
/// The client of the shared window used when the table is full.
pub const OVERFLOW_CLIENT: &str = "*";

/// The time and who a client is, given by the server (net's injectable
/// clock and client key), so this crate depends on neither.
pub trait LimitContext: Send + Sync {
    /// Unix seconds.
    fn now(&self) -> i64;
    /// The client a `client=` field value counts as.
    fn client_key(&self, client: &str) -> String;
}

/// The system clock; a client is its field value.
pub struct SystemContext;

impl LimitContext for SystemContext {
    fn now(&self) -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    fn client_key(&self, client: &str) -> String {
        client.to_string()
    }
}

/// Client key, event, reason.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub client: String,
    pub event: String,
    pub reason: String,
}

#[derive(Debug)]
struct Window {
    start: i64,
    written: u32,
    suppressed: u64,
}

/// A window that ended with lines held back.
#[derive(Debug, PartialEq, Eq)]
pub struct Suppressed {
    pub key: Key,
    pub count: u64,
}

#[derive(Debug, Default)]
pub struct Limiter {
    windows: HashMap<Key, Window>,
}

impl Limiter {
    /// Whether a line of `key` may be written at `now`, and the summary of
    /// its previous window to write first, if that one held lines back.
    pub fn admit(&mut self, now: i64, key: Key) -> (bool, Option<Suppressed>) {
        let key = if !self.windows.contains_key(&key) && self.windows.len() >= MAX_TRACKED {
            self.windows
                .retain(|_, w| !ended(w, now) || w.suppressed > 0);
            if self.windows.len() >= MAX_TRACKED {
                Key {
                    client: OVERFLOW_CLIENT.into(),
                    event: String::new(),
                    reason: String::new(),
                }
            } else {
                key
            }
        } else {
            key
        };
        let mut summary = None;
        let w = self.windows.entry(key.clone()).or_insert(Window {
            start: now,
            written: 0,
            suppressed: 0,
        });
        if ended(w, now) {
            if w.suppressed > 0 {
                summary = Some(Suppressed {
                    key,
                    count: w.suppressed,
                });
            }
            *w = Window {
                start: now,
                written: 0,
                suppressed: 0,
            };
        }
        if w.written < LINES_PER_WINDOW {
            w.written += 1;
            (true, summary)
        } else {
            w.suppressed += 1;
            (false, summary)
        }
    }

    /// Forgets the windows over at `now`; returns those that held lines back.
    pub fn due(&mut self, now: i64) -> Vec<Suppressed> {
        self.take(|w| ended(w, now))
    }

    /// Every window that holds lines back, over or not (at shutdown).
    pub fn drain(&mut self) -> Vec<Suppressed> {
        self.take(|_| true)
    }

    fn take(&mut self, over: impl Fn(&Window) -> bool) -> Vec<Suppressed> {
        let mut out = Vec::new();
        self.windows.retain(|key, w| {
            if !over(w) {
                return true;
            }
            if w.suppressed > 0 {
                out.push(Suppressed {
                    key: key.clone(),
                    count: w.suppressed,
                });
            }
            false
        });
        out
    }
}

fn ended(w: &Window, now: i64) -> bool {
    now >= w.start + WINDOW_SECS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(client: &str) -> Key {
        Key {
            client: client.into(),
            event: "connection-refused".into(),
            reason: "blocked".into(),
        }
    }

    #[test]
    fn ten_a_minute_then_one_summary() {
        let mut l = Limiter::default();
        let written = (0..50).filter(|_| l.admit(1_000, key("a")).0).count();
        assert_eq!(written, LINES_PER_WINDOW as usize);
        assert!(l.admit(1_000, key("b")).0, "another client has its own");
        assert!(l.due(1_059).is_empty(), "window not over");
        // The next line after the window carries the summary.
        let (ok, summary) = l.admit(1_060, key("a"));
        assert!(ok);
        assert_eq!(
            summary,
            Some(Suppressed {
                key: key("a"),
                count: 40
            })
        );
        assert_eq!(l.admit(1_061, key("a")).1, None, "reported once");
    }

    #[test]
    fn summary_when_the_window_ends_without_a_next_line() {
        let mut l = Limiter::default();
        for _ in 0..12 {
            l.admit(0, key("a"));
        }
        l.admit(0, key("quiet"));
        let due = l.due(WINDOW_SECS);
        assert_eq!(
            due,
            [Suppressed {
                key: key("a"),
                count: 2
            }]
        );
        assert!(l.windows.is_empty(), "ended windows forgotten");
        for _ in 0..11 {
            l.admit(100, key("a"));
        }
        assert_eq!(l.drain().len(), 1, "shutdown reports a window in progress");
    }

    #[test]
    fn bounded_under_many_clients() {
        let mut l = Limiter::default();
        for i in 0..MAX_TRACKED + 100 {
            l.admit(0, key(&i.to_string()));
        }
        assert!(l.windows.len() <= MAX_TRACKED + 1);
        let shared = (0..100)
            .filter(|i| l.admit(0, key(&format!("x{i}"))).0)
            .count();
        assert_eq!(shared, 0, "the overflow window is full too: still limited");
    }
}
