//! DKIM verification (RFC 6376) of every signature, up to a limit, with
//! ed25519 (RFC 8463). rsa-sha1 signatures are never a pass (RFC 8301 §3.1);
//! signatures with l= are not accepted at all, so content appended after the
//! signed length cannot pass as signed (RFC 6376 §8.2): mail-auth's strict
//! parse, reported as "policy".

use crate::context::Context;
use crate::dns::{Counter, Lookups};
use crate::results::{AuthResult, DkimOutcome};
use mail_auth::common::crypto::Algorithm;
use mail_auth::hickory_resolver::proto::op::ResponseCode;
use mail_auth::{DkimResult, Error};

/// Signatures verified per message; the rest are reported as skipped (each
/// costs a DNS lookup and an RSA operation: 100 signatures must not cost 100).
pub const MAX_SIGNATURES: usize = 10;

pub(crate) async fn run(ctx: &mut Context<'_>, lookups: &Lookups) {
    let Some(msg) = ctx.message.as_mut() else {
        return;
    };
    if msg.dkim_headers.is_empty() {
        // RFC 8601 §2.7.1: "none", the message was not signed.
        ctx.results.dkim = vec![DkimOutcome {
            result: AuthResult::None,
            domain: String::new(),
            selector: String::new(),
            reason: None,
        }];
        return;
    }
    let total = msg.dkim_headers.len();
    msg.dkim_headers.truncate(MAX_SIGNATURES);
    ctx.results.dkim_skipped = total.saturating_sub(MAX_SIGNATURES);
    let Some(msg) = ctx.message.as_ref() else {
        return;
    };
    let counter = Counter::default();
    let caches = lookups.caches(&counter);
    let outputs = lookups.auth.verify_dkim(caches.params(msg)).await;
    ctx.results.dkim = outputs
        .iter()
        .map(|o| {
            let (d, s, sha1) = o
                .signature()
                .map_or((String::new(), String::new(), false), |s| {
                    (
                        s.d.to_ascii_lowercase(),
                        s.s.clone(),
                        s.a == Algorithm::RsaSha1,
                    )
                });
            let (result, reason) = convert(o.result(), sha1);
            DkimOutcome {
                result,
                domain: d,
                selector: s,
                reason,
            }
        })
        .collect();
}

/// mail-auth's result as RFC 8601 names it, with the reason when not a pass.
fn convert(r: &DkimResult, sha1: bool) -> (AuthResult, Option<String>) {
    let why = |e: &Error| Some(e.to_string());
    match r {
        DkimResult::Pass if sha1 => (
            AuthResult::Policy,
            Some("rsa-sha1 is not accepted (RFC 8301)".into()),
        ),
        DkimResult::Pass => (AuthResult::Pass, None),
        DkimResult::None => (AuthResult::None, None),
        DkimResult::Neutral(e @ Error::FailedBodyHashMatch) => (AuthResult::Fail, why(e)),
        DkimResult::Neutral(Error::SignatureLength) => {
            (AuthResult::Policy, Some("l= is not accepted".into()))
        }
        DkimResult::Neutral(e @ Error::SignatureExpired) => (AuthResult::Neutral, why(e)),
        DkimResult::Neutral(e) => (AuthResult::PermError, why(e)),
        DkimResult::Fail(e) => (AuthResult::Fail, why(e)),
        DkimResult::TempError(e) => (AuthResult::TempError, why(e)),
        // A key lookup answered SERVFAIL/REFUSED is not "no key" (RFC 6376 §6.1.2).
        DkimResult::PermError(e @ Error::DnsRecordNotFound(code))
            if !matches!(code, ResponseCode::NXDomain | ResponseCode::NoError) =>
        {
            (AuthResult::TempError, why(e))
        }
        DkimResult::PermError(e) => (AuthResult::PermError, why(e)),
    }
}
