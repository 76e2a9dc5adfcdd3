//! Commands valid in any state (RFC 3501 §6.1) and the small extensions:
//! CAPABILITY, NOOP/CHECK, LOGOUT, ID (RFC 2971), ENABLE (RFC 5161),
//! NAMESPACE (RFC 2342).

use super::reply::Reply;
use super::Session;
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// Only what is implemented is advertised. Before TLS: STARTTLS and
    /// LOGINDISABLED (RFC 3501 §6.2.3); after TLS and before login: AUTH=PLAIN.
    pub(super) fn capabilities(&self) -> String {
        let mut caps = vec![
            "IMAP4rev1",
            "LITERAL-",
            "SASL-IR",
            "ID",
            "ENABLE",
            "IDLE",
            "NAMESPACE",
            "UNSELECT",
            "CHILDREN",
            "SPECIAL-USE",
            "BINARY",
            "UIDPLUS",
            "MOVE",
            "QUOTA",
            "QUOTA=RES-STORAGE",
        ];
        let appendlimit = format!("APPENDLIMIT={}", self.append_limit());
        caps.push(&appendlimit);
        if !self.conn.is_tls() {
            caps.extend(["STARTTLS", "LOGINDISABLED"]);
        } else if self.user.is_none() {
            caps.push("AUTH=PLAIN");
        }
        caps.join(" ")
    }

    pub(super) fn capability(&mut self) -> Reply {
        let caps = self.capabilities();
        self.untagged(&format!("CAPABILITY {caps}"));
        Reply::ok("CAPABILITY completed")
    }

    /// NOOP and CHECK: report what changed in the selected mailbox (RFC 3501 §6.1.2).
    pub(super) fn noop(&mut self) -> Reply {
        if let Err(r) = self.sync(true) {
            return r;
        }
        Reply::ok("NOOP completed")
    }

    pub(super) fn logout(&mut self) -> Reply {
        self.bye("Logging out");
        Reply::ok("LOGOUT completed")
    }

    /// RFC 2971: we say our name only (no version, nothing to fingerprint).
    pub(super) fn id(&mut self) -> Reply {
        self.untagged("ID (\"name\" \"Postern\")");
        Reply::ok("ID completed")
    }

    /// RFC 5161: nothing this server offers needs enabling yet; the answer
    /// lists none. Valid only in the authenticated state (§3.1).
    pub(super) fn enable(&mut self) -> Reply {
        if self.user.is_none() || self.selected.is_some() {
            return Reply::wrong_state();
        }
        self.untagged("ENABLED");
        Reply::ok("ENABLE completed")
    }

    /// RFC 2342: one personal namespace, no prefix, "/" as delimiter.
    pub(super) fn namespace(&mut self) -> Reply {
        if let Err(r) = self.need_auth() {
            return r;
        }
        self.untagged("NAMESPACE ((\"\" \"/\")) NIL NIL");
        Reply::ok("NAMESPACE completed")
    }
}
