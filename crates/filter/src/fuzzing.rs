//! Entry points for the fuzz targets (fuzz/fuzz_targets/dmarc_record.rs,
//! spf_record.rs, auth_results_header.rs): the parsers the stages call, on
//! bytes from outside, without DNS. Not an API.

use crate::results::{AuthResult, Published};
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::dmarc::Dmarc;
use mail_auth::spf::Spf;

/// A DMARC TXT record as the DMARC stage reads it (mail-auth's parser,
/// then our policy_published), for `domain`; None when it does not parse.
pub fn dmarc_record(txt: &[u8], domain: &str) -> Option<Published> {
    let record = Dmarc::parse(txt).ok()?;
    let policy = crate::dmarc::effective_policy(&record, false);
    let mut p = crate::dmarc::published(&record, domain.to_string(), false, false);
    p.p = crate::dmarc::policy_name(policy);
    Some(p)
}

/// A domain's TXT records as the SPF stage checks them: mail-auth's
/// parse of each SPF one, and our verdict on the set (multiple records,
/// bad ip4/ip6 terms).
pub fn spf_records(texts: &[String]) -> (Vec<bool>, Option<AuthResult>) {
    let parsed = texts
        .iter()
        .map(|t| Spf::parse(t.as_bytes()).is_ok())
        .collect();
    (parsed, crate::spf::records_verdict(texts.iter().cloned()))
}

/// Whether an SPF TXT record is one (RFC 7208 §4.5).
pub fn is_spf_record(t: &str) -> bool {
    crate::spf::is_spf_record(t)
}

/// An Authentication-Results value: does it claim `id`, and does an
/// ARC-Authentication-Results value like it say dmarc=pass.
pub fn auth_results(value: &[u8], id: &str) -> (bool, bool) {
    (
        crate::header::claims_authserv_id(value, id),
        crate::arc::says_dmarc_pass(value),
    )
}
