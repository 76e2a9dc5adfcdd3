//! RFC 7489 §7.1: a report goes to an address outside the policy domain's
//! organisational domain only when that address's domain says it accepts
//! reports for it: a TXT record at `<policy-domain>._report._dmarc.<rua-domain>`
//! beginning with `v=DMARC1`. Without it, a domain could make us send
//! reports to anyone.

use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::TokioResolver;
use postern_filter::org_domain;

/// Why a destination is not used.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("{rua_domain} does not authorise reports for {policy_domain} (RFC 7489 §7.1)")]
    NotAuthorised {
        policy_domain: String,
        rua_domain: String,
    },
    #[error("looking up the authorisation at {0} failed: {1}")]
    Lookup(String, String),
}

/// Longest wait for the authorisation record: a DNS server that never
/// answers costs the report run this much per destination, no more.
pub const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The name §7.1 looks up.
pub fn authorisation_name(policy_domain: &str, rua_domain: &str) -> String {
    format!("{policy_domain}._report._dmarc.{rua_domain}.")
}

/// Whether the TXT strings of one record authorise (§7.1 step 3: v=DMARC1 first).
pub fn authorises(record: &str) -> bool {
    let first = record.split(';').next().unwrap_or("");
    let (k, v) = first.split_once('=').unwrap_or(("", ""));
    k.trim() == "v" && v.trim() == "DMARC1"
}

/// Ok when reports for `policy_domain` may go to an address at `rua_domain`.
pub async fn check(
    resolver: &TokioResolver,
    policy_domain: &str,
    rua_domain: &str,
) -> Result<(), Refused> {
    if org_domain(policy_domain) == org_domain(rua_domain) {
        return Ok(());
    }
    let name = authorisation_name(policy_domain, rua_domain);
    let refused = || Refused::NotAuthorised {
        policy_domain: policy_domain.to_string(),
        rua_domain: rua_domain.to_string(),
    };
    let answer = tokio::time::timeout(LOOKUP_TIMEOUT, resolver.txt_lookup(name.clone()))
        .await
        .map_err(|_| Refused::Lookup(name.clone(), "no answer in time".into()))?;
    match answer {
        Ok(answer) => {
            let found = answer.iter().any(|txt| {
                let text: Vec<u8> = txt
                    .txt_data()
                    .iter()
                    .flat_map(|s| s.iter().copied())
                    .collect();
                authorises(&String::from_utf8_lossy(&text))
            });
            found.then_some(()).ok_or_else(refused)
        }
        // NXDOMAIN or no TXT: not authorised. hickory reports SERVFAIL as
        // "no records" too: that is a failure, not an answer (issue 15).
        Err(e) => match e.kind() {
            ProtoErrorKind::NoRecordsFound(n)
                if matches!(
                    n.response_code,
                    ResponseCode::NoError | ResponseCode::NXDomain
                ) =>
            {
                Err(refused())
            }
            _ if e.is_nx_domain() => Err(refused()),
            _ => Err(Refused::Lookup(name, e.to_string())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_v_dmarc1_record_authorises() {
        assert!(authorises("v=DMARC1"));
        assert!(authorises("v=DMARC1; rua=mailto:x@y"));
        assert!(!authorises("v=spf1 -all"));
        assert!(!authorises("x=DMARC1; v=DMARC1"));
        assert!(!authorises(""));
        assert_eq!(
            authorisation_name("example.net", "reports.example"),
            "example.net._report._dmarc.reports.example."
        );
    }
}
