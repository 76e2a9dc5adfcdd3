//! Logged-in IMAP sessions counted per (user, client address), so one user
//! cannot hold an unbounded number of sessions from one host (config
//! `imap.max_per_user_ip`; Dovecot's mail_max_userip_connections). A client
//! counts as its IPv4 address or IPv6 /64 ([`postern_net::client_key`]).

use postern_net::{client_key, ClientKey};
use postern_store::UserId;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

type Key = (UserId, ClientKey);

/// Live sessions per (user, client); shared by every IMAP session.
#[derive(Default)]
pub struct UserIps {
    counts: Mutex<HashMap<Key, u32>>,
}

/// One counted session; dropping it frees its place.
pub struct UserIpSlot {
    owner: Arc<UserIps>,
    key: Key,
}

impl UserIps {
    /// Counts one more session of `user` from `ip`, or None when it has
    /// `limit` already (`limit` 0: no limit).
    pub fn take(self: &Arc<Self>, user: UserId, ip: IpAddr, limit: u32) -> Option<UserIpSlot> {
        let key = (user, client_key(ip));
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let n = counts.entry(key).or_default();
        if limit > 0 && *n >= limit {
            if *n == 0 {
                counts.remove(&key);
            }
            return None;
        }
        *n += 1;
        Some(UserIpSlot {
            owner: self.clone(),
            key,
        })
    }

    /// Sessions of `user` from `ip` now.
    #[cfg(test)]
    pub fn count(&self, user: UserId, ip: IpAddr) -> u32 {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.get(&(user, client_key(ip))).copied().unwrap_or(0)
    }
}

impl Drop for UserIpSlot {
    fn drop(&mut self) {
        let mut counts = self.owner.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = counts.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_crossed_and_freed() {
        let ips = Arc::new(UserIps::default());
        let (alice, bob) = (UserId(1), UserId(2));
        let here: IpAddr = "192.0.2.1".parse().unwrap();
        let held: Vec<_> = (0..3).map(|_| ips.take(alice, here, 3).unwrap()).collect();
        assert!(ips.take(alice, here, 3).is_none(), "a fourth is refused");
        assert!(ips.take(bob, here, 3).is_some(), "another user is not");
        let there: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(
            ips.take(alice, there, 3).is_some(),
            "another address is not"
        );
        drop(held);
        assert_eq!(ips.count(alice, here), 0);
        assert!(ips.take(alice, here, 3).is_some());
    }

    #[test]
    fn one_ipv6_client_is_its_64_and_zero_is_no_limit() {
        let ips = Arc::new(UserIps::default());
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::2".parse().unwrap();
        let _one = ips.take(UserId(1), a, 1).unwrap();
        assert!(ips.take(UserId(1), b, 1).is_none());
        let many: Vec<_> = (0..100)
            .map(|_| ips.take(UserId(2), a, 0).unwrap())
            .collect();
        assert_eq!(ips.count(UserId(2), b), 100);
        drop(many);
        assert_eq!(ips.count(UserId(2), b), 0);
    }
}
