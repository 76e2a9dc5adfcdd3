//! `[[spam.dnsbl]]` and `[[spam.uribl]]` (SPEC P1, issue 16 item 1): DNS
//! lists asked about the client's address (RFC 5782 §2.1) or about the
//! domains of a message's links (§2.2), each with what a listing does:
//! `block` (554 5.7.1 naming the list), `score` (points) or `log`.
//! Also `spam.ip_whitelist` / `spam.ip_blacklist` (IP groups) and the time
//! the lists are waited for (`spam.dnsbl_timeout`).

use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// Lists of each kind accepted: every one is a lookup per message.
pub const MAX_LISTS: usize = 20;
/// Longest `spam.dnsbl_timeout`: the client waits that long at worst.
pub const MAX_DNSBL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// The default `spam.dnsbl_timeout`.
pub const DEFAULT_DNSBL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// What a listing does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListAction {
    /// Refused with 554 5.7.1 naming the list.
    Block,
    /// `score` points added to the spam score.
    #[default]
    Score,
    /// Only written to the logs.
    Log,
}

/// When a DNSBL `block` refuses the client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListWhen {
    /// Instead of the 220 greeting.
    Connect,
    /// At each RCPT (so whitelisted senders and recipients can be let through).
    #[default]
    Rcpt,
}

/// One `[[spam.dnsbl]]`: a list of client addresses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dnsbl {
    /// The list's DNS zone, e.g. "zen.spamhaus.org".
    pub zone: String,
    #[serde(default)]
    pub action: ListAction,
    /// Points for `action = "score"`.
    #[serde(default = "default_score")]
    pub score: f64,
    #[serde(default)]
    pub when: ListWhen,
    /// Answers that count as listed (empty: any 127.0.0.0/8 answer).
    #[serde(default)]
    pub returns: Vec<Ipv4Addr>,
}

/// One `[[spam.uribl]]`: a list of domains, asked for the links of a message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Uribl {
    pub zone: String,
    #[serde(default)]
    pub action: ListAction,
    #[serde(default = "default_score")]
    pub score: f64,
    #[serde(default)]
    pub returns: Vec<Ipv4Addr>,
}

fn default_score() -> f64 {
    3.0
}

/// Checks both kinds of lists; the error names the key.
pub fn validate(
    dnsbl: &[Dnsbl],
    uribl: &[Uribl],
    timeout: std::time::Duration,
) -> Result<(), String> {
    if timeout.is_zero() || timeout > MAX_DNSBL_TIMEOUT {
        return Err("spam.dnsbl_timeout: must be longer than zero and at most 60s".into());
    }
    let lists = dnsbl
        .iter()
        .map(|d| ("spam.dnsbl", &d.zone, d.score, &d.returns))
        .chain(
            uribl
                .iter()
                .map(|u| ("spam.uribl", &u.zone, u.score, &u.returns)),
        );
    for (key, zone, score, returns) in lists {
        check_zone(zone).map_err(|e| format!("{key}: zone \"{zone}\": {e}"))?;
        if !score.is_finite() {
            return Err(format!("{key}: zone \"{zone}\": score must be a number"));
        }
        // RFC 5782 §2.3: listings are answered within 127.0.0.0/8.
        if let Some(r) = returns.iter().find(|r| r.octets()[0] != 127) {
            return Err(format!(
                "{key}: zone \"{zone}\": returns {r} is not in 127.0.0.0/8"
            ));
        }
    }
    for (key, n) in [("spam.dnsbl", dnsbl.len()), ("spam.uribl", uribl.len())] {
        if n > MAX_LISTS {
            return Err(format!("{key}: at most {MAX_LISTS} lists, not {n}"));
        }
    }
    Ok(())
}

/// Longest zone: an IPv6 query adds 64 octets of nibbles (RFC 5782 §2.4)
/// and a name may have 253 (RFC 1035 §2.3.4).
pub const MAX_ZONE: usize = 253 - 64;

/// A DNS name of letters, digits, '-', '_' and dots, without empty labels.
fn check_zone(zone: &str) -> Result<(), &'static str> {
    let z = zone.trim_end_matches('.');
    if z.len() > MAX_ZONE {
        return Err("too long for a query name (at most 189 octets)");
    }
    if z.is_empty() {
        return Err("must be a DNS name");
    }
    let ok = z.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    if ok {
        Ok(())
    } else {
        Err("must be a DNS name")
    }
}

#[cfg(test)]
mod tests {
    use crate::Config;

    #[test]
    fn lists_parse_with_defaults() {
        let c = Config::parse(
            "[spam]\nip_whitelist = \"friends\"\n[[spam.dnsbl]]\nzone = \"zen.example\"\naction = \"block\"\nwhen = \"connect\"\n[[spam.dnsbl]]\nzone = \"b.example\"\nreturns = [\"127.0.0.2\"]\n[[spam.uribl]]\nzone = \"uri.example\"\naction = \"log\"\n",
        )
        .unwrap();
        let d = &c.spam.dnsbl;
        assert_eq!(
            (d[0].action, d[0].when),
            (super::ListAction::Block, super::ListWhen::Connect)
        );
        assert_eq!(
            (d[1].action, d[1].when, d[1].score),
            (super::ListAction::Score, super::ListWhen::Rcpt, 3.0)
        );
        assert_eq!(
            d[1].returns,
            ["127.0.0.2".parse::<std::net::Ipv4Addr>().unwrap()]
        );
        assert_eq!(c.spam.uribl[0].action, super::ListAction::Log);
        assert_eq!(c.spam.ip_whitelist, "friends");
        assert_eq!(c.spam.dnsbl_timeout.0, super::DEFAULT_DNSBL_TIMEOUT);
    }

    #[test]
    fn bad_lists_are_refused_naming_the_key() {
        let bad = [
            ("[[spam.dnsbl]]\nzone = \"a..b\"\n", "spam.dnsbl"),
            ("[[spam.uribl]]\nzone = \"\"\n", "spam.uribl"),
            (
                "[[spam.dnsbl]]\nzone = \"z.example\"\nreturns = [\"10.0.0.2\"]\n",
                "127.0.0.0/8",
            ),
            (
                "[[spam.dnsbl]]\nzone = \"z.example\"\naction = \"drop\"\n",
                "action",
            ),
            (
                "[[spam.uribl]]\nzone = \"z.example\"\nwhen = \"connect\"\n",
                "when",
            ),
            ("[spam]\ndnsbl_timeout = \"61s\"\n", "spam.dnsbl_timeout"),
        ];
        for (text, needle) in bad {
            let e = Config::parse(text).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
        }
        assert!(Config::parse("[spam]\ndnsbl_timeout = \"60s\"\n").is_ok());
        // The zone length limit, crossed.
        let zone = |n: usize| {
            let z = format!(
                "{}.{}.{}",
                "a".repeat(63),
                "b".repeat(63),
                "c".repeat(n - 128)
            );
            assert_eq!(z.len(), n);
            format!("[[spam.dnsbl]]\nzone = \"{z}\"\n")
        };
        assert!(Config::parse(&zone(super::MAX_ZONE)).is_ok());
        let e = Config::parse(&zone(super::MAX_ZONE + 1)).unwrap_err();
        assert!(e.contains("too long"), "{e}");
    }

    #[test]
    fn list_count_limit_is_crossed() {
        let lists = |n: usize| {
            (0..n)
                .map(|i| format!("[[spam.dnsbl]]\nzone = \"l{i}.example\"\n"))
                .collect::<String>()
        };
        assert!(Config::parse(&lists(super::MAX_LISTS)).is_ok());
        let e = Config::parse(&lists(super::MAX_LISTS + 1)).unwrap_err();
        assert!(e.contains("at most 20"), "{e}");
    }
}
