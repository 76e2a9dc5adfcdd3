//! Admission right after accept: a blocked address, one outside the
//! listener's `allow` group, or one over the listener's `max_connections` or
//! `max_per_ip` (counted per client: an IPv4 address or an IPv6 /64) is refused; the others get a [`Ticket`] that counts the
//! connection until it is dropped.

use super::live::BlockCause;
use super::Security;
use crate::client_key::{client_key, ClientKey};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// Why a connection is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The brute-force guard blocked the address until then (Unix seconds).
    Blocked { until: i64 },
    /// An admin blocked the address (`postern security block`) until then.
    BlockedByAdmin { until: i64 },
    /// The address asked for too many unknown recipients (issue 13 item 4).
    BlockedForProbing { until: i64 },
    /// Not in the listener's `allow` group.
    NotAllowed { group: String },
    /// The listener has `max_connections` already.
    TooMany { limit: u32 },
    /// The address has `max_per_ip` connections to this listener already.
    TooManyFromIp { limit: u32 },
}

impl Refusal {
    /// The `reason` of its security-log line.
    pub fn reason(&self) -> String {
        match self {
            Refusal::Blocked { .. } => "blocked after failed logins".into(),
            Refusal::BlockedByAdmin { .. } => "blocked by admin".into(),
            Refusal::BlockedForProbing { .. } => "blocked after unknown recipients".into(),
            Refusal::NotAllowed { group } => format!("not in IP group {group}"),
            Refusal::TooMany { limit } => format!("listener has {limit} connections"),
            Refusal::TooManyFromIp { limit } => format!("address has {limit} connections"),
        }
    }

    /// Refused for a while only (limits, blocks), not for good.
    pub fn is_temporary(&self) -> bool {
        !matches!(self, Refusal::NotAllowed { .. })
    }
}

/// Live connections per listener and per (listener, client).
#[derive(Default)]
pub(super) struct Counts {
    total: HashMap<&'static str, u32>,
    per_ip: HashMap<(&'static str, ClientKey), u32>,
}

/// One admitted connection; dropping it frees its place.
pub struct Ticket {
    pub(super) security: Arc<Security>,
    pub(super) listener: &'static str,
    pub(super) ip: IpAddr,
}

impl Security {
    /// Decides on a new connection to `listener` from `ip`; a refusal is logged.
    pub fn admit(self: &Arc<Self>, listener: &'static str, ip: IpAddr) -> Result<Ticket, Refusal> {
        let ip = ip.to_canonical();
        let decision = self.check(listener, ip);
        if let Err(refusal) = &decision {
            let mut fields = vec![("reason", refusal.reason())];
            if let Refusal::Blocked { until }
            | Refusal::BlockedByAdmin { until }
            | Refusal::BlockedForProbing { until } = refusal
            {
                fields.push(("until", super::login::rfc3339(*until)));
            }
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            self.security_log("connection-refused", listener, ip, &fields);
        }
        decision
    }

    fn check(self: &Arc<Self>, listener: &'static str, ip: IpAddr) -> Result<Ticket, Refusal> {
        match self.live.block_of(ip, self.clock.now()) {
            Some((until, BlockCause::Manual)) => return Err(Refusal::BlockedByAdmin { until }),
            Some((until, BlockCause::Logins)) => return Err(Refusal::Blocked { until }),
            Some((until, BlockCause::Recipients)) => {
                return Err(Refusal::BlockedForProbing { until })
            }
            None => {}
        }
        let rules = self.config.borrow().access.get(listener);
        if !rules.allow.is_empty() && !self.in_group(&rules.allow, ip) {
            return Err(Refusal::NotAllowed { group: rules.allow });
        }
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let total = counts.total.get(listener).copied().unwrap_or(0);
        if rules.max_connections > 0 && total >= rules.max_connections {
            return Err(Refusal::TooMany {
                limit: rules.max_connections,
            });
        }
        let key = client_key(ip);
        let mine = counts.per_ip.get(&(listener, key)).copied().unwrap_or(0);
        if rules.max_per_ip > 0 && mine >= rules.max_per_ip {
            return Err(Refusal::TooManyFromIp {
                limit: rules.max_per_ip,
            });
        }
        *counts.total.entry(listener).or_default() += 1;
        *counts.per_ip.entry((listener, key)).or_default() += 1;
        Ok(Ticket {
            security: self.clone(),
            listener,
            ip,
        })
    }

    /// Connections now open on `listener` (all addresses, or from the client of `ip`).
    pub fn connections(&self, listener: &str, ip: Option<IpAddr>) -> u32 {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        match ip {
            None => counts.total.get(listener).copied().unwrap_or(0),
            Some(ip) => counts
                .per_ip
                .iter()
                .find(|((l, k), _)| *l == listener && *k == client_key(ip))
                .map_or(0, |(_, n)| *n),
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut counts = self
            .security
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        fn down<K: std::hash::Hash + Eq>(map: &mut HashMap<K, u32>, key: K) {
            if let Some(n) = map.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&key);
                }
            }
        }
        down(&mut counts.total, self.listener);
        down(&mut counts.per_ip, (self.listener, client_key(self.ip)));
    }
}
