//! `[backup]`: backups the running server takes by itself (issue 21 item 1,
//! SPEC M9), the same as `postern backup DEST [--incremental] --keep N`.
//! Off until `schedule` is set.

use crate::backup_schedule::Schedule;
use serde::{Deserialize, Serialize};

/// Backups kept in `dest` unless configured.
pub const DEFAULT_KEEP: usize = 7;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Backup {
    /// "daily HH:MM" (UTC) or an interval ("6h", "1d"); "" = no scheduled backups.
    pub schedule: String,
    /// Where backups go; relative to the data directory; "" = DIR/backups.
    pub dest: String,
    /// Backups kept; older ones are deleted after each new one (at least 1).
    pub keep: usize,
    /// Link what the previous backup holds instead of copying it again.
    pub incremental: bool,
}

impl Default for Backup {
    fn default() -> Self {
        Backup {
            schedule: String::new(),
            dest: String::new(),
            keep: DEFAULT_KEEP,
            incremental: true,
        }
    }
}

impl Backup {
    /// The parsed schedule; None when scheduled backups are off.
    pub fn parsed_schedule(&self) -> Result<Option<Schedule>, String> {
        if self.schedule.trim().is_empty() {
            return Ok(None);
        }
        Schedule::parse(&self.schedule)
            .map(Some)
            .map_err(|e| format!("backup.schedule: {e}"))
    }

    /// Where backups go, for the data directory `data`.
    pub fn dest_in(&self, data: &std::path::Path) -> std::path::PathBuf {
        match self.dest.trim() {
            "" => data.join("backups"),
            d => data.join(d),
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        self.parsed_schedule()?;
        if self.keep == 0 {
            return Err("backup.keep: must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default_and_checked() {
        let b = Backup::default();
        assert_eq!(b.parsed_schedule(), Ok(None));
        assert_eq!(
            b.dest_in(std::path::Path::new("/d")),
            std::path::PathBuf::from("/d/backups")
        );
        let bad = Backup {
            schedule: "weekly".into(),
            ..Backup::default()
        };
        assert!(bad.validate().unwrap_err().starts_with("backup.schedule:"));
        let none = Backup {
            keep: 0,
            ..Backup::default()
        };
        assert!(none.validate().is_err());
    }
}
