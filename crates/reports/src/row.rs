//! One message's DMARC result as a report row (RFC 7489 Appendix C
//! RecordType): what the store counts. Only messages whose From: domain
//! published a record get a row, and not those whose result was a
//! temperror (no policy was applied to them).

use postern_filter::{AuthResult, Results};
use postern_store::DmarcRow;
use std::net::IpAddr;

/// The row for a message, if it is reported.
pub fn row_of(results: &Results, source: IpAddr, envelope_from: &str) -> Option<DmarcRow> {
    let dmarc = results.dmarc.as_ref()?;
    let p = results.dmarc_published.as_ref()?;
    if dmarc.result == AuthResult::TempError || p.rua.is_empty() {
        return None;
    }
    let word = |ok: bool| if ok { "pass" } else { "fail" }.to_string();
    let (disposition, reason) = evaluated(&dmarc.disposition);
    let dkim_auth: Vec<String> = results
        .dkim
        .iter()
        .filter(|d| !d.domain.is_empty())
        .map(|d| format!("{} {} {}", d.domain, d.selector, dkim_word(d.result)))
        .collect();
    let spf_auth = results
        .spf
        .as_ref()
        .map(|s| format!("{} {}", s.mail_from_domain, spf_word(s.mail_from)))
        .unwrap_or_default();
    Some(DmarcRow {
        policy_domain: p.domain.clone(),
        policy: format!("{} {} {} {} {}", p.adkim, p.aspf, p.p, p.sp, p.pct),
        rua: p
            .rua
            .iter()
            .map(|(uri, size)| format!("{uri} {size}"))
            .collect::<Vec<_>>()
            .join("\n"),
        source_ip: source.to_canonical().to_string(),
        header_from: dmarc.from_domain.clone(),
        envelope_from: envelope_from
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())
            .unwrap_or_default(),
        disposition: disposition.into(),
        reason: reason.into(),
        dkim: word(p.dkim_aligned),
        spf: word(p.spf_aligned),
        dkim_auth: dkim_auth.join("\n"),
        spf_auth,
    })
}

/// Our disposition word (dmarc.rs) as Appendix C DispositionType and
/// PolicyOverrideType: what was done, and why not the policy.
fn evaluated(word: &str) -> (&'static str, &'static str) {
    let done = if word.starts_with("reject") {
        "reject"
    } else if word.starts_with("quarantine") {
        "quarantine"
    } else {
        "none"
    };
    let reason = match word {
        "arc" => "trusted_forwarder",
        "off" => "local_policy",
        w if w.contains("override") => "local_policy",
        w if w.contains("pct") => "sampled_out",
        _ => "",
    };
    (done, reason)
}

/// Appendix C DKIMResultType.
fn dkim_word(r: AuthResult) -> &'static str {
    match r {
        AuthResult::Policy => "policy",
        other => other.as_str(),
    }
}

/// Appendix C SPFResultType.
fn spf_word(r: AuthResult) -> &'static str {
    r.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_filter::{DkimOutcome, DmarcOutcome, Published, SpfOutcome};

    fn results(disposition: &str, result: AuthResult) -> Results {
        Results {
            spf: Some(SpfOutcome {
                helo: AuthResult::None,
                helo_name: "h".into(),
                mail_from: AuthResult::Pass,
                mail_from_identity: "b@bounce.example".into(),
                mail_from_domain: "bounce.example".into(),
            }),
            dkim: vec![DkimOutcome {
                result: AuthResult::Fail,
                domain: "example.net".into(),
                selector: "s1".into(),
                reason: None,
            }],
            dmarc: Some(DmarcOutcome {
                result,
                from_domain: "mail.example.net".into(),
                policy: "reject",
                disposition: disposition.into(),
            }),
            dmarc_published: Some(Published {
                domain: "example.net".into(),
                adkim: 'r',
                aspf: 's',
                p: "reject",
                sp: "quarantine",
                pct: 100,
                rua: vec![("mailto:d@example.net".into(), 0)],
                dkim_aligned: false,
                spf_aligned: false,
            }),
            ..Results::default()
        }
    }

    #[test]
    fn a_rejected_message_is_a_reject_row() {
        let ip: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        let r = row_of(&results("reject", AuthResult::Fail), ip, "b@Bounce.example").unwrap();
        assert_eq!(r.policy_domain, "example.net");
        assert_eq!(r.policy, "r s reject quarantine 100");
        assert_eq!(r.source_ip, "192.0.2.1");
        assert_eq!(
            (r.header_from.as_str(), r.envelope_from.as_str()),
            ("mail.example.net", "bounce.example")
        );
        assert_eq!((r.disposition.as_str(), r.reason.as_str()), ("reject", ""));
        assert_eq!((r.dkim.as_str(), r.spf.as_str()), ("fail", "fail"));
        assert_eq!(r.dkim_auth, "example.net s1 fail");
        assert_eq!(r.spf_auth, "bounce.example pass");
    }

    #[test]
    fn overrides_have_their_reason_and_temperrors_no_row() {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let arc = row_of(&results("arc", AuthResult::Fail), ip, "").unwrap();
        assert_eq!(
            (arc.disposition.as_str(), arc.reason.as_str()),
            ("none", "trusted_forwarder")
        );
        let pct = row_of(&results("quarantine(pct)", AuthResult::Fail), ip, "").unwrap();
        assert_eq!(
            (pct.disposition.as_str(), pct.reason.as_str()),
            ("quarantine", "sampled_out")
        );
        assert!(row_of(&results("none", AuthResult::TempError), ip, "").is_none());
        let mut none = results("none", AuthResult::Pass);
        none.dmarc_published = None;
        assert!(
            row_of(&none, ip, "").is_none(),
            "no record: nothing to report"
        );
    }
}
