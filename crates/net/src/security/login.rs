//! Failed logins and the blocks they lead to (SPEC X7). Every protocol ends
//! a failed login in [`crate::auth::after_failed_login`]; it finds the
//! listener and client address of its connection through a task-local set
//! by [`Ticket::serve`], so no protocol needs to carry the guard itself.

use super::{Security, Ticket};
use crate::bruteforce::{Event, Policy};
use crate::client_key::{client_key, ClientKey};
use postern_directory::ipgroups::Block;
use postern_directory::prelude::*;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

tokio::task_local! {
    static CONNECTION: Ticket;
}

/// The guard, listener name and client address of the connection this task
/// serves (`None` outside [`Ticket::serve`], e.g. in protocol unit tests).
pub fn current_connection() -> Option<(Arc<Security>, &'static str, IpAddr)> {
    CONNECTION
        .try_with(|t| (t.security.clone(), t.listener, t.ip))
        .ok()
}

impl Ticket {
    /// Runs a connection's session; the ticket is released when it ends.
    pub async fn serve<F: Future<Output = ()>>(self, session: F) {
        CONNECTION.scope(self, session).await
    }
}

/// Unix seconds as RFC 3339 UTC, for logs and the CLI.
pub fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}

impl Security {
    fn policy(&self) -> (Policy, String) {
        let config = self.config.borrow();
        let s = &config.security;
        let policy = Policy {
            threshold: s.login_failures,
            window: s.login_window.0.as_secs() as i64,
            block_for: s.block_for.0.as_secs() as i64,
        };
        (policy, s.exempt.clone())
    }

    /// Counts a failed login of `user` from `ip` on `listener`; true when the
    /// address is (now) blocked, so the session must end.
    pub async fn failed_login(&self, listener: &str, ip: IpAddr, user: &str) -> bool {
        crate::metrics::count(crate::metrics::Event::AuthFailure, 1);
        let ip = ip.to_canonical();
        let (policy, exempt) = self.policy();
        if policy.threshold == 0 {
            return false;
        }
        let exempt = !exempt.is_empty() && self.in_group(&exempt, ip);
        let now = self.clock.now();
        let events = self
            .tracker
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .failed(now, client_key(ip), user, exempt, &policy);
        for event in events {
            match event {
                Event::Block {
                    ip: key,
                    failures,
                    until,
                } => {
                    let block = Block {
                        ip: key.to_string(),
                        since: now,
                        until,
                        failures,
                        reason: format!("{failures} failed logins within {}s", policy.window),
                    };
                    self.block(listener, ("user", user), ip, key, block).await;
                }
                Event::AccountTargeted {
                    user,
                    failures,
                    ips,
                } => self.security_log(
                    "account-targeted",
                    listener,
                    ip,
                    &[
                        ("user", &user),
                        ("failures", &failures.to_string()),
                        ("addresses", &ips.to_string()),
                        ("reason", "failed logins from several addresses"),
                    ],
                ),
            }
        }
        self.blocked_until(ip).is_some()
    }

    /// Records a block of `key` (the client of `ip`) in the store and in
    /// memory, and logs it with `what` (the user, or the recipient) last tried.
    pub(super) async fn block(
        &self,
        listener: &str,
        what: (&str, &str),
        ip: IpAddr,
        key: ClientKey,
        block: Block,
    ) {
        let (until, failures, reason) = (block.until, block.failures, block.reason.clone());
        let _writes = self.writes.lock().await;
        if self
            .live
            .block_of(ip, self.clock.now())
            .is_some_and(|(later, _)| later >= until)
        {
            return; // a longer block (an admin's) stays as it is
        }
        let store = self.store.clone();
        let written = tokio::task::spawn_blocking(move || store.block_put(&block)).await;
        if !matches!(written, Ok(Ok(()))) {
            // Blocked in memory until the next refresh reads the store again.
            eprintln!("postern: could not record the block of {key} in the store");
        }
        self.live
            .add_block(key, until, super::live::BlockCause::of_reason(&reason));
        self.security_log(
            "blocked",
            listener,
            ip,
            &[
                what,
                ("failures", &failures.to_string()),
                ("until", &rfc3339(until)),
                ("reason", &reason),
                ("blocked", &key.to_string()),
            ],
        );
    }
}
