//! ARC (RFC 8617 §5.2): the chain of ARC sets is verified; the newest
//! sealer and whether it saw DMARC pass are kept for the DMARC stage, which
//! may let a trusted sealer's result override a failure (§7.2).

use crate::context::Context;
use crate::dns::{Counter, Lookups};
use crate::results::{ArcOutcome, AuthResult};
use mail_auth::DkimResult;

pub(crate) async fn run(ctx: &mut Context<'_>, lookups: &Lookups) {
    let Some(msg) = ctx.message.as_ref() else {
        return;
    };
    let counter = Counter::default();
    let caches = lookups.caches(&counter);
    let out = lookups.auth.verify_arc(caches.params(msg)).await;
    let result = match out.result() {
        DkimResult::Pass => AuthResult::Pass,
        DkimResult::None => AuthResult::None,
        DkimResult::TempError(_) => AuthResult::TempError,
        _ => AuthResult::Fail,
    };
    let newest = out.sets().last();
    let sealer = newest.map(|s| s.seal.header.d.to_ascii_lowercase());
    let saw_pass = newest.is_some_and(|s| says_dmarc_pass(s.results.value));
    ctx.results.arc = Some(ArcOutcome {
        result,
        sealer,
        sealer_saw_dmarc_pass: result == AuthResult::Pass && saw_pass,
    });
}

/// The incoming chain of `msg` verified and handed to `then`, for a sealer
/// that extends it (RFC 8617 §5.1.1: cv= of the new set is this chain's result).
pub async fn verify_chain<R>(
    lookups: &Lookups,
    msg: &mail_auth::AuthenticatedMessage<'_>,
    then: impl FnOnce(&mail_auth::ArcOutput<'_>) -> R,
) -> R {
    let counter = Counter::default();
    let caches = lookups.caches(&counter);
    let out = lookups.auth.verify_arc(caches.params(msg)).await;
    then(&out)
}

/// Whether an ARC-Authentication-Results value has "dmarc=pass".
pub(crate) fn says_dmarc_pass(value: &[u8]) -> bool {
    let text = String::from_utf8_lossy(value).to_ascii_lowercase();
    text.split(|c: char| c == ';' || c.is_whitespace())
        .any(|t| t == "dmarc=pass")
}

#[cfg(test)]
mod tests {
    #[test]
    fn dmarc_pass_is_found_as_a_token() {
        assert!(super::says_dmarc_pass(
            b" i=1; lists.example; dmarc=pass header.from=a.example"
        ));
        assert!(!super::says_dmarc_pass(
            b" i=1; lists.example; dmarc=fail (x-dmarc=pass)"
        ));
    }
}
