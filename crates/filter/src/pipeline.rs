//! The pipeline: the stages in order over one context, within one deadline,
//! then one Verdict. A stage that runs out of time leaves a temperror.

use crate::context::Context;
use crate::dns::Lookups;
use crate::results::{ArcOutcome, AuthResult, DkimOutcome, DmarcOutcome, SpfOutcome};
use crate::verdict::{Action, Verdict};
use postern_config::{Auth, TempErrorAction};

/// What the pipeline reads from the configuration.
pub struct Settings<'a> {
    pub auth: &'a Auth,
    /// server.hostname: the authserv-id unless auth.authserv_id is set.
    pub hostname: &'a str,
}

impl Settings<'_> {
    pub fn authserv_id(&self) -> &str {
        if self.auth.authserv_id.is_empty() {
            self.hostname
        } else {
            &self.auth.authserv_id
        }
    }
}

/// One step of the pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Spf,
    Dkim,
    Arc,
    Dmarc,
}

/// In order: DMARC reads what SPF, DKIM and ARC found.
pub const STAGES: [Stage; 4] = [Stage::Spf, Stage::Dkim, Stage::Arc, Stage::Dmarc];

impl Stage {
    fn enabled(self, a: &Auth) -> bool {
        match self {
            Stage::Spf => a.spf,
            Stage::Dkim => a.dkim,
            Stage::Arc => a.arc,
            Stage::Dmarc => a.dmarc,
        }
    }

    /// Runs the stage; Some when it decides what happens to the message.
    async fn run(
        self,
        ctx: &mut Context<'_>,
        lookups: &Lookups,
        s: &Settings<'_>,
    ) -> Option<(Action, String)> {
        match self {
            Stage::Spf if ctx.results.spf.is_none() => {
                let c = &ctx.client;
                let spf =
                    crate::spf::check_spf(lookups, c.ip, &c.helo, &ctx.mail_from, s.hostname).await;
                ctx.results.spf = Some(spf);
            }
            Stage::Spf => {}
            Stage::Dkim => crate::dkim::run(ctx, lookups).await,
            Stage::Arc => crate::arc::run(ctx, lookups).await,
            Stage::Dmarc => return crate::dmarc::run(ctx, lookups, s).await,
        }
        None
    }

    /// The stage did not finish in time: what it leaves instead.
    fn timed_out(self, ctx: &mut Context<'_>, s: &Settings<'_>) -> Option<(Action, String)> {
        let from = ctx.from_domains().into_iter().next().unwrap_or_default();
        let r = &mut ctx.results;
        match self {
            Stage::Spf => {
                r.spf = Some(SpfOutcome {
                    helo: AuthResult::TempError,
                    helo_name: ctx.client.helo.clone(),
                    mail_from: AuthResult::TempError,
                    mail_from_identity: ctx.mail_from.clone(),
                    mail_from_domain: ctx
                        .mail_from
                        .rsplit_once('@')
                        .map(|(_, d)| d.to_ascii_lowercase())
                        .unwrap_or_default(),
                })
            }
            Stage::Dkim => r.dkim.push(DkimOutcome {
                result: AuthResult::TempError,
                domain: String::new(),
                selector: String::new(),
                reason: Some("timed out".into()),
            }),
            Stage::Arc => {
                r.arc = Some(ArcOutcome {
                    result: AuthResult::TempError,
                    sealer: None,
                    sealer_saw_dmarc_pass: false,
                })
            }
            Stage::Dmarc => {
                r.dmarc = Some(DmarcOutcome {
                    result: AuthResult::TempError,
                    from_domain: from.clone(),
                    policy: "none",
                    disposition: "none".into(),
                });
                if s.auth.dmarc_temperror == TempErrorAction::Defer {
                    return defer(&from, ctx);
                }
            }
        }
        None
    }
}

fn defer(from: &str, ctx: &mut Context<'_>) -> Option<(Action, String)> {
    if let Some(d) = ctx.results.dmarc.as_mut() {
        d.disposition = "defer".into();
    }
    let reply = crate::verdict::Reply {
        code: 451,
        enhanced: "4.7.5",
        text: format!("DMARC of {from} could not be checked now, try again later"),
    };
    Some((Action::Defer(reply), format!("dmarc temperror for {from}")))
}

/// The message's verdict. Exempt clients (authenticated, trusted) are not
/// checked and get no Authentication-Results, but forged ones still go;
/// with every check switched off there is no header either.
pub async fn verdict(ctx: &mut Context<'_>, lookups: &Lookups, s: &Settings<'_>) -> Verdict {
    let deadline = tokio::time::Instant::now() + s.auth.check_timeout.0;
    let mut decided: Option<(Action, String)> = None;
    if !ctx.client.exempt {
        for stage in STAGES.into_iter().filter(|st| st.enabled(s.auth)) {
            let ran = tokio::time::timeout_at(deadline, stage.run(ctx, lookups, s)).await;
            let d = match ran {
                Ok(d) => d,
                Err(_) => stage.timed_out(ctx, s),
            };
            decided = decided.or(d);
        }
    }
    let id = s.authserv_id();
    let checked = STAGES.iter().any(|st| st.enabled(s.auth));
    let add_headers = if ctx.client.exempt || !checked {
        String::new()
    } else {
        crate::header::render(id, &ctx.results)
    };
    let (action, reason) = match decided {
        Some((a, why)) => (a, Some(why)),
        None => (Action::Accept, None),
    };
    Verdict {
        action,
        add_headers,
        remove: crate::header::own_headers(ctx, id),
        results: std::mem::take(&mut ctx.results),
        reason,
    }
}

#[cfg(test)]
pub(crate) mod tests;
