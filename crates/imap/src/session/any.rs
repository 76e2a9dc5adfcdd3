//! Commands valid in any state (RFC 3501 §6.1) and the small extensions:
//! CAPABILITY, NOOP/CHECK, LOGOUT, ID (RFC 2971),
//! NAMESPACE (RFC 2342).

use super::reply::Reply;
use super::Session;
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// Only what is implemented is advertised. Before TLS: STARTTLS, and
    /// LOGINDISABLED unless the security policy allows passwords in the clear
    /// (RFC 3501 §6.2.3, policy.rs); before login: AUTH= for the offered
    /// mechanisms (auth.rs).
    pub(super) fn capabilities(&self) -> String {
        // RFC 7888: LITERAL+ once logged in (non-synchronising literals up to
        // the usual limits); before login, literals are tiny: LITERAL-.
        let literal = if self.user.is_some() {
            "LITERAL+"
        } else {
            "LITERAL-"
        };
        let mut caps = vec![
            "IMAP4rev1",
            // RFC 9051 §6.3.1: a rev1 session by default; ENABLE IMAP4rev2 switches.
            "IMAP4rev2",
            literal,
            "SASL-IR",
            "ID",
            "ENABLE",
            "IDLE",
            "NAMESPACE",
            "UNSELECT",
            "CHILDREN",
            "LIST-EXTENDED",
            "LIST-STATUS",
            "SPECIAL-USE",
            "BINARY",
            "CONDSTORE",
            "QRESYNC",
            "UIDPLUS",
            "MOVE",
            "QUOTA",
            "QUOTA=RES-STORAGE",
            "ESEARCH",
            "SEARCHRES",
            "STATUS=SIZE",
            "MULTIAPPEND",
            "UTF8=ACCEPT",
        ];
        let appendlimit = format!("APPENDLIMIT={}", self.append_limit());
        caps.push(&appendlimit);
        if !self.conn.is_tls() {
            caps.push("STARTTLS");
        }
        // RFC 9051 §6.2.3: LOGIN is disabled where the security policy wants
        // TLS, and where no plaintext mechanism is enabled (auth.rs).
        if !self.gate().plaintext_auth() || !self.ctx.config.borrow().auth.plaintext_login() {
            caps.push("LOGINDISABLED");
        }
        let auth = self.auth_capabilities();
        caps.extend(auth.iter().map(String::as_str));
        caps.join(" ")
    }

    pub(super) fn capability(&mut self) -> Reply {
        let caps = self.capabilities();
        self.untagged(&format!("CAPABILITY {caps}"));
        Reply::ok("CAPABILITY completed")
    }

    /// NOOP and CHECK: report what changed in the selected mailbox (RFC 3501 §6.1.2).
    pub(super) async fn noop(&mut self) -> Reply {
        if let Err(r) = self.sync(true).await {
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

    /// RFC 2342: one personal namespace, no prefix, "/" as delimiter.
    pub(super) fn namespace(&mut self) -> Reply {
        if let Err(r) = self.need_auth() {
            return r;
        }
        self.untagged("NAMESPACE ((\"\" \"/\")) NIL NIL");
        Reply::ok("NAMESPACE completed")
    }
}
