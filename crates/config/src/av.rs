//! `[av]`: the integrated antivirus engine (SPEC V1, V3, V5; issue 17). The
//! scan limits (each crossing makes a message unscannable), what an
//! unscannable message counts as, and where signature updates come from.
//! The defaults equal `postern_av::Limits::default()`.

use crate::units::{Duration, Size};
use serde::{Deserialize, Serialize};

/// Hard ceiling on `av.max_depth`: archive recursion is bounded by it.
pub const MAX_AV_DEPTH: usize = 64;
/// Shortest `av.update_interval`: mirrors ask not to be polled more often.
pub const MIN_UPDATE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(600);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Av {
    /// Whether the SMTP stage scans incoming and submitted mail.
    pub enabled: bool,
    /// What a message found infected gets (issue 17 item 4).
    pub action: VirusAction,
    /// Whether an infected message is also kept, as received, in the
    /// quarantine (`postern av quarantine list|release|delete`).
    pub quarantine: bool,
    /// An address told of each infected message; "" for none.
    pub notify_admin: String,
    /// What that notice carries of the message.
    pub forward: Forward,
    /// Archives nested deeper than this are unscannable.
    pub max_depth: usize,
    /// Archive members looked at in one message.
    pub max_files: usize,
    /// Bytes produced by decoding and unpacking one message.
    pub max_scan_bytes: Size,
    /// Expansion allowed per compressed byte (above 1 MiB of output).
    pub max_ratio: u64,
    /// What a message that cannot be fully scanned counts as.
    pub unscannable: UnscannableAction,
    /// Where `av update` (and the server, every `update_interval`) fetches
    /// signatures: a directory or an http(s) URL of a mirror directory; ""
    /// for none.
    pub mirror: String,
    pub update_interval: Duration,
    /// clamd as a second engine (issue 17 item 3): `tcp://HOST:PORT` or
    /// `unix:/PATH`; "" for none.
    pub clamd: String,
    /// How long connecting to clamd and its answer may take together.
    pub clamd_timeout: Duration,
    /// What a message gets when an engine fails (clamd down, hanging).
    pub engine_failure: EngineFailure,
}

/// `av.forward`, `attachment.forward`: what a notice to the admin carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Forward {
    /// The message as received, attached (message/rfc822).
    Original,
    /// The message with the offending parts replaced, attached.
    Filtered,
    /// The notice alone.
    #[default]
    None,
}

/// A notice address: "" or one address with a domain.
pub(crate) fn valid_notify(key: &str, a: &str) -> Result<(), String> {
    let ok = a.is_empty()
        || a.rsplit_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !a.contains(|c: char| c.is_whitespace() || c == ',')
        });
    match ok {
        true => Ok(()),
        false => Err(format!("{key}: must be one address (user@domain) or \"\"")),
    }
}

/// `av.engine_failure`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineFailure {
    /// Refused for now: `451 4.7.1`, the client tries again later.
    #[default]
    Tempfail,
    /// Delivered with an X-Postern-Virus-Scan warning.
    Deliver,
}

/// `av.action`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VirusAction {
    /// Refused at the end of DATA/BDAT: `554 5.7.1 Virus found: NAME`.
    #[default]
    Reject,
    /// Accepted (250) and thrown away.
    Discard,
    /// Delivered with the infected part replaced by a text warning.
    Replace,
}

/// `av.unscannable`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnscannableAction {
    /// Delivered, with a warning.
    #[default]
    Deliver,
    /// Treated as a virus.
    Infected,
}

impl Default for Av {
    fn default() -> Self {
        Av {
            enabled: true,
            action: VirusAction::Reject,
            quarantine: false,
            notify_admin: String::new(),
            forward: Forward::None,
            max_depth: 5,
            max_files: 1000,
            max_scan_bytes: Size(100 << 20),
            max_ratio: 100,
            unscannable: UnscannableAction::Deliver,
            mirror: String::new(),
            update_interval: Duration(std::time::Duration::from_secs(4 * 3600)),
            clamd: String::new(),
            clamd_timeout: Duration(std::time::Duration::from_secs(30)),
            engine_failure: EngineFailure::Tempfail,
        }
    }
}

impl Av {
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=MAX_AV_DEPTH).contains(&self.max_depth) {
            return Err(format!("av.max_depth: must be 1 to {MAX_AV_DEPTH}"));
        }
        if self.max_files == 0 || self.max_scan_bytes.0 == 0 {
            return Err("av.max_files, av.max_scan_bytes: must be at least 1".into());
        }
        if self.max_ratio < 2 {
            return Err("av.max_ratio: must be at least 2".into());
        }
        let m = &self.mirror;
        let url = m.starts_with("http://") || m.starts_with("https://");
        if !m.is_empty() && !url && !m.starts_with('/') {
            return Err("av.mirror: must be an http(s) URL or an absolute directory".into());
        }
        if self.update_interval.0 < MIN_UPDATE_INTERVAL {
            return Err("av.update_interval: must be at least 10m".into());
        }
        valid_notify("av.notify_admin", &self.notify_admin)?;
        self.validate_clamd()
    }

    fn validate_clamd(&self) -> Result<(), String> {
        let c = &self.clamd;
        let tcp = c
            .strip_prefix("tcp://")
            .and_then(|hp| hp.rsplit_once(':'))
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
        if !c.is_empty() && !tcp && !c.starts_with("unix:/") {
            return Err("av.clamd: must be tcp://HOST:PORT or unix:/PATH".into());
        }
        if self.clamd_timeout.0.is_zero() {
            return Err("av.clamd_timeout: must be more than 0".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    #[test]
    fn defaults_and_parsing() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.av, Av::default());
        let c = Config::parse("[av]\nmax_depth = 3\nmax_scan_bytes = \"20M\"\nunscannable = \"infected\"\nmirror = \"http://127.0.0.1:8000/db\"\n").unwrap();
        assert_eq!((c.av.max_depth, c.av.max_scan_bytes.0), (3, 20 << 20));
        assert_eq!(c.av.unscannable, UnscannableAction::Infected);
        assert!(Config::parse("[av]\nunscannable = \"drop\"\n").is_err());
        let c = Config::parse("[av]\nenabled = false\naction = \"replace\"\nquarantine = true\n")
            .unwrap();
        assert!(!c.av.enabled && c.av.quarantine);
        assert_eq!(c.av.action, VirusAction::Replace);
        assert!(Config::parse("[av]\naction = \"bounce\"\n").is_err());
        assert!(Config::parse("[av]\nmax_dept = 3\n").is_err());
    }

    #[test]
    fn limits_crossed() {
        let bad = |t: &str| Config::parse(&format!("[av]\n{t}\n")).unwrap_err();
        assert!(bad("max_depth = 0").contains("av.max_depth"));
        assert!(bad("max_depth = 65").contains("av.max_depth"));
        assert!(Config::parse("[av]\nmax_depth = 64\n").is_ok());
        assert!(bad("max_files = 0").contains("av.max_files"));
        assert!(bad("max_ratio = 1").contains("av.max_ratio"));
        assert!(bad("mirror = \"db.example\"").contains("av.mirror"));
        assert!(bad("update_interval = \"9m\"").contains("av.update_interval"));
        assert!(Config::parse("[av]\nupdate_interval = \"10m\"\n").is_ok());
        assert!(bad("clamd = \"127.0.0.1:3310\"").contains("av.clamd"));
        assert!(bad("clamd = \"tcp://127.0.0.1\"").contains("av.clamd"));
        assert!(bad("clamd = \"unix:clamd.ctl\"").contains("av.clamd"));
        assert!(bad("clamd_timeout = \"0s\"").contains("av.clamd_timeout"));
        let c = Config::parse("[av]\nclamd = \"unix:/run/clamd.ctl\"\nclamd_timeout = \"1ms\"\nengine_failure = \"deliver\"\n").unwrap();
        assert_eq!(c.av.engine_failure, EngineFailure::Deliver);
        assert!(Config::parse("[av]\nclamd = \"tcp://[::1]:3310\"\n").is_ok());
        assert!(bad("notify_admin = \"admin\"").contains("av.notify_admin"));
        assert!(bad("notify_admin = \"a@b.example,c@d.example\"").contains("av.notify_admin"));
        let c =
            Config::parse("[av]\nnotify_admin = \"admin@example.org\"\nforward = \"filtered\"\n")
                .unwrap();
        assert_eq!(c.av.forward, Forward::Filtered);
    }
}
