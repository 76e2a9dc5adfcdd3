//! DMARC aggregate reports (issue 15, item 12; RFC 7489 §7.2), off by
//! default (`auth.dmarc_reports`). At the end of DATA the session turns a
//! message's DMARC result into a [`row`] counted in the store, per
//! reporting period (`auth.dmarc_report_interval`). After a period ends the
//! server's periodic task, or `postern dmarc report`, [`send`]s each policy
//! domain's rows as one Appendix C [`xml`] document, gzip'd and attached to
//! a [`message`] queued to every `mailto:` rua — after the §7.1
//! [`external`] destination check and within the rua's `!size` limit.
//!
//! Everything but `send` and `external` is pure: rows in, bytes out.

pub mod external;
pub mod message;
pub mod period;
pub mod row;
pub mod send;
pub mod xml;

pub use row::row_of;
pub use send::{send_due, Outcome};

/// Rows a reporting period holds at most (RFC 7489 §7.2 does not bound a
/// report; we do): past it new sources are not recorded, and mail.log says so.
pub const MAX_ROWS_PER_PERIOD: usize = 10_000;
