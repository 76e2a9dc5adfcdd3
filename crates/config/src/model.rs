//! The typed configuration and its defaults. Every field here is a documented
//! key of `postern.toml` (see `template.rs`).

use crate::units::{Duration, Size};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: Server,
    pub listeners: Listeners,
    pub tls: Tls,
    pub smtp: Smtp,
    pub imap: crate::imap::Imap,
    pub dns: Dns,
    pub delivery: crate::delivery::Delivery,
    pub auth: crate::auth::Auth,
    pub access: crate::access::Access,
    pub security: crate::login_guard::Security,
    pub spam: crate::spam::Spam,
    pub greylist: crate::greylist::Greylist,
    pub av: crate::av::Av,
    pub backup: crate::backup::Backup,
    pub fetch: crate::fetch::Fetch,
    pub attachment: crate::attachment::Attachment,
    pub log: Log,
    pub archive: crate::archive::Archive,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    /// The name this server gives itself in greetings and Received headers.
    pub hostname: String,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            hostname: "localhost".into(),
        }
    }
}

/// The services Postern can listen for, in the order they are shown.
pub const SERVICES: [(&str, u16); 10] = [
    ("smtp", 25),
    ("submission", 587),
    ("smtps", 465),
    ("imap", 143),
    ("imaps", 993),
    ("pop3", 110),
    ("pop3s", 995),
    // Web administration over HTTPS (issue 19): the REST API under /api/v1.
    ("admin", 4040),
    // Webmail over HTTPS (issue 20, SPEC S8); `http` only redirects to it.
    ("https", 443),
    ("http", 80),
];

/// One address, a list of addresses, or "off".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Listen {
    One(String),
    Many(Vec<String>),
}

impl Listen {
    /// The socket addresses to bind; empty when the listener is off.
    pub fn addrs(&self) -> Result<Vec<SocketAddr>, String> {
        let items: Vec<&str> = match self {
            Listen::One(s) if s.trim().eq_ignore_ascii_case("off") => vec![],
            Listen::One(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect(),
            Listen::Many(v) => v.iter().map(|s| s.trim()).collect(),
        };
        items
            .into_iter()
            .map(|a| {
                a.parse::<SocketAddr>().map_err(|_| {
                    format!("`{a}` is not ADDRESS:PORT (e.g. 0.0.0.0:25 or [::]:25) nor \"off\"")
                })
            })
            .collect()
    }
}

/// Listener name → where it listens. Services not named get their default port.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Listeners(pub BTreeMap<String, Listen>);

impl Listeners {
    /// Where the named service listens: its configured value or the standard port on all IPv4 addresses.
    pub fn get(&self, name: &str) -> Listen {
        if let Some(l) = self.0.get(name) {
            return l.clone();
        }
        let port = SERVICES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| *p)
            .unwrap_or(0);
        Listen::One(format!("0.0.0.0:{port}"))
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tls {
    /// PEM certificate chain, relative to the data directory unless absolute.
    pub cert: String,
    /// PEM private key, relative to the data directory unless absolute.
    pub key: String,
    /// ACME (RFC 8555) directory URL to obtain certificates from (empty: no ACME).
    pub acme_directory: String,
    /// Contact addresses for the ACME account (`mailto:` is added when missing).
    pub acme_contact: Vec<String>,
    /// Host names to obtain a certificate for (empty: `server.hostname`).
    pub acme_hosts: Vec<String>,
    /// A PEM root trusted for the ACME directory's HTTPS instead of the
    /// system's (a private or test CA); relative to the data directory.
    pub acme_ca_file: String,
    /// Renew this long before the certificate expires.
    pub acme_renew_before: Duration,
    /// How the CA validates the host names.
    pub acme_challenge: AcmeChallenge,
}

/// The ACME challenge answered (RFC 8555 §8). TLS-ALPN-01 by default: it is
/// answered on port 443 (https and admin listeners) and needs no plain port;
/// HTTP-01 when only port 80 reaches this server (the `http` listener).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AcmeChallenge {
    /// RFC 8737.
    #[default]
    #[serde(rename = "tls-alpn-01")]
    TlsAlpn01,
    /// RFC 8555 §8.3.
    #[serde(rename = "http-01")]
    Http01,
}

impl Default for Tls {
    fn default() -> Self {
        Tls {
            cert: "tls/cert.pem".into(),
            key: "tls/key.pem".into(),
            acme_directory: String::new(),
            acme_contact: Vec::new(),
            acme_hosts: Vec::new(),
            acme_ca_file: String::new(),
            acme_renew_before: Duration(std::time::Duration::from_secs(30 * 86_400)),
            acme_challenge: AcmeChallenge::TlsAlpn01,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Smtp {
    /// SIZE limit (RFC 1870); larger messages get 552 5.3.4.
    pub max_message_size: Size,
    /// Recipients per message; more get 452 4.5.3 (RFC 5321 §4.5.3.1.8 asks at least 100).
    pub max_recipients: u32,
    /// On port 25 only: wait this long before the greeting; a client that
    /// talks first is refused (an early talker, P5). Other listeners greet at once.
    pub greeting_delay: Duration,
    /// IP group greeted at once on port 25, without `greeting_delay` ("" = none).
    pub greeting_delay_exempt: String,
    /// On port 25: refuse a client that pipelines commands without EHLO
    /// (after HELO): PIPELINING is an EHLO extension (RFC 2920 §3.1).
    pub forbid_unauth_pipelining: bool,
    /// On port 25: refuse a client that sends the message before the 354.
    pub forbid_early_body: bool,
    /// Time allowed for each command (RFC 5321 §4.5.3.2 suggests 5 minutes).
    pub command_timeout: Duration,
    /// Time allowed between data blocks and for the end of data (RFC 5321 §4.5.3.2: 3 and 10 minutes).
    pub data_timeout: Duration,
    /// Errors in one session before it is closed with 421.
    pub max_errors: u32,
    /// Authenticated users may send only as their own address, their aliases
    /// and groups (SPEC X8); others get 553 5.7.1.
    pub sender_identity: bool,
    /// Messages accepted per hour from one client IP / one authenticated user (0 = no limit); more get 452 4.7.0.
    pub max_messages_per_hour_ip: u32,
    pub max_messages_per_hour_user: u32,
    /// Unknown recipients in one session before it is closed with 421 4.7.0 (0 = no limit).
    pub max_unknown_recipients: u32,
    /// Refuse HELO/EHLO names that are neither fully qualified nor an address literal.
    pub helo_checks: bool,
    /// Unauthenticated mail from outside claiming a local domain (MAIL FROM or From:).
    pub local_sender: LocalSender,
    /// IP group of trusted clients: they may relay without AUTH and use local senders (SPEC X2).
    pub trusted_group: String,
    /// A client that logged in by POP3 or IMAP may relay from the same address
    /// for this long ("off": never; POP3-before-SMTP).
    pub pop_before_smtp: crate::OptDuration,
    /// Space kept free on the data directory's file system: MAIL (with its
    /// SIZE=) is refused with 452 4.3.1 when the message would eat into it,
    /// and a message is refused as soon as it does. The reserve is the
    /// smaller of `disk_reserve` and `disk_reserve_percent` of the file
    /// system (0 turns either off; both 0: no reserve, the disk may fill).
    pub disk_reserve: Size,
    pub disk_reserve_percent: u32,
    /// Who gets mail for "postmaster" and postmaster@ each local domain the
    /// directory has no such address for (RFC 5321 §4.5.1); empty: the
    /// first user created.
    pub postmaster: String,
}

/// What happens to unauthenticated mail that claims a local sender (SPEC X8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LocalSender {
    /// 550 5.7.1.
    Reject,
    /// Accepted with an X-Postern-Warning header (for filters and clients).
    Mark,
    /// No check.
    Accept,
}

/// Port 25's pause before the greeting: long enough to catch clients that
/// talk at once, short beside the 5 minutes a real MTA waits (RFC 5321 §4.5.3.2.1).
pub const DEFAULT_GREETING_DELAY: std::time::Duration = std::time::Duration::from_secs(1);

impl Default for Smtp {
    fn default() -> Self {
        Smtp {
            max_message_size: Size(50 << 20),
            max_recipients: 100,
            greeting_delay: Duration(DEFAULT_GREETING_DELAY),
            greeting_delay_exempt: String::new(),
            forbid_unauth_pipelining: true,
            forbid_early_body: true,
            command_timeout: Duration(std::time::Duration::from_secs(300)),
            data_timeout: Duration(std::time::Duration::from_secs(600)),
            max_errors: 20,
            sender_identity: true,
            max_messages_per_hour_ip: 0,
            max_messages_per_hour_user: 0,
            max_unknown_recipients: 20,
            helo_checks: false,
            local_sender: LocalSender::Reject,
            trusted_group: String::new(),
            pop_before_smtp: crate::OptDuration(None),
            postmaster: String::new(),
            disk_reserve: Size(1 << 30),
            disk_reserve_percent: 5,
        }
    }
}

/// `[dns]`: the one resolver every lookup of the server goes through (issue 15).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Dns {
    /// DNS server ("127.0.0.1:5353"); absent = `delivery.resolver`, else the system's.
    pub resolver: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Log {
    /// Write mail.log and security.log as JSON lines instead of key=value text.
    pub json: bool,
}

impl Config {
    /// Checks what types alone cannot: listener names and addresses, non-zero limits.
    pub fn validate(&self) -> Result<(), String> {
        if self.server.hostname.trim().is_empty()
            || self.server.hostname.contains(char::is_whitespace)
        {
            return Err("server.hostname: must be a host name without spaces".into());
        }
        for (name, listen) in &self.listeners.0 {
            if !SERVICES.iter().any(|(n, _)| n == name) {
                let known: Vec<&str> = SERVICES.iter().map(|(n, _)| *n).collect();
                return Err(format!(
                    "listeners.{name}: unknown service (known: {})",
                    known.join(", ")
                ));
            }
            listen
                .addrs()
                .map_err(|e| format!("listeners.{name}: {e}"))?;
        }
        if self.smtp.max_recipients == 0 {
            return Err("smtp.max_recipients: must be at least 1".into());
        }
        if self.smtp.max_message_size.0 < 1024 {
            return Err("smtp.max_message_size: must be at least 1K".into());
        }
        if self.smtp.max_errors == 0 {
            return Err("smtp.max_errors: must be at least 1".into());
        }
        for (key, d) in [
            ("smtp.command_timeout", self.smtp.command_timeout),
            ("smtp.data_timeout", self.smtp.data_timeout),
        ] {
            if d.0.is_zero() {
                return Err(format!("{key}: must be longer than zero"));
            }
        }
        self.imap.validate()?;
        self.auth.validate()?;
        self.access.validate()?;
        self.security.validate()?;
        self.spam.validate()?;
        self.greylist.validate()?;
        crate::access::check_group(
            "smtp.greeting_delay_exempt",
            &self.smtp.greeting_delay_exempt,
        )?;
        self.av.validate()?;
        self.backup.validate()?;
        self.archive.validate()?;
        self.fetch.validate()?;
        self.attachment.validate()?;
        crate::access::check_group("smtp.trusted_group", &self.smtp.trusted_group)?;
        if self.smtp.disk_reserve_percent > 100 {
            return Err("smtp.disk_reserve_percent: must be 0 to 100".into());
        }
        let pm = &self.smtp.postmaster;
        if !pm.is_empty() && (!pm.contains('@') || pm.contains(char::is_whitespace)) {
            return Err("smtp.postmaster: must be an address (user@domain) or empty".into());
        }
        self.dns_resolver()?;
        self.delivery.validate()
    }

    /// The resolver's address: `dns.resolver`, else its alias
    /// `delivery.resolver`, else None (the system's).
    pub fn dns_resolver(&self) -> Result<Option<SocketAddr>, String> {
        match &self.dns.resolver {
            Some(r) => crate::delivery::parse_resolver(r)
                .map(Some)
                .map_err(|e| format!("dns.resolver: {e}")),
            None => self.delivery.resolver_addr(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
        assert_eq!(
            Config::default().listeners.get("smtp").addrs().unwrap()[0].port(),
            25
        );
    }

    #[test]
    fn listener_forms() {
        let c = Config::parse(
            "[listeners]\nsmtp = \"off\"\nimap = [\"127.0.0.1:1143\", \"[::1]:1143\"]\n",
        )
        .unwrap();
        assert!(c.listeners.get("smtp").addrs().unwrap().is_empty());
        assert_eq!(c.listeners.get("imap").addrs().unwrap().len(), 2);
        assert!(Config::parse("[listeners]\nfoo = \"off\"\n")
            .unwrap_err()
            .contains("listeners.foo"));
        assert!(Config::parse("[listeners]\nsmtp = \"nowhere\"\n")
            .unwrap_err()
            .contains("listeners.smtp"));
    }

    #[test]
    fn dns_resolver_and_its_alias() {
        let c = Config::parse("[delivery]\nresolver = \"127.0.0.1:5353\"\n").unwrap();
        assert_eq!(c.dns_resolver().unwrap().unwrap().port(), 5353);
        let c = Config::parse(
            "[dns]\nresolver = \"127.0.0.2\"\n[delivery]\nresolver = \"127.0.0.1:5353\"\n",
        )
        .unwrap();
        assert_eq!(
            c.dns_resolver().unwrap().unwrap().to_string(),
            "127.0.0.2:53"
        );
        assert!(Config::parse("[dns]\nresolver = \"x\"\n")
            .unwrap_err()
            .contains("dns.resolver"));
        assert_eq!(Config::default().dns_resolver().unwrap(), None);
    }

    #[test]
    fn unknown_keys_refused() {
        assert!(Config::parse("[smtp]\nmax_recipents = 5\n").is_err());
        assert!(Config::parse("[smtp]\nmax_recipients = 0\n").is_err());
        assert!(Config::parse("[smtp]\npostmaster = \"admin\"\n").is_err());
        assert!(Config::parse("[smtp]\ndisk_reserve_percent = 101\n").is_err());
        assert!(Config::parse("[smtp]\ndisk_reserve_percent = 100\n").is_ok());
        assert!(Config::parse("[smtp]\npostmaster = \"admin@example.org\"\n").is_ok());
    }
}
