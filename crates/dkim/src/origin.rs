//! Which local domain signs a message that leaves (SPEC P8).
//!
//! - Mail a user or trusted client sent: the domain of its From address, or
//!   the nearest parent domain with keys — a signature by `example.org`
//!   aligns with `From: …@mx.example.org` under DMARC's relaxed alignment
//!   (RFC 7489 §3.1.1), which is how a DSN from MAILER-DAEMON@host gets signed.
//! - Mail from outside that a local alias forwards: never the From domain
//!   (we did not check it), but the domain of the local address that
//!   forwarded it — the forwarder vouches that it passed the mail on.

/// Where a message leaving for other domains comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// The first From: address.
    pub from: Option<String>,
    /// The From address was checked (an authenticated or trusted sender, a DSN of ours).
    pub from_checked: bool,
    /// The local domain whose alias sent it on, for mail from outside.
    pub forwarded_by: Option<String>,
}

/// A domain name has at least this many labels to sign for (never a TLD).
const MIN_LABELS: usize = 2;

impl Origin {
    /// The domains that may sign, best first: the first one with keys does.
    pub fn candidates(&self) -> Vec<String> {
        let mut out = Vec::new();
        let from_domain = self
            .from
            .as_deref()
            .and_then(|a| a.rsplit_once('@'))
            .map(|(_, d)| d.trim_end_matches('.').to_ascii_lowercase());
        if let Some(domain) = from_domain.filter(|_| self.from_checked) {
            let labels: Vec<&str> = domain.split('.').collect();
            for skip in 0..=labels.len().saturating_sub(MIN_LABELS) {
                out.push(labels[skip..].join("."));
            }
        }
        if let Some(d) = &self.forwarded_by {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if !out.contains(&d) {
                out.push(d);
            }
        }
        out.retain(|d| !d.is_empty());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checked_from_and_its_parents() {
        let o = Origin {
            from: Some("MAILER-DAEMON@MX.Example.org".into()),
            from_checked: true,
            forwarded_by: None,
        };
        assert_eq!(o.candidates(), ["mx.example.org", "example.org"]);
    }

    #[test]
    fn an_unchecked_from_never_signs_only_the_forwarder() {
        let o = Origin {
            from: Some("ceo@example.org".into()),
            from_checked: false,
            forwarded_by: Some("example.org".into()),
        };
        assert_eq!(o.candidates(), ["example.org"]);
        let o = Origin {
            from: Some("x@remote.test".into()),
            ..Default::default()
        };
        assert!(o.candidates().is_empty());
    }

    #[test]
    fn checked_from_then_forwarder_without_repeats() {
        let o = Origin {
            from: Some("a@example.org".into()),
            from_checked: true,
            forwarded_by: Some("Example.ORG".into()),
        };
        assert_eq!(o.candidates(), ["example.org"]);
        let o = Origin {
            from: Some("a@example.org".into()),
            from_checked: true,
            forwarded_by: Some("lists.example.net".into()),
        };
        assert_eq!(o.candidates(), ["example.org", "lists.example.net"]);
        let o = Origin {
            from: Some("root@localhost".into()),
            from_checked: true,
            forwarded_by: None,
        };
        assert_eq!(o.candidates(), ["localhost"]);
    }
}
