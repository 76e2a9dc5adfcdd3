//! The journal archive's entry for a notice the queue sends (SPEC M8, issue
//! 21 item 4): DSNs and delay warnings are mail too, so with
//! `archive.enabled` each is archived once, from the null sender to the
//! original sender, in the transaction that delivers or queues it. There
//! is no client: the client field is empty.

use postern_config::Archive;
use postern_store::archive::{envelope_for, ArchiveEnvelope, Direction};
use postern_store::Delivery;

/// The notice's envelope to archive, or None when archiving is off.
pub fn envelope(cfg: &Archive, notice: &Delivery, to: &str, now: i64) -> Option<ArchiveEnvelope> {
    // As a session decides: local when no copy leaves (the sender is here).
    let direction = match notice.remote.is_empty() {
        true => Direction::Local,
        false => Direction::Out,
    };
    envelope_for(
        cfg,
        direction,
        &notice.sender,
        vec![to.to_string()],
        String::new(),
        now,
    )
}
