//! SPF (RFC 7208) of the HELO name and of MAIL FROM. mail-auth evaluates
//! the records (every mechanism and macro, the 10-lookup limit); this adds
//! the void-lookup limit (§4.6.4) and keeps a DNS failure a temperror where
//! mail-auth would read it as "no record".

use crate::dns::{Counter, Lookups};
use crate::results::{AuthResult, SpfOutcome};
use mail_auth::hickory_resolver::proto::op::ResponseCode;
use mail_auth::spf::verify::SpfParameters;
use mail_auth::SpfResult;
use std::net::IpAddr;

/// RFC 7208 §4.6.4: more void lookups than this is a permerror.
pub const MAX_VOID_LOOKUPS: u32 = 2;

/// SPF of both identities of a transaction. `hostname` is ours (macro %{r}).
pub async fn check_spf(
    lookups: &Lookups,
    ip: IpAddr,
    helo: &str,
    mail_from: &str,
    hostname: &str,
) -> SpfOutcome {
    let helo_params = SpfParameters::verify_ehlo(ip, helo, hostname);
    let helo_result = check(lookups, helo_params, helo).await;
    let domain = match mail_from.rsplit_once('@') {
        Some((_, d)) => d.to_ascii_lowercase(),
        None => helo.to_ascii_lowercase(),
    };
    let from_params = SpfParameters::verify_mail_from(ip, helo, hostname, mail_from);
    let from_result = check(lookups, from_params, &domain).await;
    let identity = if mail_from.is_empty() {
        format!("postmaster@{helo}")
    } else {
        mail_from.to_string()
    };
    SpfOutcome {
        helo: helo_result,
        helo_name: helo.to_string(),
        mail_from: from_result,
        mail_from_identity: identity,
        mail_from_domain: domain,
    }
}

async fn check(lookups: &Lookups, params: SpfParameters<'_>, domain: &str) -> AuthResult {
    // RFC 7208 §2.3: an address literal or other non-domain HELO is not checked.
    if !is_domain(domain) {
        return AuthResult::None;
    }
    // One look at the domain's own TXT records decides the cases mail-auth
    // gets wrong or need no evaluation; check_host's own lookup of them is
    // then answered from the resolver's cache.
    match published(lookups, domain).await {
        Published::Nothing => return AuthResult::None,
        Published::Failed => return AuthResult::TempError,
        Published::Records(Some(early)) => return early,
        Published::Records(None) | Published::InZone => {}
    }
    let counter = Counter::default();
    let caches = lookups.caches(&counter);
    let out = lookups.auth.check_host(caches.params(params)).await;
    let result = convert(out.result());
    if counter.void_lookups() > MAX_VOID_LOOKUPS && result != AuthResult::TempError {
        return AuthResult::PermError;
    }
    result
}

/// What a domain publishes in TXT, asked once per identity.
enum Published {
    /// NXDOMAIN or no TXT records: no SPF record, "none" (RFC 7208 §4.5).
    Nothing,
    /// SERVFAIL, REFUSED or no answer: a temperror (§4.4), where mail-auth
    /// would read "no record".
    Failed,
    /// Records, with [`records_verdict`]'s early result if any.
    Records(Option<AuthResult>),
    /// The zone answers (tests): mail-auth reads it itself.
    InZone,
}

async fn published(lookups: &Lookups, domain: &str) -> Published {
    let name = format!("{}.", domain.trim_end_matches('.'));
    if lookups.zone_has_txt(&name) {
        return Published::InZone;
    }
    match lookups.auth.0.txt_lookup(name).await {
        Ok(found) => {
            let texts = found.iter().map(|t| {
                t.txt_data()
                    .iter()
                    .map(|p| String::from_utf8_lossy(p))
                    .collect()
            });
            Published::Records(records_verdict(texts))
        }
        Err(e) => match e.kind() {
            mail_auth::hickory_resolver::proto::ProtoErrorKind::NoRecordsFound(n)
                if matches!(
                    n.response_code,
                    ResponseCode::NXDomain | ResponseCode::NoError
                ) =>
            {
                Published::Nothing
            }
            _ => Published::Failed,
        },
    }
}

/// The verdict on a domain's TXT records (each one's strings joined): the
/// non-SPF ones are ignored (§4.5); two SPF records, or one with a bad
/// ip4/ip6 term, are a permerror.
pub(crate) fn records_verdict(texts: impl Iterator<Item = String>) -> Option<AuthResult> {
    let records: Vec<String> = texts.filter(|t| is_spf_record(t)).collect();
    match records.as_slice() {
        [one] if !ip_terms_valid(one) => Some(AuthResult::PermError),
        [_] | [] => None,
        _ => Some(AuthResult::PermError),
    }
}

/// A name that can be looked up: dot-separated labels of letters, digits,
/// '-' and '_' (not "[192.0.2.1]", not a bare word).
fn is_domain(name: &str) -> bool {
    let name = name.trim_end_matches('.');
    name.contains('.')
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// RFC 7208 §4.5: "v=spf1" alone or followed by a space, any case.
pub(crate) fn is_spf_record(t: &str) -> bool {
    let t = t.as_bytes();
    t.len() >= 6 && t[..6].eq_ignore_ascii_case(b"v=spf1") && (t.len() == 6 || t[6] == b' ')
}

/// Every ip4:/ip6: term is an address of its family with a prefix in range (§5.6).
fn ip_terms_valid(record: &str) -> bool {
    record.split(' ').all(|term| {
        let term = term.trim_start_matches(['+', '-', '~', '?']);
        let lower = term.to_ascii_lowercase();
        let (v6, rest) = match (lower.strip_prefix("ip4:"), lower.strip_prefix("ip6:")) {
            (Some(r), _) => (false, r.to_string()),
            (_, Some(r)) => (true, r.to_string()),
            _ => return true,
        };
        let (addr, len) = match rest.split_once('/') {
            Some((a, l)) => (a.to_string(), l.parse::<u8>().ok()),
            None => (rest.clone(), Some(if v6 { 128 } else { 32 })),
        };
        match (v6, len) {
            (false, Some(l)) => l <= 32 && addr.parse::<std::net::Ipv4Addr>().is_ok(),
            (true, Some(l)) => l <= 128 && addr.parse::<std::net::Ipv6Addr>().is_ok(),
            _ => false,
        }
    })
}

fn convert(r: SpfResult) -> AuthResult {
    match r {
        SpfResult::Pass => AuthResult::Pass,
        SpfResult::Fail => AuthResult::Fail,
        SpfResult::SoftFail => AuthResult::SoftFail,
        SpfResult::Neutral => AuthResult::Neutral,
        SpfResult::TempError => AuthResult::TempError,
        SpfResult::PermError => AuthResult::PermError,
        SpfResult::None => AuthResult::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::Zone;
    use mail_auth::common::parse::TxtRecordParser;
    use mail_auth::spf::Spf;

    pub(crate) fn lookups(zone: Zone) -> Lookups {
        crate::pipeline::tests::lookups(zone)
    }

    fn spf(zone: &Zone, name: &str, record: &str) {
        zone.txt(name, Spf::parse(record.as_bytes()));
    }

    fn nx(zone: &Zone, name: &str) {
        zone.txt::<Spf>(
            name,
            Err(mail_auth::Error::DnsRecordNotFound(ResponseCode::NXDomain)),
        );
    }

    #[tokio::test]
    async fn pass_fail_softfail_neutral_none() {
        let zone = Zone::default();
        spf(&zone, "pass.example", "v=spf1 ip4:192.0.2.0/24 -all");
        spf(&zone, "soft.example", "v=spf1 ~all");
        spf(&zone, "neutral.example", "v=spf1 ?all");
        spf(&zone, "helo.example", "v=spf1 a -all");
        zone.a("helo.example", &["192.0.2.7".parse().unwrap()]);
        nx(&zone, "none.example");
        let l = lookups(zone);
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "198.51.100.1".parse().unwrap();
        let r = check_spf(&l, ip, "helo.example", "a@pass.example", "mx.test").await;
        assert_eq!((r.helo, r.mail_from), (AuthResult::Pass, AuthResult::Pass));
        let r = check_spf(&l, other, "helo.example", "a@pass.example", "mx.test").await;
        assert_eq!((r.helo, r.mail_from), (AuthResult::Fail, AuthResult::Fail));
        let r = check_spf(&l, other, "helo.example", "a@soft.example", "mx.test").await;
        assert_eq!(r.mail_from, AuthResult::SoftFail);
        let r = check_spf(&l, other, "helo.example", "a@neutral.example", "mx.test").await;
        assert_eq!(r.mail_from, AuthResult::Neutral);
        let r = check_spf(&l, other, "helo.example", "a@none.example", "mx.test").await;
        assert_eq!(r.mail_from, AuthResult::None);
        // The null sender is checked as postmaster@HELO (RFC 7208 §2.4).
        let r = check_spf(&l, ip, "helo.example", "", "mx.test").await;
        assert_eq!(r.mail_from, AuthResult::Pass);
        assert_eq!(r.mail_from_identity, "postmaster@helo.example");
    }

    #[tokio::test]
    async fn address_literal_helo_is_none() {
        // Not looked up at all: the resolver here answers nothing (would be temperror).
        let l = lookups(Zone::default());
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let r = check_spf(&l, ip, "[192.0.2.7]", "", "mx.test").await;
        assert_eq!((r.helo, r.mail_from), (AuthResult::None, AuthResult::None));
        assert!(!is_domain("localhost") && is_domain("a-b.example_x.org."));
    }

    #[test]
    fn record_syntax_checks() {
        assert!(is_spf_record("v=spf1") && is_spf_record("V=SPF1 -all"));
        assert!(!is_spf_record("v=spf10 -all") && !is_spf_record("spf1"));
        assert!(ip_terms_valid(
            "v=spf1 ip4:192.0.2.0/24 -ip6:2001:db8::/32 a -all"
        ));
        assert!(!ip_terms_valid("v=spf1 ip4:300.1.1.1 -all"));
        assert!(!ip_terms_valid("v=spf1 ip4:192.0.2.1/33 -all"));
        assert!(!ip_terms_valid("v=spf1 ip6:192.0.2.1 -all"));
    }

    // The void-lookup limit needs NXDOMAIN answers from a DNS server: tests/test_auth_spf.py.

    #[tokio::test]
    async fn lookup_limit_is_crossed() {
        let zone = Zone::default();
        let mut ten = String::from("v=spf1");
        for i in 0..10 {
            ten.push_str(&format!(" include:i{i}.example"));
            spf(&zone, &format!("i{i}.example"), "v=spf1 ?all");
        }
        spf(&zone, "ten.example", &format!("{ten} ?all"));
        spf(
            &zone,
            "eleven.example",
            &format!("{ten} include:i0.example ?all"),
        );
        let l = lookups(zone);
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let r = check_spf(&l, ip, "x.example", "a@ten.example", "mx.test").await;
        assert_eq!(r.mail_from, AuthResult::Neutral);
        let r = check_spf(&l, ip, "x.example", "a@eleven.example", "mx.test").await;
        assert_eq!(r.mail_from, AuthResult::PermError);
    }

    #[tokio::test]
    async fn no_answer_is_a_temperror() {
        // Nothing in the zone and a resolver nobody answers at.
        let l = lookups(Zone::default());
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let r = check_spf(&l, ip, "x.example", "a@silent.example", "mx.test").await;
        assert_eq!(r.mail_from, AuthResult::TempError);
    }
}
