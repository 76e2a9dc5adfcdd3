//! `[imap]`: limits on IMAP sessions that hold server resources — how long a
//! connection may stay without logging in, and how many sessions one user
//! may keep open from one client address (Dovecot's
//! mail_max_userip_connections, also 10 by default).

use crate::Duration;
use serde::{Deserialize, Serialize};

/// Time a connection gets to log in before it is closed. The 30-minute
/// autologout of RFC 9051 §5.4 is for logged-in clients; before login a
/// minute is plenty for any real client and stops idle sockets piling up.
pub const DEFAULT_LOGIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Logged-in IMAP sessions of one user from one address at once.
pub const DEFAULT_MAX_PER_USER_IP: u32 = 10;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Imap {
    /// A connection that has not logged in within this time gets `* BYE`.
    pub login_timeout: Duration,
    /// Sessions of one user from one client address (an IPv6 client counts
    /// as its /64); a login past it gets `NO [LIMIT]` (0: no limit).
    pub max_per_user_ip: u32,
}

impl Default for Imap {
    fn default() -> Self {
        Imap {
            login_timeout: Duration(DEFAULT_LOGIN_TIMEOUT),
            max_per_user_ip: DEFAULT_MAX_PER_USER_IP,
        }
    }
}

impl Imap {
    pub fn validate(&self) -> Result<(), String> {
        if self.login_timeout.0.is_zero() {
            return Err("imap.login_timeout: must be longer than zero".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::Config;

    #[test]
    fn defaults_and_overrides() {
        let c = Config::default();
        assert_eq!(c.imap.login_timeout.0.as_secs(), 60);
        assert_eq!(c.imap.max_per_user_ip, 10);
        let c = Config::parse("[imap]\nlogin_timeout = \"5s\"\nmax_per_user_ip = 0\n").unwrap();
        assert_eq!(c.imap.login_timeout.0.as_secs(), 5);
        assert_eq!(c.imap.max_per_user_ip, 0);
        let e = Config::parse("[imap]\nlogin_timeout = \"0s\"\n").unwrap_err();
        assert!(e.contains("imap.login_timeout"), "{e}");
    }
}
