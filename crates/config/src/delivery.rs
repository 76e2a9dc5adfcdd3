//! `[delivery]`: how mail for other domains leaves (SPEC M2). Every field is a
//! documented key of `postern.toml` (template.rs).

use crate::units::Duration;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration as StdDuration;

/// Longest `connection_cache_time`: a server may drop an idle client after
/// 5 minutes (RFC 5321 §4.5.3.2.7), so caching longer gains nothing.
pub const MAX_CONNECTION_CACHE_TIME: StdDuration = StdDuration::from_secs(300);

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Delivery {
    /// DNS server for MX/A/AAAA lookups ("127.0.0.1:5353"); absent = the system's resolver.
    pub resolver: Option<String>,
    /// Smarthost for outbound mail: smtp://, smtps:// or smtp+starttls://[user:pass@]host[:port].
    pub relay: Option<String>,
    /// Only these domains go through the relay; empty = all.
    pub relay_domains: Vec<String>,
    /// Allow delivery to loopback, private and link-local addresses (off: a
    /// forged MX cannot make the server attack the local network).
    pub allow_private: bool,
    /// Local address outbound connections are made from.
    pub source_address: Option<IpAddr>,
    /// TCP port of MX hosts (25; other values only for tests and odd networks).
    pub port: u16,
    /// Waits after each failed attempt; the last one repeats (RFC 5321 §4.5.4.1).
    pub retry: Vec<Duration>,
    /// After this long undelivered, a message bounces.
    pub give_up: Duration,
    /// Tell the sender a message is delayed once it waited this long ("off": never).
    pub delay_warning: OptDuration,
    /// Outbound connections at once, in total and to one domain.
    pub max_connections: u32,
    pub max_per_domain: u32,
    /// Messages sent over one connection before it is closed (counted across reuse).
    pub max_messages_per_connection: u32,
    /// How long a connection that has no more messages stays open for the
    /// next delivery run to the same server ("0s": close at once).
    pub connection_cache_time: Duration,
    /// TLS to MX hosts: "none", "may" (STARTTLS whenever offered, certificate
    /// not required to verify) or "verify" (STARTTLS required and verified).
    pub tls: TlsPolicy,
    /// Domains that need verified TLS whatever `tls` says.
    pub tls_verify_domains: Vec<String>,
    /// The relay is a hop like any other: when the policy asks for verified
    /// TLS (`tls = "verify"`, or the recipient's domain is in
    /// `tls_verify_domains`), the relay must offer TLS and its certificate
    /// must verify for the host named in `relay`. `false`: the relay's TLS is
    /// never verified (and only its URL's scheme says whether TLS is
    /// required), for a relay whose certificate cannot verify; a private CA
    /// is better added to `ca_file`.
    pub tls_verify_relay: bool,
    /// Extra trust anchors (PEM) for verifying servers, relative to the data directory.
    pub ca_file: Option<String>,
    /// Time to connect to one address.
    pub connect_timeout: Duration,
}

/// "ADDRESS[:PORT]" of a DNS server, port 53 when omitted.
pub(crate) fn parse_resolver(r: &str) -> Result<SocketAddr, String> {
    if let Ok(sa) = r.parse::<SocketAddr>() {
        return Ok(sa);
    }
    r.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("`{r}` is not ADDRESS[:PORT]"))
}

impl Default for Delivery {
    fn default() -> Self {
        let mins = |m: u64| Duration(StdDuration::from_secs(60 * m));
        Delivery {
            resolver: None,
            relay: None,
            relay_domains: vec![],
            allow_private: false,
            source_address: None,
            port: 25,
            retry: vec![mins(5), mins(10), mins(20), mins(40), mins(60)],
            give_up: Duration(StdDuration::from_secs(5 * 86400)),
            delay_warning: OptDuration(None),
            max_connections: 40,
            max_per_domain: 8,
            max_messages_per_connection: 100,
            connection_cache_time: Duration(StdDuration::from_secs(2)),
            tls: TlsPolicy::May,
            tls_verify_domains: vec![],
            tls_verify_relay: true,
            ca_file: None,
            connect_timeout: Duration(StdDuration::from_secs(30)),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsPolicy {
    None,
    May,
    Verify,
}

/// A duration or "off".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptDuration(pub Option<StdDuration>);

impl Serialize for OptDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            None => s.serialize_str("off"),
            Some(d) => Duration(d).serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for OptDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.trim().eq_ignore_ascii_case("off") {
            return Ok(OptDuration(None));
        }
        crate::parse_duration(&s)
            .map(|d| OptDuration(Some(d)))
            .map_err(serde::de::Error::custom)
    }
}

/// How the relay is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelayTls {
    /// smtp://: STARTTLS when offered (opportunistic).
    Opportunistic,
    /// smtp+starttls://: STARTTLS required.
    StartTls,
    /// smtps://: TLS from the first byte (RFC 8314).
    Implicit,
}

/// A parsed `delivery.relay`.
#[derive(Clone, PartialEq, Eq)]
pub struct Relay {
    pub host: String,
    pub port: u16,
    pub tls: RelayTls,
    pub user: Option<String>,
    /// Percent-decoded; never printed (Debug hides it).
    pub password: Option<String>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// Parses `scheme://[user[:pass]@]host[:port]`; host may be `[v6]`.
    pub fn parse(url: &str) -> Result<Relay, String> {
        let bad = |why: &str| format!("`{}`: {why}", redact(url));
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("expected smtp://, smtps:// or smtp+starttls://"))?;
        let (tls, default_port) = match scheme.to_ascii_lowercase().as_str() {
            "smtp" => (RelayTls::Opportunistic, 25),
            "smtp+starttls" => (RelayTls::StartTls, 587),
            "smtps" => (RelayTls::Implicit, 465),
            _ => return Err(bad("unknown scheme (use smtp, smtps or smtp+starttls)")),
        };
        let rest = rest.trim_end_matches('/');
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(u) => {
                let (name, pass) = u.split_once(':').unwrap_or((u, ""));
                let name =
                    percent_decode(name).ok_or_else(|| bad("bad %-escape in the user name"))?;
                let pass =
                    percent_decode(pass).ok_or_else(|| bad("bad %-escape in the password"))?;
                (Some(name), (!pass.is_empty()).then_some(pass))
            }
        };
        let (host, port) =
            split_host_port(hostport, default_port).ok_or_else(|| bad("expected host[:port]"))?;
        Ok(Relay {
            host,
            port,
            tls,
            user,
            password,
        })
    }
}

fn split_host_port(s: &str, default_port: u16) -> Option<(String, u16)> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some((sa.ip().to_string(), sa.port()));
    }
    if let Some(v6) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return v6
            .parse::<IpAddr>()
            .ok()
            .map(|ip| (ip.to_string(), default_port));
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().ok()?),
        None => (s, default_port),
    };
    let ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    (ok && port != 0).then(|| (host.to_ascii_lowercase(), port))
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The URL with any password replaced, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.split_once(':') {
                Some((u, _)) => format!("{}{u}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Delivery {
    /// The relay, parsed (validate() has checked it).
    pub fn relay(&self) -> Option<Relay> {
        self.relay.as_deref().and_then(|r| Relay::parse(r).ok())
    }

    /// The resolver's address ("host:port", port 53 when omitted).
    pub fn resolver_addr(&self) -> Result<Option<SocketAddr>, String> {
        let Some(r) = self.resolver.as_deref() else {
            return Ok(None);
        };
        parse_resolver(r)
            .map(Some)
            .map_err(|e| format!("delivery.resolver: {e}"))
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        self.resolver_addr()?;
        if let Some(r) = &self.relay {
            Relay::parse(r).map_err(|e| format!("delivery.relay: {e}"))?;
        }
        if self.retry.is_empty() || self.retry.iter().any(|d| d.0.is_zero()) {
            return Err("delivery.retry: give at least one wait, each longer than zero".into());
        }
        if self.port == 0 {
            return Err("delivery.port: must not be 0".into());
        }
        for (key, n) in [
            ("delivery.max_connections", self.max_connections),
            ("delivery.max_per_domain", self.max_per_domain),
            (
                "delivery.max_messages_per_connection",
                self.max_messages_per_connection,
            ),
        ] {
            if n == 0 {
                return Err(format!("{key}: must be at least 1"));
            }
        }
        if self.connection_cache_time.0 > MAX_CONNECTION_CACHE_TIME {
            return Err(format!(
                "delivery.connection_cache_time: at most {}s",
                MAX_CONNECTION_CACHE_TIME.as_secs()
            ));
        }
        if self.connect_timeout.0.is_zero() || self.give_up.0.is_zero() {
            return Err(
                "delivery.connect_timeout and delivery.give_up must be longer than zero".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_urls() {
        let r = Relay::parse("smtps://me%40x.org:p%3Ass@mail.example.net:4465").unwrap();
        assert_eq!(
            (r.host.as_str(), r.port, r.tls),
            ("mail.example.net", 4465, RelayTls::Implicit)
        );
        assert_eq!(r.user.as_deref(), Some("me@x.org"));
        assert_eq!(r.password.as_deref(), Some("p:ss"));
        assert!(!format!("{r:?}").contains("p:ss"));
        let r = Relay::parse("smtp://127.0.0.1:2626").unwrap();
        assert_eq!(
            (r.host.as_str(), r.port, r.tls, r.user),
            ("127.0.0.1", 2626, RelayTls::Opportunistic, None)
        );
        let r = Relay::parse("smtp+starttls://[::1]:587").unwrap();
        assert_eq!(
            (r.host.as_str(), r.port, r.tls),
            ("::1", 587, RelayTls::StartTls)
        );
        assert_eq!(
            Relay::parse("smtp+starttls://relay.example").unwrap().port,
            587
        );
        for bad in [
            "relay.example",
            "http://x",
            "smtp://",
            "smtp://a b",
            "smtp://h:0",
            "smtp://u:%zz@h",
        ] {
            assert!(Relay::parse(bad).is_err(), "{bad}");
        }
        let e = Relay::parse("ftp://u:secret@h").unwrap_err();
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn resolver_and_durations() {
        let mut d = Delivery::default();
        assert_eq!(d.resolver_addr().unwrap(), None);
        d.resolver = Some("127.0.0.1:5353".into());
        assert_eq!(d.resolver_addr().unwrap().unwrap().port(), 5353);
        d.resolver = Some("::1".into());
        assert_eq!(d.resolver_addr().unwrap().unwrap().port(), 53);
        d.resolver = Some("dns.example".into());
        assert!(d.validate().is_err());
        let c =
            crate::Config::parse("[delivery]\ndelay_warning = \"4h\"\nretry = [\"1s\"]\n").unwrap();
        assert_eq!(
            c.delivery.delay_warning.0,
            Some(StdDuration::from_secs(4 * 3600))
        );
        assert!(crate::Config::parse("[delivery]\nretry = []\n").is_err());
        let c = crate::Config::parse("[delivery]\nconnection_cache_time = \"0s\"\n").unwrap();
        assert!(
            c.delivery.connection_cache_time.0.is_zero(),
            "0s turns caching off"
        );
        assert!(crate::Config::parse("[delivery]\nconnection_cache_time = \"300s\"\n").is_ok());
        assert!(crate::Config::parse("[delivery]\nconnection_cache_time = \"301s\"\n").is_err());
        assert!(crate::Config::parse("[delivery]\ntls = \"sometimes\"\n").is_err());
    }
}
