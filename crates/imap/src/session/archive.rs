//! The archive's period folders for auditors (SPEC M8, issue 21 item 4;
//! the store's archive_view.rs serves them): always read-only, and a
//! change asked of one is refused with NOPERM (RFC 5530 §3), not READ-ONLY,
//! since no mode of selecting it would allow it.

use super::reply::Reply;
use super::select::Selected;

impl Selected {
    /// The reply to a change asked of a read-only selected mailbox.
    pub fn read_only_reply(&self) -> Reply {
        if self.id.is_archive() {
            Reply::no("The archive is read-only").code("NOPERM")
        } else {
            Reply::no("Mailbox is read-only").code("READ-ONLY")
        }
    }
}
