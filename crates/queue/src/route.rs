//! Where mail for a domain goes (RFC 5321 §5.1): the relay when one is
//! configured for it, else the MX hosts in preference order (equal ones
//! shuffled), else the domain's own addresses (implicit MX). A null MX
//! (RFC 7505) refuses mail; private addresses are skipped unless allowed.

use crate::dns::{Dns, DnsError, MxAnswer};
use postern_config::{Delivery, Relay, RelayTls, TlsPolicy};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One host to try, with its addresses in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hop {
    pub name: String,
    pub addrs: Vec<IpAddr>,
    pub port: u16,
}

/// How to talk to the hops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Security {
    /// STARTTLS when offered; `require` = refuse to send in clear; `verify` = certificate must check out.
    StartTls { require: bool, verify: bool },
    /// TLS from the first byte (smtps relay).
    Implicit { verify: bool },
    /// Never TLS (delivery.tls = "none").
    Plain,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub hops: Vec<Hop>,
    pub security: Security,
    /// AUTH for the relay: (user, password).
    pub auth: Option<(String, String)>,
    pub via_relay: bool,
}

/// Why a domain cannot be routed; the status says whether to retry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{status} {text}")]
pub struct RouteError {
    pub status: &'static str,
    pub text: String,
}

impl RouteError {
    fn permanent(status: &'static str, text: String) -> RouteError {
        RouteError { status, text }
    }

    fn temporary(text: String) -> RouteError {
        RouteError {
            status: "4.4.3",
            text,
        }
    }

    pub fn is_permanent(&self) -> bool {
        self.status.starts_with('5')
    }
}

impl From<DnsError> for RouteError {
    fn from(e: DnsError) -> RouteError {
        match e {
            DnsError::NoSuchDomain(_) => RouteError::permanent("5.1.2", e.to_string()),
            DnsError::Temporary(..) => RouteError::temporary(e.to_string()),
        }
    }
}

/// Plans delivery to `domain` ("[192.0.2.1]" for an address literal).
pub async fn plan(domain: &str, cfg: &Delivery, me: &str, dns: &Dns) -> Result<Plan, RouteError> {
    let verify = must_verify(cfg, domain);
    if let Some(relay) = cfg.relay().filter(|_| relay_applies(cfg, domain)) {
        let security = relay_security(relay.tls, verify && cfg.tls_verify_relay);
        return relay_plan(relay, security, dns).await;
    }
    let security = match cfg.tls {
        TlsPolicy::None if !verify => Security::Plain,
        _ => Security::StartTls {
            require: verify,
            verify,
        },
    };
    let hops = if let Some(ip) = address_literal(domain) {
        vec![Hop {
            name: domain.to_string(),
            addrs: vec![ip],
            port: cfg.port,
        }]
    } else {
        mx_hops(domain, cfg.port, me, dns).await?
    };
    let hops = keep_allowed(hops, cfg.allow_private)?;
    Ok(Plan {
        hops,
        security,
        auth: None,
        via_relay: false,
    })
}

/// Whether mail for `domain` needs verified TLS: `tls = "verify"`, or the
/// domain is in `tls_verify_domains`.
fn must_verify(cfg: &Delivery, domain: &str) -> bool {
    cfg.tls == TlsPolicy::Verify
        || cfg
            .tls_verify_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
}

/// How to talk to the relay. Its URL's scheme says whether TLS is required;
/// `verify` (the policy asks for it and `tls_verify_relay` allows it) makes
/// the relay a hop like any other under "verify": TLS required and the
/// certificate checked for the host named in the relay's URL (as Postfix
/// applies `smtp_tls_security_level` to its `relayhost`).
fn relay_security(tls: RelayTls, verify: bool) -> Security {
    match tls {
        RelayTls::Implicit => Security::Implicit { verify },
        RelayTls::StartTls => Security::StartTls {
            require: true,
            verify,
        },
        RelayTls::Opportunistic => Security::StartTls {
            require: verify,
            verify,
        },
    }
}

fn relay_applies(cfg: &Delivery, domain: &str) -> bool {
    cfg.relay_domains.is_empty()
        || cfg
            .relay_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
}

/// The admin chose the relay: its address is not subject to the private-address rule.
async fn relay_plan(relay: Relay, security: Security, dns: &Dns) -> Result<Plan, RouteError> {
    let addrs = match relay.host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => dns
            .addresses(&relay.host)
            .await
            .map_err(|e| RouteError::temporary(e.to_string()))?,
    };
    if addrs.is_empty() {
        return Err(RouteError::temporary(format!(
            "relay {} has no address",
            relay.host
        )));
    }
    let auth = relay
        .user
        .clone()
        .map(|u| (u, relay.password.clone().unwrap_or_default()));
    Ok(Plan {
        hops: vec![Hop {
            name: relay.host,
            addrs,
            port: relay.port,
        }],
        security,
        auth,
        via_relay: true,
    })
}

async fn mx_hops(domain: &str, port: u16, me: &str, dns: &Dns) -> Result<Vec<Hop>, RouteError> {
    let records = match dns.mx(domain).await? {
        MxAnswer::Records(r) if r.len() == 1 && r[0].1.is_empty() => {
            // RFC 7505 §4.1
            return Err(RouteError::permanent(
                "5.1.10",
                format!("{domain} accepts no mail (null MX)"),
            ));
        }
        MxAnswer::Records(r) if !r.is_empty() => order_mx(r, me, domain)?,
        _ => vec![domain.to_string()],
    };
    let mut hops = Vec::with_capacity(records.len());
    let mut last_error = None;
    for name in records {
        match dns.addresses(&name).await {
            Ok(addrs) if !addrs.is_empty() => hops.push(Hop { name, addrs, port }),
            Ok(_) => last_error = Some(RouteError::temporary(format!("{name} has no address"))),
            Err(e) => last_error = Some(e.into()),
        }
    }
    match (hops.is_empty(), last_error) {
        (true, Some(e)) => Err(RouteError {
            status: if e.is_permanent() { "5.4.4" } else { e.status },
            text: e.text,
        }),
        (true, None) => Err(RouteError::temporary(format!("{domain}: no mail host"))),
        (false, _) => Ok(hops),
    }
}

/// Preference order, equal preferences shuffled; RFC 5321 §5.1: if we are in
/// the list, we and every less preferred host are dropped.
fn order_mx(
    mut records: Vec<(u16, String)>,
    me: &str,
    domain: &str,
) -> Result<Vec<String>, RouteError> {
    use rand::seq::SliceRandom;
    records.shuffle(&mut rand::rng());
    records.sort_by_key(|(pref, _)| *pref);
    let mine = records
        .iter()
        .find(|(_, h)| h.eq_ignore_ascii_case(me))
        .map(|(p, _)| *p);
    if let Some(p) = mine {
        records.retain(|(pref, _)| *pref < p);
        if records.is_empty() {
            return Err(RouteError::permanent(
                "5.4.6",
                format!("mail for {domain} loops back to myself"),
            ));
        }
    }
    let mut names: Vec<String> = vec![];
    for (_, h) in records {
        if !h.is_empty() && !names.contains(&h) {
            names.push(h);
        }
    }
    Ok(names)
}

/// Drops private addresses unless allowed; refuses when nothing is left.
fn keep_allowed(mut hops: Vec<Hop>, allow_private: bool) -> Result<Vec<Hop>, RouteError> {
    if allow_private {
        return Ok(hops);
    }
    let mut refused = vec![];
    for hop in &mut hops {
        hop.addrs.retain(|ip| {
            let bad = is_private(*ip);
            if bad {
                refused.push(format!("{}[{ip}]", hop.name));
            }
            !bad
        });
    }
    hops.retain(|h| !h.addrs.is_empty());
    if hops.is_empty() {
        return Err(RouteError::permanent(
            "5.4.4",
            format!("refusing to deliver to private or loopback addresses ({}); set delivery.allow_private to allow", refused.join(", ")),
        ));
    }
    Ok(hops)
}

/// Loopback, private, link-local, shared, unspecified, multicast and
/// documentation ranges: nothing a public MX may point at.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => private_v4(v4),
            None => private_v6(v6),
        },
    }
}

fn private_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10, RFC 6598
        || o[0] >= 240
}

fn private_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local, RFC 4193
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation, RFC 3849
}

/// "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321 §4.1.3).
fn address_literal(domain: &str) -> Option<IpAddr> {
    let inner = domain.strip_prefix('[')?.strip_suffix(']')?;
    match inner.get(..5) {
        Some(p) if p.eq_ignore_ascii_case("IPv6:") => {
            inner[5..].parse::<Ipv6Addr>().ok().map(IpAddr::V6)
        }
        _ => inner.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges() {
        for ip in [
            "127.0.0.2",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
            "2001:db8::1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "192.0.43.10", "2a00:1450::1", "100.128.0.1"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn mx_order_and_self() {
        let r = vec![
            (20, "b.example".to_string()),
            (10, "a.example".to_string()),
            (30, "c.example".to_string()),
        ];
        assert_eq!(
            order_mx(r.clone(), "mx.me", "d").unwrap(),
            ["a.example", "b.example", "c.example"]
        );
        assert_eq!(
            order_mx(r.clone(), "b.example", "d").unwrap(),
            ["a.example"]
        );
        assert_eq!(order_mx(r, "a.example", "d").unwrap_err().status, "5.4.6");
    }

    #[test]
    fn private_hops_refused_unless_allowed() {
        let hops = vec![Hop {
            name: "mx".into(),
            addrs: vec!["127.0.0.1".parse().unwrap()],
            port: 25,
        }];
        let e = keep_allowed(hops.clone(), false).unwrap_err();
        assert!(e.is_permanent() && e.text.contains("allow_private"), "{e}");
        assert_eq!(keep_allowed(hops, true).unwrap().len(), 1);
    }

    #[test]
    fn relay_is_verified_only_when_asked() {
        use RelayTls::*;
        let starttls = |require, verify| Security::StartTls { require, verify };
        for (tls, off, on) in [
            (
                Implicit,
                Security::Implicit { verify: false },
                Security::Implicit { verify: true },
            ),
            (StartTls, starttls(true, false), starttls(true, true)),
            (Opportunistic, starttls(false, false), starttls(true, true)),
        ] {
            assert_eq!(relay_security(tls, false), off, "{tls:?}");
            assert_eq!(relay_security(tls, true), on, "{tls:?}");
        }
    }

    #[test]
    fn verification_follows_the_policy_for_the_domain() {
        let mut cfg = Delivery::default();
        assert!(!must_verify(&cfg, "example.net"));
        cfg.tls_verify_domains = vec!["Example.NET".into()];
        assert!(must_verify(&cfg, "example.net") && !must_verify(&cfg, "example.org"));
        cfg.tls = TlsPolicy::Verify;
        assert!(must_verify(&cfg, "example.org"));
    }

    #[test]
    fn address_literals() {
        assert_eq!(
            address_literal("[192.0.2.1]"),
            Some("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            address_literal("[IPv6:2001:db8::1]"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(address_literal("example.org"), None);
        assert_eq!(address_literal("[300.1.1.1]"), None);
    }
}
