//! The outbound queue's durable half: the rows that say which remote
//! recipients a committed message still owes, and what became of each
//! attempt. The scheduler, routing, retries and bounces that act on these
//! rows are `postern-queue`; the bodies are the store's blobs, shared with
//! the mailboxes.
//!
//! These rows live in the store, not in `postern-queue`, because the store
//! writes them where a message becomes durable: the group commit inserts a
//! message's queue rows in the transaction that commits it (commit.rs), and
//! an attempt's outcome is recorded with the bounce it produced, which is a
//! commit too (attempts.rs). Moving them out would make the store depend on
//! the queue, which depends on the store.
//!
//! - `rows.rs`: what a commit inserts, and the listing `postern queue list` shows;
//! - `attempts.rs`: what the scheduler reads (due recipients, one message)
//!   and records (outcomes, with their notices, in one transaction);
//! - `admin.rs`: retry now, delete, hold and release (SPEC M4);
//! - `api.rs`: [`QueueStore`], the async seam the scheduler and the CLI use,
//!   as `MailStore` is for the mailboxes.

mod admin;
mod api;
mod attempts;
mod rows;

pub use admin::QueueSelect;
pub use api::QueueStore;
pub use attempts::{
    DueRecipient, OutboundMessage, OutboundRecipient, QueueReport, RecipientStatus,
    RecipientUpdate, Recorded,
};
pub(crate) use rows::enqueue;
pub use rows::{QueueEntry, QueuedRecipient};

#[cfg(test)]
mod tests;
