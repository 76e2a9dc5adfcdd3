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
    let counter = Counter::default();
    let caches = lookups.caches(&counter);
    let out = lookups.auth.check_host(caches.params(params)).await;
    let result = convert(out.result());
    if counter.void_lookups() > MAX_VOID_LOOKUPS && result != AuthResult::TempError {
        return AuthResult::PermError;
    }
    if result == AuthResult::None && !domain.is_empty() && dns_failed(lookups, domain).await {
        return AuthResult::TempError;
    }
    result
}

/// "No SPF record" from mail-auth also covers SERVFAIL and REFUSED answers:
/// ask again and tell them apart (RFC 7208 §4.4: those are temperror).
async fn dns_failed(lookups: &Lookups, domain: &str) -> bool {
    let name = format!("{}.", domain.trim_end_matches('.'));
    if lookups.zone_has_txt(&name) {
        return false;
    }
    match lookups.auth.0.txt_lookup(name).await {
        Ok(_) => false,
        Err(e) => match e.kind() {
            mail_auth::hickory_resolver::proto::ProtoErrorKind::NoRecordsFound(n) => !matches!(
                n.response_code,
                ResponseCode::NXDomain | ResponseCode::NoError
            ),
            _ => true,
        },
    }
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
