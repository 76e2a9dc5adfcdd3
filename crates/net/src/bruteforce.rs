//! Counting failed logins (SPEC X7): per client (an IPv4 address or an IPv6
//! /64, see [`crate::client_key`]), to block a client that fails too often
//! within a window, and per account, to report one account attacked from
//! several clients. Pure bookkeeping on times the caller
//! gives; what a block means (refusals, the store, the log) is elsewhere.

use crate::client_key::ClientKey;
use std::collections::{HashMap, HashSet, VecDeque};

/// Addresses or accounts tracked at once; past this, new ones are not
/// counted until old ones age out (memory stays bounded under a flood).
pub const MAX_TRACKED: usize = 100_000;
/// Failures remembered per account within one window.
const MAX_PER_ACCOUNT: usize = 1_000;

/// The limits, in seconds (from `[security]` in the config).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Failures within `window` that block the address.
    pub threshold: u32,
    pub window: i64,
    pub block_for: i64,
}

/// What a failure led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The address reached the threshold: block it until `until`.
    Block {
        ip: ClientKey,
        failures: u32,
        until: i64,
    },
    /// One account failed `failures` times from `ips` addresses within the
    /// window (reported at most once a window).
    AccountTargeted {
        user: String,
        failures: u32,
        ips: usize,
    },
}

#[derive(Default)]
struct Account {
    failures: VecDeque<(i64, ClientKey)>,
    quiet_until: i64,
}

#[derive(Default)]
pub struct Tracker {
    by_ip: HashMap<ClientKey, VecDeque<i64>>,
    by_account: HashMap<String, Account>,
    last_prune: i64,
}

/// Drops times at or before `now - window`.
fn expire<T>(q: &mut VecDeque<T>, now: i64, window: i64, time: impl Fn(&T) -> i64) {
    while q.front().is_some_and(|t| time(t) <= now - window) {
        q.pop_front();
    }
}

impl Tracker {
    /// Counts one failed login of `user` from `ip`. An `exempt` address is
    /// never blocked (its failures still count against the account).
    pub fn failed(
        &mut self,
        now: i64,
        ip: impl Into<ClientKey>,
        user: &str,
        exempt: bool,
        p: &Policy,
    ) -> Vec<Event> {
        let ip = ip.into();
        self.prune_if_due(now, p.window);
        let mut events = Vec::new();
        if !exempt {
            events.extend(self.count_ip(now, ip, p));
        }
        events.extend(self.count_account(now, ip, user, p));
        events
    }

    /// Forgets the failures of `ip` (it was blocked, or an admin unblocked it).
    pub fn reset(&mut self, ip: impl Into<ClientKey>) {
        self.by_ip.remove(&ip.into());
    }

    /// Failures of `ip` within the window ending at `now`.
    pub fn failures(&self, ip: impl Into<ClientKey>, now: i64, window: i64) -> usize {
        self.by_ip
            .get(&ip.into())
            .map_or(0, |q| q.iter().filter(|&&t| t > now - window).count())
    }

    fn count_ip(&mut self, now: i64, ip: ClientKey, p: &Policy) -> Option<Event> {
        if !self.by_ip.contains_key(&ip) && self.by_ip.len() >= MAX_TRACKED {
            return None;
        }
        let q = self.by_ip.entry(ip).or_default();
        q.push_back(now);
        expire(q, now, p.window, |t| *t);
        let failures = q.len() as u32;
        if failures < p.threshold {
            return None;
        }
        // The block carries the count; a new block starts from zero.
        self.by_ip.remove(&ip);
        Some(Event::Block {
            ip,
            failures,
            until: now + p.block_for,
        })
    }

    fn count_account(&mut self, now: i64, ip: ClientKey, user: &str, p: &Policy) -> Option<Event> {
        let user = user.trim().to_lowercase();
        if user.is_empty()
            || (!self.by_account.contains_key(&user) && self.by_account.len() >= MAX_TRACKED)
        {
            return None;
        }
        let account = self.by_account.entry(user.clone()).or_default();
        account.failures.push_back((now, ip));
        expire(&mut account.failures, now, p.window, |f| f.0);
        if account.failures.len() > MAX_PER_ACCOUNT {
            account.failures.pop_front();
        }
        let failures = account.failures.len() as u32;
        let ips = account
            .failures
            .iter()
            .map(|f| f.1)
            .collect::<HashSet<_>>()
            .len();
        if failures < p.threshold || ips < 2 || now < account.quiet_until {
            return None;
        }
        account.quiet_until = now + p.window;
        Some(Event::AccountTargeted {
            user,
            failures,
            ips,
        })
    }

    /// Once a window, forgets addresses and accounts with no recent failure.
    fn prune_if_due(&mut self, now: i64, window: i64) {
        if now - self.last_prune < window {
            return;
        }
        self.last_prune = now;
        let old = now - window;
        self.by_ip.retain(|_, q| q.back().is_some_and(|&t| t > old));
        self.by_account
            .retain(|_, a| a.quiet_until > now || a.failures.back().is_some_and(|f| f.0 > old));
    }
}

#[cfg(test)]
mod tests;
