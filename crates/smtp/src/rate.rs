//! Messages per hour per client IP and per authenticated user (SPEC X3,
//! seed 004 "Security Options"): a sliding one-hour window per key, shared
//! by every SMTP session of the server. Time is passed in, so tests choose it.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// The window the limits count over.
pub const WINDOW_SECS: i64 = 3600;
/// Keys tracked at most; beyond it the oldest-idle keys are dropped (bounded memory).
pub const MAX_KEYS: usize = 100_000;

#[derive(Debug, Default)]
pub struct RateLimits {
    events: Mutex<HashMap<String, VecDeque<i64>>>,
}

impl RateLimits {
    /// Whether one more message for `key` stays within `max` per hour (0 = no limit).
    pub fn allows(&self, key: &str, max: u32, now: i64) -> bool {
        if max == 0 {
            return true;
        }
        let mut map = self.events.lock().unwrap_or_else(|p| p.into_inner());
        match map.get_mut(key) {
            Some(q) => {
                expire(q, now);
                q.len() < max as usize
            }
            None => true,
        }
    }

    /// Counts one accepted message for `key`.
    pub fn record(&self, key: &str, now: i64) {
        let mut map = self.events.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            map.retain(|_, q| {
                expire(q, now);
                !q.is_empty()
            });
            if map.len() >= MAX_KEYS {
                return;
            }
        }
        let q = map.entry(key.to_string()).or_default();
        expire(q, now);
        q.push_back(now);
    }
}

fn expire(q: &mut VecDeque<i64>, now: i64) {
    while q.front().is_some_and(|t| *t <= now - WINDOW_SECS) {
        q.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_hour_per_key() {
        let r = RateLimits::default();
        for t in 0..3 {
            assert!(r.allows("ip:192.0.2.1", 3, t));
            r.record("ip:192.0.2.1", t);
        }
        assert!(
            !r.allows("ip:192.0.2.1", 3, 10),
            "the fourth in the hour is refused"
        );
        assert!(r.allows("ip:192.0.2.2", 3, 10), "keys are separate");
        assert!(r.allows("ip:192.0.2.1", 0, 10), "0 = no limit");
        assert!(!r.allows("ip:192.0.2.1", 3, WINDOW_SECS - 1));
        assert!(
            r.allows("ip:192.0.2.1", 3, WINDOW_SECS),
            "the first left the window"
        );
    }
}
