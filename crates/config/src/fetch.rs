//! `[fetch]`: POP3 download of remote mailboxes (SPEC M7, issue 21 item 5).
//! The accounts themselves are in the store (`postern fetch add`).

use crate::units::Duration;
use serde::{Deserialize, Serialize};

/// How often each account is fetched unless it says otherwise.
pub const DEFAULT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10 * 60);
/// The shortest interval accepted: remote servers lock a maildrop per session
/// and may block clients that log in too often.
pub const MIN_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fetch {
    /// How often each account is fetched (`fetch add --interval` overrides).
    pub interval: Duration,
}

impl Default for Fetch {
    fn default() -> Self {
        Fetch {
            interval: Duration(DEFAULT_INTERVAL),
        }
    }
}

impl Fetch {
    pub fn validate(&self) -> Result<(), String> {
        if self.interval.0 < MIN_INTERVAL {
            return Err(format!(
                "fetch.interval: at least {}",
                humantime::format_duration(MIN_INTERVAL)
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::Config;

    #[test]
    fn an_interval_crossing_min_interval_is_refused() {
        let c = Config::parse("[fetch]\ninterval = \"1m\"\n").unwrap();
        assert_eq!(c.fetch.interval.0, super::MIN_INTERVAL);
        assert!(c.validate().is_ok());
        let e = Config::parse("[fetch]\ninterval = \"59s\"\n").unwrap_err();
        assert!(e.contains("fetch.interval"), "{e}");
        assert_eq!(Config::default().fetch.interval.0, super::DEFAULT_INTERVAL);
    }
}
