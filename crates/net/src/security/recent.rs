//! Who logged in by POP3 or IMAP lately, by client address — for relay
//! control's "POP3-before-SMTP" (SPEC X2, seed 004): such a client may relay
//! through SMTP for a while without SMTP AUTH. Bounded: old entries are
//! dropped when the table is full.

use super::Security;
use std::collections::HashMap;
use std::net::IpAddr;

/// Addresses remembered at most.
pub const MAX_RECENT: usize = 50_000;

#[derive(Debug, Default)]
pub(super) struct RecentLogins(HashMap<IpAddr, i64>);

impl RecentLogins {
    fn note(&mut self, ip: IpAddr, now: i64, keep_secs: i64) {
        if self.0.len() >= MAX_RECENT && !self.0.contains_key(&ip) {
            self.0.retain(|_, t| *t > now - keep_secs);
            if self.0.len() >= MAX_RECENT {
                return;
            }
        }
        self.0.insert(ip.to_canonical(), now);
    }

    fn since(&self, ip: IpAddr, since: i64) -> bool {
        self.0.get(&ip.to_canonical()).is_some_and(|t| *t >= since)
    }
}

impl Security {
    /// A successful POP3 or IMAP login from `ip`.
    pub fn note_mailbox_login(&self, ip: IpAddr) {
        let keep = self
            .config
            .borrow()
            .smtp
            .pop_before_smtp
            .0
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        if keep == 0 {
            return;
        }
        let now = self.clock.now();
        self.recent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .note(ip, now, keep);
    }

    /// Whether `ip` logged in by POP3/IMAP within `smtp.pop_before_smtp`.
    pub fn mailbox_login_recent(&self, ip: IpAddr) -> bool {
        let Some(window) = self.config.borrow().smtp.pop_before_smtp.0 else {
            return false;
        };
        let since = self.clock.now() - window.as_secs() as i64;
        self.recent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .since(ip, since)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_and_bound() {
        let mut r = RecentLogins::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        r.note(ip, 100, 600);
        assert!(r.since(ip, 100) && !r.since(ip, 101));
        assert!(
            r.since("::ffff:192.0.2.1".parse().unwrap(), 50),
            "IPv4-mapped is the same client"
        );
        for i in 0..MAX_RECENT as u32 + 10 {
            r.note(IpAddr::from(i.to_be_bytes()), 10_000, 600);
        }
        assert!(r.0.len() <= MAX_RECENT);
    }
}
