//! Identifiers that must never repeat: blob/queue ids and message GUIDs.

use rand::Rng;
use std::time::{SystemTime, UNIX_EPOCH};

/// A new id: milliseconds since the epoch then 40 random bits, in lowercase hex
/// (sorts by time, like Postfix's long queue ids, and is safe as a file name).
pub(crate) fn new_id() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let r: u64 = rand::rng().random::<u64>() & 0xff_ffff_ffff;
    format!("{ms:011x}{r:010x}")
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_unique_and_fixed_width() {
        let a = super::new_id();
        let b = super::new_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 21);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
