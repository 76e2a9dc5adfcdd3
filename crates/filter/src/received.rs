//! The client address of a stored message, for `postern spam check` on
//! files (issue 16 item 7): the first public address in brackets of the
//! `from` clause of its topmost Received fields (RFC 5321 §4.4: each hop
//! puts its own on top; ours reads `from HELO ([IP])`). A heuristic: a
//! message that never passed an MTA has none, and private or loopback
//! addresses (internal hops) are skipped.

use std::net::IpAddr;

/// Received fields looked at, from the top.
pub const MAX_RECEIVED: usize = 5;

/// The sending client's public address, if a Received field names one.
pub fn received_client_ip(raw: &[u8]) -> Option<IpAddr> {
    let header = &raw[..postern_spam::header::header_end(raw)];
    postern_spam::header::fields(header)
        .iter()
        .filter(|(name, _)| name == "received")
        .take(MAX_RECEIVED)
        .find_map(|(_, value)| from_clause_ip(value).filter(is_public))
}

/// The first `[address]` of the `from` clause (before ` by `).
fn from_clause_ip(value: &str) -> Option<IpAddr> {
    let lower = value.to_ascii_lowercase();
    let rest = lower.strip_prefix("from ")?;
    let clause = rest.split(" by ").next().unwrap_or(rest);
    let open = clause.find('[')?;
    let inside = &clause[open + 1..];
    let inside = &inside[..inside.find(']')?];
    let inside = inside.strip_prefix("ipv6:").unwrap_or(inside);
    inside.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

fn is_public(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.is_unspecified())
        }
        IpAddr::V6(v6) => {
            let unique_local = (v6.segments()[0] & 0xfe00) == 0xfc00;
            !(v6.is_loopback() || v6.is_unspecified() || unique_local)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_public_address_of_the_from_clauses() {
        let raw = b"Received: from localhost ([127.0.0.1]) by mx.example.org with ESMTP\r\nReceived: from relay.example\r\n (relay.example [192.0.2.5]) by inner.example\r\n with ESMTP; Mon, 7 Dec 2026 00:00:00 +0000\r\nReceived: from x ([198.51.100.9]) by y\r\nSubject: s\r\n\r\nbody [203.0.113.1]";
        assert_eq!(received_client_ip(raw), Some("192.0.2.5".parse().unwrap()));
        let v6 = b"Received: from h (h [IPv6:2001:db8::1]) by mx\r\n\r\n";
        assert_eq!(received_client_ip(v6), Some("2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn none_without_a_public_address_in_the_first_fields() {
        assert_eq!(
            received_client_ip(b"Subject: s\r\n\r\nReceived: from x ([192.0.2.1])"),
            None
        );
        assert_eq!(
            received_client_ip(b"Received: by mx ([192.0.2.1])\r\n\r\n"),
            None
        );
        let internal: String = (0..MAX_RECEIVED)
            .map(|i| format!("Received: from h{i} ([10.0.0.{i}]) by mx\r\n"))
            .collect();
        let raw = format!("{internal}Received: from far ([192.0.2.7]) by mx\r\n\r\n");
        // The public hop is past the fields looked at.
        assert_eq!(received_client_ip(raw.as_bytes()), None);
    }
}
