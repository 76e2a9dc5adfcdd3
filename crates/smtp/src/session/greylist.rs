//! Greylisting at RCPT (issue 16 item 3; crate::greylist decides): mail
//! from outside on port 25, unless the client is authenticated, in
//! `smtp.trusted_group`, in `greylist.exempt_group` or in `spam.ip_whitelist`.

use super::Session;
use crate::reply::{self, Reply};
use postern_filter::greylist::{Decision, Triplet};
use postern_store::counters::Counter;
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// Whether greylisting applies to this session.
    fn greylisted_session(&self) -> bool {
        let cfg = &self.cfg.greylist;
        cfg.enabled
            && self.checks_apply()
            && !self.in_group(&cfg.exempt_group)
            && !self.lists.whitelisted
    }

    /// Ok when the recipient may be taken now; the 451 4.7.1 otherwise (RFC
    /// 6647 §4), counted and logged in mail.log.
    pub(super) async fn greylist(&self, recipient: &str) -> Result<(), Reply> {
        if !self.greylisted_session() {
            return Ok(());
        }
        let sender = self.tx.as_ref().map(|t| t.sender.as_str()).unwrap_or("");
        let triplet = Triplet::new(self.peer.ip(), sender, recipient);
        let store = self.ctx.directory.clone();
        let clock = self.ctx.clock.clone();
        let policy = crate::greylist::policy(&self.cfg.greylist);
        let t = triplet.clone();
        let checked = tokio::task::spawn_blocking(move || {
            crate::greylist::check(&store, clock.as_ref(), &policy, &t)
        })
        .await;
        let r = match checked {
            Ok(Ok(Decision::Pass(_))) => return Ok(()),
            Ok(Ok(Decision::Defer(r, _))) => Reply::owned(r.code, r.enhanced, r.text),
            Ok(Err(e)) => {
                self.security_log("greylist-unavailable", &[("error", &e.to_string())]);
                return Err(reply::TEMP_FAILURE);
            }
            Err(_) => return Err(reply::TEMP_FAILURE),
        };
        self.ctx.counters.bump(Counter::Greylisted);
        let ip = self.client_ip();
        self.ctx.logs.mail(&[
            ("event", "greylisted"),
            ("service", self.kind.name()),
            ("client", &ip),
            ("network", &triplet.network),
            ("from", sender),
            ("to", recipient),
            ("result", &r.status()),
        ]);
        Err(r)
    }

    /// Whether the client is in the IP group `name` ("" is no group).
    pub(super) fn in_group(&self, name: &str) -> bool {
        !name.is_empty()
            && postern_net::security::current_connection()
                .is_some_and(|(sec, _, ip)| sec.in_group(name, ip))
    }
}
