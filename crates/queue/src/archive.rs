//! The journal archive's entry for a notice the queue sends (SPEC M8, issue
//! 21 item 4): DSNs and delay warnings are mail too, so with
//! `archive.enabled` each is archived once, from the null sender to the
//! original sender, in the transaction that delivers or queues it. There
//! is no client: the client field is empty.

use postern_config::{Archive, ArchivePeriod};
use postern_store::archive::{period_label, ArchiveEnvelope, Direction, Period};
use postern_store::Delivery;

/// The notice's envelope to archive, or None when archiving is off.
pub fn envelope(cfg: &Archive, notice: &Delivery, to: &str, now: i64) -> Option<ArchiveEnvelope> {
    if !cfg.enabled {
        return None;
    }
    let period = match cfg.period {
        ArchivePeriod::Day => Period::Day,
        ArchivePeriod::Week => Period::Week,
        ArchivePeriod::Month => Period::Month,
    };
    // As a session decides: local when no copy leaves (the sender is here).
    let direction = match notice.remote.is_empty() {
        true => Direction::Local,
        false => Direction::Out,
    };
    Some(ArchiveEnvelope {
        direction,
        sender: notice.sender.clone(),
        recipients: vec![to.to_string()],
        client_ip: String::new(),
        period: period_label(now, period),
    })
}
