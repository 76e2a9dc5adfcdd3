//! DNS lists and white/blacklists in the session (SPEC P1, issue 16 item 1),
//! for mail from outside only (port 25, not authenticated, not trusted):
//! - at connect: a client in `spam.ip_blacklist` is refused 554 5.7.1
//!   instead of the greeting; one in `spam.ip_whitelist` is exempt from the
//!   rest; the `[[spam.dnsbl]]` lookups start in the background, awaited
//!   (within `spam.dnsbl_timeout`) before the greeting only when a list
//!   blocks at connect, else at the first RCPT;
//! - at MAIL FROM: a sender on the server-wide blacklist is refused 554 5.7.1;
//!   a whitelisted one counts only if SPF did not fail (the envelope sender
//!   is easily forged), checked there and then;
//! - at RCPT: a recipient whose users all blacklist the sender is refused
//!   550 5.7.1; a DNSBL `block` refuses 554 5.7.1 naming the list, unless the
//!   sender is whitelisted (server-wide or by the recipient) or the
//!   recipient is a postmaster;
//! - at the end of DATA (verdict.rs): `score` listings and URIBLs add points,
//!   a URIBL `block` refuses 554 5.7.1, whitelisted mail is not scored.

use super::{Session, Transaction};
use crate::reply::Reply;
use postern_config::ListWhen;
use postern_filter::dnsbl::{check_client, check_domains, Hit, Listing};
use postern_filter::{AuthResult, Results, SpfOutcome};
use postern_spam::Test;
use postern_store::counters::Counter;
use postern_store::{SenderListed, UserId};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::OnceCell;
use tokio::task::JoinHandle;

/// The client's DNSBL listing: looked up once per connection.
#[derive(Default)]
pub(super) struct ClientLists {
    /// The client is in `spam.ip_whitelist`.
    pub whitelisted: bool,
    pending: Mutex<Option<JoinHandle<Listing>>>,
    done: OnceCell<Arc<Listing>>,
}

/// A session that ends before its listing was needed stops its lookups.
impl Drop for ClientLists {
    fn drop(&mut self) {
        if let Some(task) = self.pending.get_mut().ok().and_then(Option::take) {
            task.abort();
        }
    }
}

/// What the sender lists say about a transaction's sender.
#[derive(Clone, Debug, Default)]
pub(super) struct SenderState {
    pub listed: SenderListed,
    /// SPF did not fail for the sender: its whitelisting counts.
    pub white_ok: bool,
}

impl SenderState {
    /// Whitelisted for mail to `users` (server-wide, or by every one of them).
    fn whitelisted_for(&self, users: &[UserId]) -> bool {
        let l = &self.listed;
        self.white_ok
            && (l.white || (!users.is_empty() && users.iter().all(|u| l.white_users.contains(u))))
    }
}

fn refusal(code: u16, text: String) -> Reply {
    Reply::owned(code, "5.7.1", text)
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// Whether the lists apply: mail from outside (verdict.rs's `checks_apply`).
    fn lists_apply(&self) -> bool {
        self.checks_apply()
    }

    fn in_ip_group(&self, group: &str) -> bool {
        let ip = self.peer.ip().to_canonical();
        !group.is_empty()
            && postern_net::security::current_connection()
                .is_some_and(|(sec, _, _)| sec.in_group(group, ip))
    }

    /// At connect: the IP blacklist's refusal, else the DNSBL lookups started.
    pub(super) fn start_client_lists(&mut self) -> Result<(), Reply> {
        if !self.lists_apply() {
            return Ok(());
        }
        let ip = self.client_ip();
        if self.in_ip_group(&self.cfg.spam.ip_blacklist) {
            let group = self.cfg.spam.ip_blacklist.clone();
            self.security_log("ip-blacklisted", &[("group", &group)]);
            let r = refusal(554, format!("Client address {ip} is blacklisted"));
            self.log_list_refused("", "", &r, None);
            return Err(r);
        }
        if self.in_ip_group(&self.cfg.spam.ip_whitelist) {
            self.lists.whitelisted = true;
            return Ok(());
        }
        let lists = self.cfg.spam.dnsbl.clone();
        if lists.is_empty() {
            return Ok(());
        }
        let lookups = match self.lookups() {
            Ok(l) => l,
            Err(_) => return Ok(()),
        };
        let (peer, timeout) = (self.peer.ip().to_canonical(), self.cfg.spam.dnsbl_timeout.0);
        let task = tokio::spawn(async move { check_client(&lookups, peer, &lists, timeout).await });
        if let Ok(pending) = self.lists.pending.get_mut() {
            *pending = Some(task);
        }
        Ok(())
    }

    /// Before the greeting: a DNSBL that blocks at connect and lists the client.
    pub(super) async fn client_lists_at_connect(&self) -> Result<(), Reply> {
        let connect_block =
            self.cfg.spam.dnsbl.iter().any(|l| {
                l.when == ListWhen::Connect && l.action == postern_config::ListAction::Block
            });
        if !connect_block || !self.lists_apply() {
            return Ok(());
        }
        let listing = self.client_listing().await;
        match listing.block(Some(ListWhen::Connect)) {
            Some(hit) => Err(self.dnsbl_refusal(hit, "", "")),
            None => Ok(()),
        }
    }

    /// The client's listing, awaited once (each lookup has its deadline)
    /// and logged then: every listing and every list that did not answer.
    pub(super) async fn client_listing(&self) -> Arc<Listing> {
        let got = self.lists.done.get_or_init(|| async {
            let task = self.lists.pending.lock().ok().and_then(|mut p| p.take());
            let listing = match task {
                Some(t) => t.await.unwrap_or_default(),
                None => Listing::default(),
            };
            for h in &listing.hits {
                let (answer, action) = (
                    h.answer.to_string(),
                    format!("{:?}", h.action).to_lowercase(),
                );
                self.security_log(
                    "dnsbl-listed",
                    &[("zone", &h.zone), ("answer", &answer), ("action", &action)],
                );
            }
            for (zone, why) in &listing.unanswered {
                self.security_log("dnsbl-unanswered", &[("zone", zone), ("error", why)]);
            }
            Arc::new(listing)
        });
        got.await.clone()
    }

    /// The 554 5.7.1 naming the list (with its TXT reason), logged.
    fn dnsbl_refusal(&self, hit: &Hit, from: &str, to: &str) -> Reply {
        let (ip, answer) = (self.client_ip(), hit.answer.to_string());
        let reason = hit.reason.as_deref().unwrap_or("");
        let fields = [
            ("zone", hit.zone.as_str()),
            ("answer", &answer),
            ("from", from),
            ("to", to),
            ("reason", reason),
        ];
        self.security_log("dnsbl-rejected", &fields);
        let text = format!("Client address {ip} is listed by {}", hit.zone);
        let r = match &hit.reason {
            Some(why) => refusal(554, format!("{text}: {why}")),
            None => refusal(554, text),
        };
        self.log_list_refused(from, to, &r, Some(&hit.zone));
        r
    }

    /// At MAIL FROM: the server-wide blacklist's refusal, or where the
    /// sender is listed (with SPF checked now when a whitelist names it).
    pub(super) async fn sender_lists(
        &self,
        sender: &str,
        spf: Option<SpfOutcome>,
    ) -> Result<(SenderState, Option<SpfOutcome>), Reply> {
        if !self.lists_apply() || sender.is_empty() {
            return Ok((SenderState::default(), spf));
        }
        let store = self.ctx.directory.clone();
        let s = sender.to_string();
        let found = tokio::task::spawn_blocking(move || store.sender_listed(&s)).await;
        let Ok(Ok(listed)) = found else {
            return Err(crate::reply::TEMP_FAILURE);
        };
        if listed.black {
            self.security_log(
                "sender-blacklisted",
                &[("from", sender), ("scope", "server")],
            );
            let r = refusal(554, format!("Sender {sender} is blacklisted"));
            self.log_list_refused(sender, "", &r, None);
            return Err(r);
        }
        let mut spf = spf;
        if (listed.white || !listed.white_users.is_empty()) && spf.is_none() {
            spf = self.spf_now(sender).await;
        }
        // RFC 7208 §8.4: a fail says the sender is forged; softfail is let through.
        let white_ok = spf.as_ref().is_none_or(|o| o.mail_from != AuthResult::Fail);
        Ok((SenderState { listed, white_ok }, spf))
    }

    /// The mail.log line of a list's refusal, `dnsbl=ZONE` when a DNSBL refused.
    fn log_list_refused(&self, from: &str, to: &str, r: &Reply, zone: Option<&str>) {
        let (ip, status) = (self.client_ip(), r.status());
        let mut fields = vec![
            ("event", "refused"),
            ("service", self.kind.name()),
            ("client", ip.as_str()),
            ("from", from),
            ("to", to),
            ("result", status.as_str()),
        ];
        fields.extend(zone.map(|z| ("dnsbl", z)));
        self.ctx.logs.mail(&fields);
        // Issue 16 item 8: the console's counts.
        self.ctx.counters.bump(match zone {
            Some(_) => Counter::DnsblBlocked,
            None => Counter::Blacklisted,
        });
    }

    /// At RCPT, for a recipient reaching the local `users`: the recipient's
    /// blacklist, then a DNSBL block unless the sender is whitelisted.
    pub(super) async fn rcpt_lists(&self, to: &str, users: &[UserId]) -> Result<(), Reply> {
        let Some(tx) = self.tx.as_ref() else {
            return Ok(());
        };
        if !self.lists_apply() {
            return Ok(());
        }
        let state = &tx.lists;
        let black = &state.listed.black_users;
        if !users.is_empty() && users.iter().all(|u| black.contains(u)) {
            self.security_log(
                "sender-blacklisted",
                &[("from", &tx.sender), ("to", to), ("scope", "user")],
            );
            let r = refusal(
                550,
                format!("Sender {} is blacklisted by the recipient", tx.sender),
            );
            self.log_list_refused(&tx.sender, to, &r, None);
            return Err(r);
        }
        if self.lists.whitelisted || self.cfg.spam.dnsbl.is_empty() {
            return Ok(());
        }
        let listing = self.client_listing().await;
        let Some(hit) = listing.block(Some(ListWhen::Rcpt)) else {
            return Ok(());
        };
        let postmaster = to
            .split('@')
            .next()
            .is_some_and(|l| l.eq_ignore_ascii_case("postmaster"));
        if state.whitelisted_for(users) || postmaster {
            let why = if postmaster {
                "postmaster"
            } else {
                "sender whitelisted"
            };
            self.security_log(
                "dnsbl-exempt",
                &[
                    ("zone", &hit.zone),
                    ("from", &tx.sender),
                    ("to", to),
                    ("reason", why),
                ],
            );
            return Ok(());
        }
        Err(self.dnsbl_refusal(hit, &tx.sender, to))
    }

    /// Whether the message is exempt from scoring: the client is
    /// IP-whitelisted, or the sender is whitelisted (for all its local
    /// recipients) and neither SPF nor DMARC failed.
    pub(super) fn list_exempt(&self, tx: &Transaction, results: &Results) -> bool {
        let users: Vec<UserId> = tx.local.iter().copied().collect();
        let dmarc_fail = results
            .dmarc
            .as_ref()
            .is_some_and(|d| d.result == AuthResult::Fail);
        let spf_fail = results
            .spf
            .as_ref()
            .is_some_and(|s| s.mail_from == AuthResult::Fail);
        self.lists.whitelisted || (tx.lists.whitelisted_for(&users) && !dmarc_fail && !spf_fail)
    }

    /// At the end of DATA, for mail from outside that is not whitelisted:
    /// the DNSBL and URIBL `score` tests, a URIBL block's refusal, and the
    /// mail.log fields (`dnsbl=`, `uribl=`).
    pub(super) async fn message_lists(
        &self,
        raw: &[u8],
        log: &mut Vec<(&'static str, String)>,
    ) -> (Vec<Test>, Option<(Reply, String)>) {
        let mut tests = Vec::new();
        if !self.lists_apply() || self.lists.whitelisted {
            return (tests, None);
        }
        if !self.cfg.spam.dnsbl.is_empty() {
            let client = self.client_listing().await;
            if !client.hits.is_empty() {
                log.push(("dnsbl", client.zones()));
            }
            tests.extend(client.tests("DNSBL"));
        }
        let uribl = &self.cfg.spam.uribl;
        if uribl.is_empty() {
            return (tests, None);
        }
        let domains = postern_filter::links::link_domains(raw);
        let Ok(lookups) = self.lookups() else {
            return (tests, None);
        };
        let listing = check_domains(&lookups, &domains, uribl, self.cfg.spam.dnsbl_timeout.0).await;
        for h in &listing.hits {
            let action = format!("{:?}", h.action).to_lowercase();
            self.security_log(
                "uribl-listed",
                &[("zone", &h.zone), ("domain", &h.item), ("action", &action)],
            );
        }
        for (zone, why) in &listing.unanswered {
            self.security_log("uribl-unanswered", &[("zone", zone), ("error", why)]);
        }
        if !listing.hits.is_empty() {
            log.push(("uribl", listing.zones()));
        }
        tests.extend(listing.tests("URIBL"));
        let block = listing.block(None).map(|h| {
            let text = format!("Message links to {} listed by {}", h.item, h.zone);
            (
                refusal(554, text),
                format!("uribl {} lists {}", h.zone, h.item),
            )
        });
        (tests, block)
    }
}
