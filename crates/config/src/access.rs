//! `[access.NAME]`: who may connect to a listener and how many at once
//! (SPEC Services table, seed 003: "allow access only to these users' IP
//! addresses … limit the maximum number of concurrent connections").

use crate::SERVICES;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Connections at once from one client address on a listener when its
/// `max_per_ip` is not set (Postfix's smtpd_client_connection_count_limit is
/// also 50): one host cannot hold hundreds of sessions, while an office
/// behind one NAT address still gets in.
pub const DEFAULT_MAX_PER_IP: u32 = 50;

/// The web administration listener.
pub const ADMIN_LISTENER: &str = "admin";
/// Webmail over HTTPS (issue 20).
pub const HTTPS_LISTENER: &str = "https";
/// Plain HTTP: a redirect to [`HTTPS_LISTENER`] except for `access.http.exempt`.
pub const HTTP_LISTENER: &str = "http";
/// The built-in IP group of loopback addresses (127.0.0.0/8, ::1), used
/// unless an IP group of that name is defined.
pub const LOOPBACK_GROUP: &str = "loopback";
/// `[access.metrics]`: who may read `GET /metrics` on the admin listener
/// without credentials (only `allow` counts; default: loopback).
pub const METRICS_ACCESS: &str = "metrics";

/// One listener's admission rules; every field may be left out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListenerAccess {
    /// Only clients in this IP group may connect (empty: anyone). A group
    /// that does not exist lets nobody in.
    pub allow: String,
    /// Connections at once on this listener (0: no limit).
    pub max_connections: u32,
    /// Connections at once from one client address (0: no limit;
    /// [`DEFAULT_MAX_PER_IP`] when not set).
    pub max_per_ip: u32,
    /// `access.http` only (issue 20): clients in this IP group get webmail
    /// over plain HTTP instead of the redirect to https (empty: nobody).
    pub exempt: String,
}

impl Default for ListenerAccess {
    fn default() -> Self {
        ListenerAccess {
            allow: String::new(),
            max_connections: 0,
            max_per_ip: DEFAULT_MAX_PER_IP,
            exempt: String::new(),
        }
    }
}

/// Listener name → its rules. Listeners not named have none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Access(pub BTreeMap<String, ListenerAccess>);

impl Access {
    /// The rules of listener `name` (the defaults when it has none).
    pub fn get(&self, name: &str) -> ListenerAccess {
        match self.0.get(name) {
            Some(rules) => rules.clone(),
            // Issue 19: the admin listener answers loopback clients only
            // until `access.admin.allow` names a group.
            None if name == ADMIN_LISTENER || name == METRICS_ACCESS => ListenerAccess {
                allow: LOOPBACK_GROUP.into(),
                ..Default::default()
            },
            None => ListenerAccess::default(),
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        for (name, rules) in &self.0 {
            if name != METRICS_ACCESS && !SERVICES.iter().any(|(n, _)| n == name) {
                let known: Vec<&str> = SERVICES.iter().map(|(n, _)| *n).collect();
                return Err(format!(
                    "access.{name}: unknown listener (known: {})",
                    known.join(", ")
                ));
            }
            check_group(&format!("access.{name}.allow"), &rules.allow)?;
            check_group(&format!("access.{name}.exempt"), &rules.exempt)?;
            if !rules.exempt.is_empty() && name != HTTP_LISTENER {
                return Err(format!("access.{name}.exempt: only access.http takes it"));
            }
        }
        Ok(())
    }
}

/// An IP group name as `postern ipgroup` accepts it, or empty.
pub(crate) fn check_group(key: &str, name: &str) -> Result<(), String> {
    let ok = name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!("{key}: `{name}` is not an IP group name"))
    }
}

#[cfg(test)]
mod tests {
    use crate::Config;

    #[test]
    fn absent_means_open_but_capped_per_address() {
        let c = Config::default();
        for (name, _) in crate::SERVICES.iter().filter(|(n, _)| *n != "admin") {
            assert_eq!(c.access.get(name).allow, "");
            assert_eq!(c.access.get(name).max_connections, 0);
            assert_eq!(c.access.get(name).max_per_ip, super::DEFAULT_MAX_PER_IP);
        }
        // A table that sets something else keeps the default cap; 0 lifts it.
        let c =
            Config::parse("[access.imap]\nallow = \"x\"\n[access.smtp]\nmax_per_ip = 0\n").unwrap();
        assert_eq!(c.access.get("imap").max_per_ip, super::DEFAULT_MAX_PER_IP);
        assert_eq!(c.access.get("smtp").max_per_ip, 0);
    }

    #[test]
    fn admin_is_loopback_only_unless_told() {
        let c = Config::default();
        assert_eq!(c.access.get("admin").allow, super::LOOPBACK_GROUP);
        assert_eq!(c.access.get("admin").max_per_ip, super::DEFAULT_MAX_PER_IP);
        let c = Config::parse("[access.admin]\nallow = \"office\"\n").unwrap();
        assert_eq!(c.access.get("admin").allow, "office");
    }

    #[test]
    fn metrics_scrapers_are_loopback_unless_told() {
        let c = Config::default();
        assert_eq!(c.access.get("metrics").allow, super::LOOPBACK_GROUP);
        let c = Config::parse("[access.metrics]\nallow = \"monitoring\"\n").unwrap();
        c.validate().unwrap();
        assert_eq!(c.access.get("metrics").allow, "monitoring");
    }

    #[test]
    fn only_http_takes_an_exempt_group() {
        let c = Config::parse("[access.http]\nexempt = \"lan\"\n").unwrap();
        assert_eq!(c.access.get("http").exempt, "lan");
        assert_eq!(Config::default().access.get("http").exempt, "");
        let err = Config::parse("[access.imap]\nexempt = \"lan\"\n").unwrap_err();
        assert!(err.contains("access.imap.exempt"), "{err}");
        assert!(Config::parse("[access.http]\nexempt = \"no such\"\n").is_err());
    }

    #[test]
    fn per_listener_tables() {
        let c = Config::parse(
            "[access.imap]\nallow = \"office\"\nmax_per_ip = 2\n[access.smtp]\nmax_connections = 50\n",
        )
        .unwrap();
        assert_eq!(c.access.get("imap").allow, "office");
        assert_eq!(c.access.get("imap").max_per_ip, 2);
        assert_eq!(c.access.get("smtp").max_connections, 50);
        assert_eq!(c.access.get("pop3").max_connections, 0);
    }

    #[test]
    fn mistakes_are_named() {
        let e = Config::parse("[access.nntp]\nmax_per_ip = 1\n").unwrap_err();
        assert!(e.contains("access.nntp: unknown listener"), "{e}");
        let e = Config::parse("[access.imap]\nallow = \"my group\"\n").unwrap_err();
        assert!(e.contains("access.imap.allow"), "{e}");
        assert!(Config::parse("[access.imap]\nmax_per_ipp = 1\n").is_err());
    }
}
