//! Limits on what a session may hold (issue 13 item 5): the pre-login
//! timeout (`imap.login_timeout`) and the per-user-per-address session cap
//! (`imap.max_per_user_ip`).

use super::reply::Reply;
use super::Session;
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// How long the next command may take to arrive: the autologout timer
    /// after login (RFC 9051 §5.4), `imap.login_timeout` before it.
    pub(super) fn inactivity_limit(&self) -> std::time::Duration {
        if self.user.is_some() {
            return self.ctx.idle_timeout;
        }
        let login = self.ctx.config.borrow().imap.login_timeout.0;
        login.min(self.ctx.idle_timeout)
    }

    /// A connection that never logged in: said goodbye to and logged.
    pub(super) fn login_timed_out(&mut self) {
        let secs = self.inactivity_limit().as_secs().to_string();
        self.security_log(
            "login-timeout",
            &[("seconds", &secs), ("reason", "no login in time")],
        );
        self.bye("Autologout; no login in time");
    }

    /// Takes this session's place among the user's sessions from this
    /// address; the refusal when the user has `imap.max_per_user_ip` of them.
    pub(super) fn count_user_ip(
        &mut self,
        user: &postern_directory::UserInfo,
    ) -> Result<(), Reply> {
        let limit = self.ctx.config.borrow().imap.max_per_user_ip;
        let ip = self.peer.ip();
        match self.ctx.user_ips.take(user.id, ip, limit) {
            Some(slot) => {
                self.user_ip = Some(slot);
                Ok(())
            }
            None => {
                let n = limit.to_string();
                self.security_log(
                    "user-ip-limit",
                    &[
                        ("user", &user.address),
                        ("limit", &n),
                        ("reason", "too many sessions of this user from this address"),
                    ],
                );
                // RFC 5530 §3: LIMIT, an operation refused over a server limit.
                Err(Reply::no("Maximum number of connections from user+IP exceeded").code("LIMIT"))
            }
        }
    }
}
