//! `[archive]`: the journal archive for auditors (SPEC M8, issue 21 item 4).
//! Off by default: it keeps a copy of every message for `retention`.

use crate::units::Duration;
use serde::{Deserialize, Serialize};

/// Seven years, the usual term for business correspondence.
pub const DEFAULT_RETENTION: std::time::Duration =
    std::time::Duration::from_secs(7 * 365 * 86400 + 7 * 86400 / 4);
/// The shortest retention: a day (a shorter one purges mail before an
/// auditor could look).
pub const MIN_RETENTION: std::time::Duration = std::time::Duration::from_secs(86400);

/// The archive's folders: one per calendar month, ISO week or day (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArchivePeriod {
    Day,
    Week,
    Month,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Archive {
    pub enabled: bool,
    pub period: ArchivePeriod,
    /// Entries older than this are purged (then gone for good).
    pub retention: Duration,
}

impl Default for Archive {
    fn default() -> Self {
        Archive {
            enabled: false,
            period: ArchivePeriod::Month,
            retention: Duration(DEFAULT_RETENTION),
        }
    }
}

impl Archive {
    pub fn validate(&self) -> Result<(), String> {
        if self.retention.0 < MIN_RETENTION {
            return Err("archive.retention: must be at least 1d".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::Config;

    #[test]
    fn archiving_is_off_by_default_and_parses() {
        let c = Config::default();
        assert!(!c.archive.enabled);
        let c: Config =
            toml::from_str("[archive]\nenabled = true\nperiod = \"week\"\nretention = \"7y\"\n")
                .unwrap();
        assert!(c.archive.enabled);
        assert_eq!(c.archive.period, super::ArchivePeriod::Week);
        assert!(c.archive.retention.0.as_secs() > 7 * 365 * 86400);
        c.validate().unwrap();
    }

    #[test]
    fn a_retention_under_a_day_is_refused() {
        let c: Config = toml::from_str("[archive]\nretention = \"23h\"\n").unwrap();
        assert!(c.validate().unwrap_err().contains("archive.retention"));
        let c: Config = toml::from_str("[archive]\nretention = \"1d\"\n").unwrap();
        c.validate().unwrap();
    }
}
