//! Greylisting (SPEC P6, issue 16 item 3; RFC 6647), sans-I/O: given a
//! triplet (client network, sender, recipient), the time and what the store
//! knows of them, [`decide`] says pass or defer and what to write back.
//!
//! - The client is keyed by its network, /24 for IPv4 and /64 for IPv6
//!   (RFC 6647 §4.1: a sender's retries may come from another address of its
//!   pool), the sender lower-cased, the null sender `<>` kept as "".
//! - The first attempt of a triplet is deferred with `451 4.7.1` (RFC 6647
//!   §4: a temporary failure; §2.1 a 4xx at RCPT). A retry after `delay` and
//!   within `window` of that attempt passes; the network is then
//!   auto-whitelisted for `auto_whitelist` (RFC 6647 §4.2.1), so its next
//!   mail is not delayed. A retry after the window starts again.
//! - The driver (the SMTP session) checks exemptions and time, reads and
//!   writes the store, and counts deferrals.

use crate::Reply;
use std::net::IpAddr;

/// IPv4 clients are keyed by their /24 (RFC 6647 §4.1).
pub const IPV4_PREFIX: u8 = 24;
/// IPv6 clients by their /64: one site's subnet.
pub const IPV6_PREFIX: u8 = 64;
/// A whitelisted network seen again is written back at most this often, so
/// a busy peer does not cost a store write per recipient.
pub const WHITELIST_REFRESH: i64 = 24 * 3600;

/// The greylist's three times, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// A retry sooner than this after the first attempt is deferred again.
    pub delay: i64,
    /// A retry later than this after the first attempt starts over.
    pub window: i64,
    /// How long a network that passed is let through without delay.
    pub auto_whitelist: i64,
}

/// What greylisting remembers of one triplet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Triplet {
    /// "192.0.2.0/24" or "2001:db8:1:2::/64".
    pub network: String,
    /// Lower-cased; "" for the null sender.
    pub sender: String,
    /// Lower-cased.
    pub recipient: String,
}

impl Triplet {
    pub fn new(ip: IpAddr, sender: &str, recipient: &str) -> Triplet {
        Triplet {
            network: network_key(ip),
            sender: sender.to_lowercase(),
            recipient: recipient.to_lowercase(),
        }
    }
}

/// What the store knows when a triplet arrives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Known {
    /// When the triplet was first deferred (Unix seconds), if it was.
    pub first_seen: Option<i64>,
    /// Until when the triplet's network is whitelisted, if it is.
    pub whitelisted_until: Option<i64>,
}

/// What the store is to remember after the decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Update {
    /// Nothing changes.
    None,
    /// The triplet's first attempt is now (new, or its window had passed).
    FirstSeen(i64),
    /// The network is whitelisted until this time; the triplet is done with.
    Whitelist(i64),
}

/// Pass or defer, with the store's update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Pass(Update),
    /// Deferred with this reply (451 4.7.1).
    Defer(Reply, Update),
}

/// The decision for a triplet the store knows as `known`, at `now`.
pub fn decide(policy: &Policy, known: Known, now: i64) -> Decision {
    if let Some(until) = known.whitelisted_until.filter(|u| *u > now) {
        let renewed = now + policy.auto_whitelist;
        return Decision::Pass(if renewed - until >= WHITELIST_REFRESH {
            Update::Whitelist(renewed)
        } else {
            Update::None
        });
    }
    match known.first_seen {
        Some(first) if now <= first + policy.window => {
            let wait = first + policy.delay - now;
            if wait > 0 {
                Decision::Defer(deferral(wait), Update::None)
            } else {
                Decision::Pass(Update::Whitelist(now + policy.auto_whitelist))
            }
        }
        // RFC 6647 §4.1: unknown, or seen too long ago: a new first attempt.
        _ => Decision::Defer(deferral(policy.delay.max(1)), Update::FirstSeen(now)),
    }
}

/// RFC 6647 §4: a 4xx reply at RCPT; 4.7.1 (RFC 3463: delivery not authorized).
fn deferral(wait: i64) -> Reply {
    Reply {
        code: 451,
        enhanced: "4.7.1",
        text: format!("Greylisted, try again in {wait} seconds"),
    }
}

/// The client's network as greylisting keys it: /24 or /64, IPv4-mapped
/// IPv6 addresses as IPv4.
pub fn network_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let mask = u32::MAX << (32 - IPV4_PREFIX);
            let net = std::net::Ipv4Addr::from(u32::from(v4) & mask);
            format!("{net}/{IPV4_PREFIX}")
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX << (128 - IPV6_PREFIX);
            let net = std::net::Ipv6Addr::from(u128::from(v6) & mask);
            format!("{net}/{IPV6_PREFIX}")
        }
    }
}

#[cfg(test)]
mod tests;
