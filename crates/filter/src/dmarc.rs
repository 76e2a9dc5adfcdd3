//! DMARC (RFC 7489): policy discovery at the From: domain, then at its
//! organisational domain (§6.6.3, Public Suffix List); identifier alignment
//! of SPF and DKIM, relaxed or strict (§3.1); p=/sp=/pct= (§6.6.4); then what
//! we do about a failure: the domain's override, trusted ARC sealers, the
//! global switch.

use crate::context::Context;
use crate::dns::{Counter, Lookups};
use crate::orgdomain::org_domain;
use crate::pipeline::Settings;
use crate::results::{AuthResult, DmarcOutcome, Published};
use crate::verdict::{Action, Reply};
use mail_auth::dmarc::{Alignment, Dmarc, Policy};
use mail_auth::hickory_resolver::proto::op::ResponseCode;
use mail_auth::Error;
use postern_config::{DmarcAction, TempErrorAction};
use std::sync::Arc;

/// Distinct From: domains checked (RFC 7489 §6.6.1: several must not be a
/// way around it). A message with more is refused when DMARC is enforced:
/// checking only some would let the others hide a failing one.
pub const MAX_FROM_DOMAINS: usize = 5;

/// A policy record lookup's outcome.
enum Record {
    Found { record: Arc<Dmarc>, at_org: bool },
    Absent,
    TempError,
    PermError,
}

pub(crate) async fn run(
    ctx: &mut Context<'_>,
    lookups: &Lookups,
    s: &Settings<'_>,
) -> Option<(Action, String)> {
    let mut domains = ctx.from_domains();
    domains.sort_unstable();
    domains.dedup();
    if domains.len() > MAX_FROM_DOMAINS {
        return too_many_froms(ctx, domains.len(), s);
    }
    let mut worst: Option<Evaluated> = None;
    for from in domains {
        let record = discover(lookups, &from).await;
        let outcome = evaluate(ctx, &from, record, s);
        let rank = |o: &Option<(Action, String)>| match o.as_ref().map(|a| &a.0) {
            Some(Action::Reject(_)) => 3,
            Some(Action::Defer(_)) => 2,
            Some(Action::Junk) => 1,
            _ => 0,
        };
        if worst.as_ref().is_none_or(|w| rank(&outcome.1) > rank(&w.1)) {
            worst = Some(outcome);
        }
    }
    let (outcome, action, published) = worst?;
    ctx.results.dmarc = Some(outcome);
    ctx.results.dmarc_published = published;
    action
}

/// One From: domain's result, the action it asks for, and the record behind it.
type Evaluated = (DmarcOutcome, Option<(Action, String)>, Option<Published>);

fn too_many_froms(ctx: &mut Context<'_>, n: usize, s: &Settings<'_>) -> Option<(Action, String)> {
    let disposition = if s.auth.dmarc_enforce {
        "reject"
    } else {
        "off"
    };
    ctx.results.dmarc = Some(DmarcOutcome {
        result: AuthResult::PermError,
        from_domain: format!("{n} domains"),
        policy: "none",
        disposition: disposition.into(),
    });
    let reply = Reply {
        code: 550,
        enhanced: "5.7.1",
        text: format!("Message rejected: {n} author domains in From: (RFC 7489 §6.6.1)"),
    };
    s.auth
        .dmarc_enforce
        .then(|| (Action::Reject(reply), format!("{n} From: domains")))
}

/// §6.6.3: the From: domain's record, else its organisational domain's.
async fn discover(lookups: &Lookups, from: &str) -> Record {
    let org = org_domain(from);
    match lookup(lookups, from).await {
        Record::Absent if org != from => match lookup(lookups, &org).await {
            Record::Found { record, .. } => Record::Found {
                record,
                at_org: true,
            },
            other => other,
        },
        other => other,
    }
}

async fn lookup(lookups: &Lookups, domain: &str) -> Record {
    let counter = Counter::default();
    let caches = lookups.caches(&counter);
    let name = format!("_dmarc.{domain}.");
    match lookups
        .auth
        .txt_lookup::<Dmarc>(name, Some(caches.txt()))
        .await
    {
        Ok(record) => Record::Found {
            record,
            at_org: false,
        },
        Err(Error::DnsRecordNotFound(ResponseCode::NXDomain | ResponseCode::NoError))
        | Err(Error::InvalidRecordType) => Record::Absent,
        Err(Error::DnsRecordNotFound(_)) | Err(Error::DnsError(_)) => Record::TempError,
        // v=DMARC1 with a bad tag: no policy can be applied (§6.6.3 step 6).
        Err(_) => Record::PermError,
    }
}

fn aligned(a: &str, from: &str, mode: &Alignment) -> bool {
    a.eq_ignore_ascii_case(from)
        || (*mode == Alignment::Relaxed && org_domain(a) == org_domain(from))
}

/// The result for one From: domain and the action it asks for (None: deliver).
fn evaluate(ctx: &Context<'_>, from: &str, record: Record, s: &Settings<'_>) -> Evaluated {
    let outcome = |result, policy, disposition: &str| DmarcOutcome {
        result,
        from_domain: from.to_string(),
        policy,
        disposition: disposition.to_string(),
    };
    let (record, at_org) = match record {
        Record::Found { record, at_org } => (record, at_org),
        Record::Absent => return (outcome(AuthResult::None, "none", "none"), None, None),
        Record::PermError => return (outcome(AuthResult::PermError, "none", "none"), None, None),
        Record::TempError => {
            let (o, a) = temperror(from, s, outcome(AuthResult::TempError, "none", "none"));
            return (o, a, None);
        }
    };
    let r = &ctx.results;
    let spf_ok = r.spf.as_ref().is_some_and(|spf| {
        spf.mail_from == AuthResult::Pass && aligned(&spf.mail_from_domain, from, &record.aspf)
    });
    let dkim_ok = r
        .dkim
        .iter()
        .any(|d| d.result == AuthResult::Pass && aligned(&d.domain, from, &record.adkim));
    let policy = effective_policy(&record, at_org);
    let name = policy_name(policy);
    let domain = if at_org {
        org_domain(from)
    } else {
        from.to_string()
    };
    let published = Some(published(&record, domain, dkim_ok, spf_ok));
    if spf_ok || dkim_ok {
        return (outcome(AuthResult::Pass, name, "none"), None, published);
    }
    // An identifier that could not be checked is not a failure (§6.6.2).
    let unsure = r
        .spf
        .as_ref()
        .is_some_and(|x| x.mail_from == AuthResult::TempError)
        || r.dkim.iter().any(|d| d.result == AuthResult::TempError);
    if unsure {
        let (o, a) = temperror(from, s, outcome(AuthResult::TempError, name, "none"));
        return (o, a, published);
    }
    let (action, why) = disposition(ctx, from, policy, record.pct, s);
    let reply = action_for(action, from, &why);
    (outcome(AuthResult::Fail, name, &why), reply, published)
}

/// The record as Appendix C's policy_published, with the alignment found.
pub(crate) fn published(record: &Dmarc, domain: String, dkim_ok: bool, spf_ok: bool) -> Published {
    let mode = |a: &Alignment| if *a == Alignment::Strict { 's' } else { 'r' };
    let sp = match record.sp {
        Policy::Unspecified => record.p,
        sp => sp,
    };
    Published {
        domain,
        adkim: mode(&record.adkim),
        aspf: mode(&record.aspf),
        p: policy_name(record.p),
        sp: policy_name(sp),
        pct: record.pct,
        rua: record
            .rua
            .iter()
            // mail-auth keeps mailto: URIs only, as the bare address.
            .map(|u| (format!("mailto:{}", u.uri()), u.max_size() as u64))
            .collect(),
        dkim_aligned: dkim_ok,
        spf_aligned: spf_ok,
    }
}

/// §6.6.3: p= for the domain itself, sp= (else p=) when found at the organisational domain.
pub(crate) fn effective_policy(record: &Dmarc, at_org: bool) -> Policy {
    match (at_org, record.sp, record.p) {
        (true, sp, _) if sp != Policy::Unspecified => sp,
        (_, _, p) if p != Policy::Unspecified => p,
        _ => Policy::None,
    }
}

pub(crate) fn policy_name(p: Policy) -> &'static str {
    match p {
        Policy::Reject => "reject",
        Policy::Quarantine => "quarantine",
        _ => "none",
    }
}

/// What a failure leads to, and the word for the logs.
fn disposition(
    ctx: &Context<'_>,
    from: &str,
    policy: Policy,
    pct: u8,
    s: &Settings<'_>,
) -> (DmarcAction, String) {
    let mut action = match policy {
        Policy::Reject => DmarcAction::Reject,
        Policy::Quarantine => DmarcAction::Quarantine,
        _ => DmarcAction::None,
    };
    let mut why = String::new();
    // §6.6.4: outside pct=, the next less strict policy applies.
    if pct < 100 && rand::random_range(0..100u8) >= pct {
        action = match action {
            DmarcAction::Reject => DmarcAction::Quarantine,
            _ => DmarcAction::None,
        };
        why = "pct".into();
    }
    let org = org_domain(from);
    if let Some(o) = s
        .auth
        .dmarc_overrides
        .get(from)
        .or(s.auth.dmarc_overrides.get(&org))
    {
        action = *o;
        why = "override".into();
    }
    let arc = ctx.results.arc.as_ref();
    let trusted = arc.is_some_and(|a| {
        a.sealer_saw_dmarc_pass
            && a.sealer.as_ref().is_some_and(|d| {
                s.auth
                    .arc_trusted_sealers
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(d))
            })
    });
    if action != DmarcAction::None && trusted {
        return (DmarcAction::None, "arc".into());
    }
    if action != DmarcAction::None && !s.auth.dmarc_enforce {
        return (DmarcAction::None, "off".into());
    }
    let word = match action {
        DmarcAction::Reject => "reject",
        DmarcAction::Quarantine => "quarantine",
        DmarcAction::None => "none",
    };
    let why = if why.is_empty() {
        word.to_string()
    } else {
        format!("{word}({why})")
    };
    (action, why)
}

fn action_for(a: DmarcAction, from: &str, why: &str) -> Option<(Action, String)> {
    match a {
        DmarcAction::None => None,
        DmarcAction::Quarantine => Some((Action::Junk, format!("dmarc fail for {from}: {why}"))),
        DmarcAction::Reject => Some((
            Action::Reject(Reply {
                code: 550,
                enhanced: "5.7.1",
                text: format!("Message rejected: DMARC policy of {from} (RFC 7489)"),
            }),
            format!("dmarc fail for {from}: {why}"),
        )),
    }
}

fn temperror(
    from: &str,
    s: &Settings<'_>,
    outcome: DmarcOutcome,
) -> (DmarcOutcome, Option<(Action, String)>) {
    match s.auth.dmarc_temperror {
        TempErrorAction::Accept => (outcome, None),
        TempErrorAction::Defer => {
            let mut o = outcome;
            o.disposition = "defer".into();
            let reply = Reply {
                code: 451,
                enhanced: "4.7.5",
                text: format!("DMARC of {from} could not be checked now, try again later"),
            };
            (
                o,
                Some((Action::Defer(reply), format!("dmarc temperror for {from}"))),
            )
        }
    }
}
