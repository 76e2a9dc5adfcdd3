//! `[greylist]`: greylisting on port 25 (SPEC P6, issue 16 item 3; RFC 6647).
//! Off by default: it delays the first mail from every new sender.

use crate::units::Duration;
use serde::{Deserialize, Serialize};

/// RFC 6647 §4: retries within a few minutes are too soon; 5 minutes is usual.
pub const DEFAULT_DELAY: std::time::Duration = std::time::Duration::from_secs(5 * 60);
/// How long a first attempt waits for its retry (RFC 6647 §4.1: hours).
pub const DEFAULT_WINDOW: std::time::Duration = std::time::Duration::from_secs(4 * 3600);
/// How long a network that retried properly skips greylisting (RFC 6647 §4.2.1).
pub const DEFAULT_AUTO_WHITELIST: std::time::Duration = std::time::Duration::from_secs(36 * 86400);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Greylist {
    pub enabled: bool,
    /// A retry sooner than this after the first attempt is deferred again.
    pub delay: Duration,
    /// A retry later than this after the first attempt starts over.
    pub window: Duration,
    /// How long a network that passed is let through without delay.
    pub auto_whitelist: Duration,
    /// IP group never greylisted ("" = none); authenticated users and
    /// `smtp.trusted_group` never are either.
    pub exempt_group: String,
}

impl Default for Greylist {
    fn default() -> Self {
        Greylist {
            enabled: false,
            delay: Duration(DEFAULT_DELAY),
            window: Duration(DEFAULT_WINDOW),
            auto_whitelist: Duration(DEFAULT_AUTO_WHITELIST),
            exempt_group: String::new(),
        }
    }
}

impl Greylist {
    pub fn validate(&self) -> Result<(), String> {
        crate::access::check_group("greylist.exempt_group", &self.exempt_group)?;
        if self.window.0 <= self.delay.0 {
            return Err(format!(
                "greylist.window ({}) must be longer than greylist.delay ({})",
                humantime::format_duration(self.window.0),
                humantime::format_duration(self.delay.0)
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::Config;

    #[test]
    fn greylisting_is_off_by_default_and_parses() {
        let d = Config::parse("").unwrap().greylist;
        assert!(!d.enabled);
        assert_eq!(
            (
                d.delay.0.as_secs(),
                d.window.0.as_secs(),
                d.auto_whitelist.0.as_secs()
            ),
            (300, 4 * 3600, 36 * 86400)
        );
        let text = "[greylist]\nenabled = true\ndelay = \"2s\"\nexempt_group = \"partners\"\n";
        let c = Config::parse(text).unwrap().greylist;
        assert!(c.enabled);
        assert_eq!(
            (c.delay.0.as_secs(), c.exempt_group.as_str()),
            (2, "partners")
        );
        assert!(Config::parse("[greylist]\ndelai = \"2s\"\n").is_err());
    }

    #[test]
    fn window_must_be_longer_than_delay() {
        let e = Config::parse("[greylist]\ndelay = \"4h\"\n").unwrap_err();
        assert!(e.contains("greylist.window"), "{e}");
        assert!(Config::parse("[greylist]\ndelay = \"4h\"\nwindow = \"4h1s\"\n").is_ok());
        let e = Config::parse("[greylist]\nexempt_group = \"a b\"\n").unwrap_err();
        assert!(e.contains("greylist.exempt_group"), "{e}");
    }
}
