//! Who a per-client counter counts (SPEC X7, issue 6): an IPv4 client is its
//! address, an IPv6 client its /64 — one subscriber or hosting customer gets a
//! whole /64 (RFC 6177 §2, RFC 7934 §6), so keying IPv6 by address would let an
//! attacker step around every limit by changing the low 64 bits. An
//! IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2) is the IPv4
//! client it maps. Every brute-force count, block, connection limit and
//! message rate keys by [`client_key`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// The prefix length an IPv6 client is counted by.
pub const IPV6_PREFIX: u8 = 64;

/// A client as counted: an IPv4 address or an IPv6 /64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClientKey {
    V4(Ipv4Addr),
    /// The network address of the /64 (low 64 bits zero).
    V6Net(Ipv6Addr),
}

/// The key of the client at `ip`.
pub fn client_key(ip: IpAddr) -> ClientKey {
    match ip.to_canonical() {
        IpAddr::V4(v4) => ClientKey::V4(v4),
        IpAddr::V6(v6) => {
            let net = u128::from(v6) & !((1u128 << (128 - IPV6_PREFIX)) - 1);
            ClientKey::V6Net(Ipv6Addr::from(net))
        }
    }
}

impl ClientKey {
    /// Whether `ip` is this client.
    pub fn contains(&self, ip: IpAddr) -> bool {
        client_key(ip) == *self
    }
}

impl From<IpAddr> for ClientKey {
    fn from(ip: IpAddr) -> ClientKey {
        client_key(ip)
    }
}

/// `192.0.2.1`, or `2001:db8:1:2::/64` — the form the store and the CLI use.
impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientKey::V4(v4) => write!(f, "{v4}"),
            ClientKey::V6Net(net) => write!(f, "{net}/{IPV6_PREFIX}"),
        }
    }
}

/// Text that is neither an address nor an IPv6 `/64`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an IP address or IPv6 /64")]
pub struct KeyError(pub String);

/// Accepts an address (IPv6 ones widen to their /64) or `net/64`.
impl FromStr for ClientKey {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<ClientKey, KeyError> {
        let bad = || KeyError(text.to_string());
        let text = text.trim();
        let (addr, len) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text, None),
        };
        let ip: IpAddr = addr.parse().map_err(|_| bad())?;
        let key = client_key(ip);
        match (len, key) {
            (None, _) => Ok(key),
            (Some(l), ClientKey::V6Net(_)) if l.parse() == Ok(IPV6_PREFIX) => Ok(key),
            (Some("32"), ClientKey::V4(_)) => Ok(key),
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> ClientKey {
        client_key(s.parse().unwrap())
    }

    #[test]
    fn ipv4_is_the_address() {
        assert_eq!(key("192.0.2.1").to_string(), "192.0.2.1");
        assert_ne!(key("192.0.2.1"), key("192.0.2.2"));
    }

    #[test]
    fn mapped_ipv6_is_ipv4() {
        assert_eq!(key("::ffff:192.0.2.1"), key("192.0.2.1"));
        assert_eq!(key("::ffff:192.0.2.1").to_string(), "192.0.2.1");
    }

    #[test]
    fn ipv6_is_its_slash_64() {
        let a = key("2001:db8:1:2::1");
        assert_eq!(a, key("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_ne!(a, key("2001:db8:1:3::1"));
        assert_eq!(a.to_string(), "2001:db8:1:2::/64");
        assert_eq!(key("::1").to_string(), "::/64");
        assert!(a.contains("2001:db8:1:2:abcd::9".parse().unwrap()));
        assert!(!a.contains("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn parses_its_own_form_and_addresses() {
        for s in ["192.0.2.1", "2001:db8:1:2::/64", "::/64"] {
            assert_eq!(s.parse::<ClientKey>().unwrap().to_string(), s);
        }
        assert_eq!(
            "2001:db8:1:2::77".parse::<ClientKey>().unwrap().to_string(),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            "192.0.2.1/32".parse::<ClientKey>().unwrap(),
            key("192.0.2.1")
        );
        for bad in ["", "x", "2001:db8::/48", "192.0.2.0/24", "2001:db8::/"] {
            assert!(bad.parse::<ClientKey>().is_err(), "{bad}");
        }
    }
}
