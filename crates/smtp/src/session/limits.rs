//! Session limits of SPEC X3 that are not about size: messages per hour per
//! client IP and per user (452 4.7.0 at MAIL), unknown recipients per session
//! (421 4.7.0 and close: directory harvesting; across sessions see
//! postern_net::security::harvest), and optional HELO checks.
//! Limits answer 4xx, never 5xx: a legitimate sender retries later.

use super::{Flow, Session};
use crate::reply::{self, Reply};
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    fn rate_keys(&self) -> Vec<(String, u32)> {
        // Per client: an IPv4 address or an IPv6 /64 (issue 6).
        let mut keys = vec![(
            format!("ip:{}", postern_net::client_key(self.peer.ip())),
            self.cfg.smtp.max_messages_per_hour_ip,
        )];
        if let Some(u) = &self.auth {
            keys.push((
                format!("user:{}", u.address.to_lowercase()),
                self.cfg.smtp.max_messages_per_hour_user,
            ));
        }
        keys
    }

    /// At MAIL: refuses when the client or user has sent their hourly allowance.
    pub(super) fn check_rate(&self) -> Result<(), Reply> {
        let now = unix_now();
        for (key, max) in self.rate_keys() {
            if !self.ctx.limits.allows(&key, max, now) {
                self.security_log(
                    "rate-limited",
                    &[
                        ("user", self.auth_name()),
                        ("key", &key),
                        ("limit", &max.to_string()),
                    ],
                );
                return Err(reply::RATE_LIMITED);
            }
        }
        Ok(())
    }

    /// After a message was accepted.
    pub(super) fn count_message(&self) {
        let now = unix_now();
        for (key, _) in self.rate_keys() {
            self.ctx.limits.record(&key, now);
        }
    }

    /// After a 550 5.1.1 for `to`: counted for the client across sessions
    /// (postern_net::security::harvest: slowed, then blocked); past the
    /// session's own limit, or once blocked, the session ends.
    pub(super) async fn unknown_recipient(&mut self, r: Reply, to: &str) -> Flow {
        self.unknown_recipients += 1;
        let blocked = postern_net::security::harvest::after_unknown_recipient(to).await;
        let max = self.cfg.smtp.max_unknown_recipients;
        if !blocked && (max == 0 || self.unknown_recipients <= max) {
            return self.error(r);
        }
        self.send(&r);
        self.security_log(
            "unknown-recipients",
            &[("count", &self.unknown_recipients.to_string())],
        );
        let text = format!(
            "{} Too many unknown recipients, closing connection",
            self.cfg.server.hostname
        );
        self.send(&Reply::owned(421, "4.7.0", text));
        Flow::Close
    }

    /// With smtp.helo_checks: the name must be a fully qualified domain or an
    /// address literal (RFC 5321 §4.1.1.1, §4.1.3).
    pub(super) fn check_helo(&self, name: &str) -> Result<(), Reply> {
        if !self.cfg.smtp.helo_checks || valid_helo(name) {
            return Ok(());
        }
        self.security_log("helo-refused", &[("helo", name)]);
        Err(reply::BAD_HELO)
    }
}

pub(super) fn valid_helo(name: &str) -> bool {
    if let Some(inner) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        let ip = inner.strip_prefix("IPv6:").unwrap_or(inner);
        return ip.parse::<std::net::IpAddr>().is_ok();
    }
    let labels: Vec<&str> = name.trim_end_matches('.').split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && !labels
            .last()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    #[test]
    fn helo_names() {
        for ok in [
            "mail.example.org",
            "mx1.example.co.uk.",
            "[192.0.2.1]",
            "[IPv6:2001:db8::1]",
        ] {
            assert!(super::valid_helo(ok), "{ok}");
        }
        for bad in [
            "localhost",
            "example",
            "1.2.3.4",
            "-bad.example",
            "a..b",
            "[300.1.1.1]",
            "bad_name.example",
            "",
        ] {
            assert!(!super::valid_helo(bad), "{bad}");
        }
    }
}
