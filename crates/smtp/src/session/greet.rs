//! The greeting (with the early-talker check) and EHLO/HELO.

use super::{Flow, Kind, Session};
use crate::reply::Reply;
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// Sends the 220 greeting, on port 25 after the configured delay. A
    /// client that talks before the greeting is not a real MTA (RFC 5321
    /// §4.3.1): it is refused. Mail clients on the other ports, and clients
    /// in `smtp.greeting_delay_exempt`, are greeted at once.
    pub(super) async fn greet(&mut self) -> Flow {
        // SPEC P1: blacklisted clients refused, DNSBL lookups started (lists.rs).
        if let Err(r) = self.start_client_lists() {
            self.send(&r);
            return Flow::Close;
        }
        let delay = match self.kind {
            Kind::Mx if !self.in_group(&self.cfg.smtp.greeting_delay_exempt) => {
                self.cfg.smtp.greeting_delay.0
            }
            Kind::Mx | Kind::Submission | Kind::Smtps | Kind::Fetch => std::time::Duration::ZERO,
        };
        if !delay.is_zero() {
            match tokio::time::timeout(delay, self.conn.fill()).await {
                Err(_) => {}
                Ok(Ok(true)) => {
                    self.security_log(
                        "early-talker",
                        &[("reason", "client talked before the greeting")],
                    );
                    let text = format!(
                        "{} Talking before the greeting is not allowed",
                        self.cfg.server.hostname
                    );
                    self.conn.discard_buffered();
                    self.send(&Reply::owned(554, "5.7.1", text));
                    return Flow::Close;
                }
                Ok(_) => return Flow::Close,
            }
        }
        if let Err(r) = self.client_lists_at_connect().await {
            self.send(&r);
            return Flow::Close;
        }
        let text = format!("{} ESMTP Postern", self.cfg.server.hostname);
        self.send(&Reply::owned(220, "", text));
        Flow::Continue
    }

    /// EHLO/HELO: resets any transaction (RFC 5321 §4.1.4) and lists extensions.
    pub(super) fn ehlo(&mut self, host: String, extended: bool) -> Flow {
        if let Err(r) = self.check_helo(&host) {
            return self.error(r);
        }
        self.tx = None;
        self.helo = Some(host);
        self.esmtp = extended;
        let hostname = self.cfg.server.hostname.clone();
        if !extended {
            return self.reply(Reply::owned(250, "", hostname));
        }
        let mut lines = vec![
            hostname,
            "PIPELINING".into(),
            format!("SIZE {}", self.cfg.smtp.max_message_size.0),
            "8BITMIME".into(),
            "SMTPUTF8".into(),
            "CHUNKING".into(),
            "ENHANCEDSTATUSCODES".into(),
            "DSN".into(),
        ];
        if !self.conn.is_tls() && self.ctx.tls.is_some() {
            lines.push("STARTTLS".into());
        }
        // Enabled mechanisms the security policy allows now, never on the MX port (auth.rs).
        let mechanisms = self.offered_mechanisms();
        if !mechanisms.is_empty() {
            let names: Vec<&str> = mechanisms.iter().map(|m| m.name()).collect();
            lines.push(format!("AUTH {}", names.join(" ")));
        }
        self.reply(Reply::owned(250, "", lines.join("\n")))
    }
}
