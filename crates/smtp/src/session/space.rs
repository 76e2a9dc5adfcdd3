//! Free space on the data directory's file system (issue 13 item 9): MAIL
//! is refused with 452 4.3.1 (RFC 1870 §6.1, RFC 3463 "mail system full")
//! when its declared SIZE= does not fit above the reserve, or when the
//! reserve is already reached; a message arriving is refused as soon as the
//! reserve is reached (checked every [`CHECK_EVERY`] octets), and its spool
//! file goes, so deliveries stop before the disk is full.

use super::Session;
use crate::reply::Reply;
use std::path::Path;
use tokio::io::{AsyncRead, AsyncWrite};

pub(super) const INSUFFICIENT_STORAGE: Reply =
    Reply::new(452, "4.3.1", "Insufficient system storage");
/// Octets of message body between two looks at the free space.
pub(super) const CHECK_EVERY: u64 = 1 << 20;

/// Octets kept free: the smaller of `bytes` and `percent` of `total`, each
/// ignored when 0.
fn reserve(total: u64, bytes: u64, percent: u32) -> u64 {
    let share = (total as u128 * percent as u128 / 100) as u64;
    match (bytes, share) {
        (0, s) => s,
        (b, 0) => b,
        (b, s) => b.min(s),
    }
}

/// Octets available above the reserve.
fn room(available: u64, total: u64, bytes: u64, percent: u32) -> u64 {
    available.saturating_sub(reserve(total, bytes, percent))
}

/// (available to us, total) octets of the file system holding `path`.
fn disk(path: &Path) -> std::io::Result<(u64, u64)> {
    let s = rustix::fs::statvfs(path)?;
    let unit = s.f_frsize;
    Ok((
        s.f_bavail.saturating_mul(unit),
        s.f_blocks.saturating_mul(unit),
    ))
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// Refuses when fewer than `needed` octets (at least one) are free above
    /// the reserve of the live config. A file system that cannot be asked is
    /// not a reason to refuse mail.
    pub(super) fn check_space(&self, needed: u64) -> Result<(), Reply> {
        let (bytes, percent) = {
            let config = self.ctx.config.borrow();
            (config.smtp.disk_reserve.0, config.smtp.disk_reserve_percent)
        };
        let Ok((available, total)) = disk(self.ctx.directory.root()) else {
            return Ok(());
        };
        if room(available, total, bytes, percent) >= needed.max(1) {
            return Ok(());
        }
        let (need, free) = (needed.to_string(), available.to_string());
        self.security_log(
            "disk-full",
            &[
                ("needed", &need),
                ("available", &free),
                ("reason", "free space below the reserve"),
            ],
        );
        Err(INSUFFICIENT_STORAGE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: u64 = 1 << 30;

    #[test]
    fn the_smaller_reserve_applies() {
        // 1G or 5%: 5% of 100G is 5G, so 1G; 5% of 10G is 512M.
        assert_eq!(reserve(100 * G, G, 5), G);
        assert_eq!(reserve(10 * G, G, 5), G / 2);
        assert_eq!(reserve(10 * G, 0, 5), G / 2);
        assert_eq!(reserve(10 * G, G, 0), G);
        assert_eq!(reserve(10 * G, 0, 0), 0);
        assert_eq!(reserve(u64::MAX, u64::MAX, 100), u64::MAX);
    }

    #[test]
    fn room_is_what_is_left_above_the_reserve() {
        assert_eq!(room(3 * G, 100 * G, G, 5), 2 * G);
        assert_eq!(room(G, 100 * G, G, 5), 0);
        assert_eq!(room(G / 2, 100 * G, G, 5), 0);
    }

    #[test]
    fn the_data_directory_disk_can_be_asked() {
        let (available, total) = disk(Path::new(".")).unwrap();
        assert!(total > 0 && available <= total);
    }
}
