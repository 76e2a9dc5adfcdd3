//! POP3 download (SPEC M7, issue 21 item 5): the server fetches each remote
//! account on its schedule (schedule.rs) with the POP3 client
//! (postern_pop3::client) and delivers every message through its own SMTP
//! session (deliver.rs), to the account's owner or, in domain-mailbox mode,
//! to the local users the message names (sort.rs) else the fallback.
//! Each run is a `fetch` line in mail.log and its result is kept with the
//! account (`postern fetch list`).

mod deliver;
pub mod schedule;
mod sort;

use postern_config::Config;
use postern_directory::prelude::*;
use postern_logs::Logs;
use postern_pop3::client::{self, Delivered, Policy, Sink, Tls};
use postern_store::fetch_accounts::{FetchAccount, FetchTls};
use postern_store::Store;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::watch;

const DAY: i64 = 86_400;

/// What a run needs: the store, the SMTP context local delivery goes
/// through, the config, the clock and the logs.
pub struct Fetcher {
    pub store: Store,
    pub smtp: Arc<postern_smtp::Context>,
    pub config: watch::Receiver<Arc<Config>>,
    pub clock: Arc<dyn postern_net::clock::Clock>,
    pub logs: Logs,
    /// True once the server stops: runs end after the message in hand.
    pub shutdown: watch::Receiver<bool>,
}

/// Delivers into the local server and records UIDLs in the store.
struct Local<'a> {
    f: &'a Fetcher,
    account: &'a FetchAccount,
    now: i64,
}

impl Local<'_> {
    /// Where a message goes: the owner; in domain-mailbox mode the local
    /// addresses it names, then the fallback.
    async fn choices(&self, message: &[u8]) -> Vec<Vec<String>> {
        let Some(fallback) = &self.account.fallback else {
            return vec![vec![self.account.owner.clone()]];
        };
        let named = sort::recipients(message);
        let store = self.f.store.clone();
        let local = tokio::task::spawn_blocking(move || {
            named
                .into_iter()
                .filter(|a| {
                    let domain = a.rsplit_once('@').map_or("", |(_, d)| d);
                    store.is_local_domain(domain).unwrap_or(false)
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
        vec![local, vec![fallback.clone()]]
    }

    async fn blocking<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Store) -> Result<T, postern_store::StoreError> + Send + 'static,
    ) -> Result<T, String> {
        let store = self.f.store.clone();
        match tokio::task::spawn_blocking(move || job(&store)).await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }
}

impl Sink for Local<'_> {
    fn stopping(&self) -> bool {
        *self.f.shutdown.borrow()
    }

    async fn deliver(&mut self, message: &[u8]) -> Delivered {
        let choices = self.choices(message).await;
        let sender = deliver::return_path(message);
        let helo = self.account.host.clone();
        let ctx = self.f.smtp.clone();
        match deliver::deliver(ctx, &helo, &sender, &choices, message).await {
            Ok(deliver::Outcome::Delivered(_)) => Delivered::Yes,
            Ok(deliver::Outcome::Refused(why)) => Delivered::Refused(why),
            Err(why) => Delivered::Failed(why),
        }
    }

    async fn mark_seen(&mut self, uidl: &str) -> Result<(), String> {
        let (id, uidl, now) = (self.account.id, uidl.to_string(), self.now);
        self.blocking(move |s| s.fetch_mark_seen(id, &uidl, now))
            .await
    }

    async fn forget(&mut self, uidls: &[String]) -> Result<(), String> {
        if uidls.is_empty() {
            return Ok(());
        }
        let (id, uidls) = (self.account.id, uidls.to_vec());
        self.blocking(move |s| s.fetch_forget(id, &uidls)).await
    }
}

fn tls(t: FetchTls) -> Tls {
    match t {
        FetchTls::Implicit => Tls::Implicit,
        FetchTls::Starttls => Tls::Starttls,
        FetchTls::None => Tls::None,
    }
}

impl Fetcher {
    /// One run of one account: its result line (also in mail.log).
    pub async fn run(&self, a: &FetchAccount) -> String {
        let result = match self.try_run(a).await {
            Ok(summary) => summary.to_string(),
            Err(e) => format!("failed: {e}"),
        };
        let id = a.id.to_string();
        let server = format!("{}:{}", a.host, a.port);
        self.logs.mail(&[
            ("event", "fetch"),
            ("account", &id),
            ("user", &a.owner),
            ("server", &server),
            ("result", &result),
        ]);
        result
    }

    async fn try_run(&self, a: &FetchAccount) -> Result<client::Summary, String> {
        let cfg = self.config.borrow().clone();
        let store = self.store.clone();
        let a2 = a.clone();
        let (password, seen) = tokio::task::spawn_blocking(move || {
            Ok::<_, postern_store::StoreError>((
                store.fetch_password(&a2)?,
                store.fetch_seen(a2.id)?,
            ))
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
        let password = String::from_utf8(password.expose().clone())
            .map_err(|_| "the stored password is not UTF-8".to_string())?;
        let account = client::Account {
            host: a.host.clone(),
            port: a.port,
            tls: tls(a.tls),
            verify: a.tls_verify,
            ca_file: a.ca_file.clone().map(Into::into),
            user: a.username.clone(),
            password: postern_sasl::Secret::new(password),
            apop: a.apop,
        };
        let now = self.clock.now();
        let policy = Policy {
            keep: a.keep,
            delete_after_secs: a.delete_after_days.map(|d| i64::from(d) * DAY),
            now,
            max_message: (client::MAX_MESSAGE as u64).min(cfg.smtp.max_message_size.0),
        };
        let seen: HashMap<String, i64> = seen.into_iter().collect();
        let mut sink = Local {
            f: self,
            account: a,
            now,
        };
        client::fetch(&account, &seen, policy, &mut sink)
            .await
            .map_err(|e| e.to_string())
    }
}
