//! Directory harvesting (issue 13 item 4): unknown recipients are counted
//! per client (an IPv4 address or an IPv6 /64) across sessions and
//! listeners, with the brute-force guard's bookkeeping ([`Tracker`]) and
//! blocks. Past half of `security.unknown_recipients` within
//! `security.unknown_recipients_window` each further refusal waits
//! [`PROBE_DELAY`]; at the limit the client is blocked everywhere for
//! `security.block_for`. Clients in `security.exempt` are never slowed
//! nor blocked. The per-session limit (`smtp.max_unknown_recipients`)
//! still ends a session; this one outlives it.
//!
//! [`Tracker`]: crate::bruteforce::Tracker

use super::Security;
use crate::bruteforce::{Event, Policy};
use crate::client_key::client_key;
use postern_directory::ipgroups::Block;
use std::net::IpAddr;
use std::time::Duration;

/// How long the answer to an unknown recipient waits once a client is slowed.
pub const PROBE_DELAY: Duration = Duration::from_secs(1);
/// In a block's stored reason: tells a harvesting block from a login one.
pub(super) const REASON_MARK: &str = "unknown recipients";

/// What one more unknown recipient means for the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Answer at once.
    Counted,
    /// Answer after [`PROBE_DELAY`].
    Slowed,
    /// The client is blocked: the session must end.
    Blocked,
}

impl Security {
    fn probe_policy(&self) -> (Policy, String) {
        let config = self.config.borrow();
        let s = &config.security;
        let policy = Policy {
            threshold: s.unknown_recipients,
            window: s.unknown_recipients_window.0.as_secs() as i64,
            block_for: s.block_for.0.as_secs() as i64,
        };
        (policy, s.exempt.clone())
    }

    /// Counts an unknown recipient `to` asked for by `ip` on `listener`.
    pub async fn unknown_recipient(&self, listener: &str, ip: IpAddr, to: &str) -> Probe {
        let ip = ip.to_canonical();
        let (policy, exempt) = self.probe_policy();
        if policy.threshold == 0 || (!exempt.is_empty() && self.in_group(&exempt, ip)) {
            return Probe::Counted;
        }
        let now = self.clock.now();
        let key = client_key(ip);
        let (events, seen) = {
            let mut probes = self.probes.lock().unwrap_or_else(|p| p.into_inner());
            let events = probes.failed(now, key, "", false, &policy);
            (events, probes.failures(key, now, policy.window))
        };
        for event in events {
            if let Event::Block {
                failures, until, ..
            } = event
            {
                let block = Block {
                    ip: key.to_string(),
                    since: now,
                    until,
                    failures,
                    reason: format!("{failures} {REASON_MARK} within {}s", policy.window),
                };
                self.block(listener, ("to", to), ip, key, block).await;
            }
        }
        if self.blocked_until(ip).is_some() {
            Probe::Blocked
        } else if slowed(seen, policy.threshold) {
            Probe::Slowed
        } else {
            Probe::Counted
        }
    }
}

/// Slowed from half the allowance on.
fn slowed(seen: usize, threshold: u32) -> bool {
    seen as u64 * 2 >= threshold as u64
}

/// After a 550 5.1.1 in any protocol session: counts it for the connection's
/// client and waits when the client is slowed; true when it is now blocked.
pub async fn after_unknown_recipient(to: &str) -> bool {
    let Some((security, listener, ip)) = super::current_connection() else {
        return false;
    };
    match security.unknown_recipient(listener, ip, to).await {
        Probe::Counted => false,
        Probe::Slowed => {
            tokio::time::sleep(PROBE_DELAY).await;
            false
        }
        Probe::Blocked => true,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn slowed_from_half_the_allowance() {
        assert!(!super::slowed(2, 6));
        assert!(super::slowed(3, 6));
        assert!(!super::slowed(2, 7));
        assert!(super::slowed(4, 7));
        assert!(super::slowed(1, 1));
    }
}
