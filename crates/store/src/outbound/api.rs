//! The outbound queue's side of the seam ([`QueueStore`]): what the
//! scheduler and the delivery runs read and record, async like
//! [`MailStore`] (whose bodies and blobs it shares: a queued message's body
//! is opened by id too), and the admin commands (`postern queue …`). The
//! SQLite backend runs each call on its blocking pool.

use super::rows::QueueEntry;
use crate::api::{MailStore, StoreFuture};
use crate::{DueRecipient, OutboundMessage, QueueReport, QueueSelect, Recorded, Store};
use std::sync::Arc;
use tokio::sync::Notify;

/// The durable outbound queue, as the scheduler and delivery see it.
pub trait QueueStore: MailStore {
    /// Recipients whose next attempt is due at `now`, oldest first, at most `limit`.
    fn queue_due(&self, now: i64, limit: usize) -> StoreFuture<'_, Vec<DueRecipient>>;
    /// A queued message with its recipients; None when it has left the queue.
    fn queue_message<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<OutboundMessage>>;
    /// Records attempts' outcomes (and their notices) in one transaction.
    fn queue_record(&self, reports: Vec<QueueReport>) -> StoreFuture<'_, Vec<Recorded>>;
    /// Notified when this process queues remote recipients or changes the queue.
    fn queue_wakeup(&self) -> Arc<Notify>;

    // Administration.

    /// Every queued message with its recipients, oldest first.
    fn queue_list(&self) -> StoreFuture<'_, Vec<QueueEntry>>;
    fn queue_get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<QueueEntry>>;
    /// Makes the active recipients due now; how many.
    fn queue_retry<'a>(&'a self, which: QueueSelect<'a>) -> StoreFuture<'a, usize>;
    /// Removes a message without delivering or bouncing it.
    fn queue_delete<'a>(&'a self, id: &'a str) -> StoreFuture<'a, ()>;
    fn queue_hold<'a>(&'a self, id: &'a str, hold: bool) -> StoreFuture<'a, ()>;
}

impl QueueStore for Store {
    fn queue_due(&self, now: i64, limit: usize) -> StoreFuture<'_, Vec<DueRecipient>> {
        self.blocking(move |s| Store::queue_due(s, now, limit))
    }

    fn queue_message<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<OutboundMessage>> {
        let id = id.to_string();
        self.blocking(move |s| Store::queue_message(s, &id))
    }

    fn queue_record(&self, reports: Vec<QueueReport>) -> StoreFuture<'_, Vec<Recorded>> {
        self.blocking(move |s| Store::queue_record(s, reports))
    }

    fn queue_wakeup(&self) -> Arc<Notify> {
        Store::queue_wakeup(self)
    }

    fn queue_list(&self) -> StoreFuture<'_, Vec<QueueEntry>> {
        self.blocking(Store::queue_list)
    }

    fn queue_get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<QueueEntry>> {
        let id = id.to_string();
        self.blocking(move |s| Store::queue_get(s, &id))
    }

    fn queue_retry<'a>(&'a self, which: QueueSelect<'a>) -> StoreFuture<'a, usize> {
        let one = match which {
            QueueSelect::One(id) => Some(id.to_string()),
            QueueSelect::All => None,
        };
        self.blocking(move |s| match &one {
            Some(id) => Store::queue_retry(s, QueueSelect::One(id)),
            None => Store::queue_retry(s, QueueSelect::All),
        })
    }

    fn queue_delete<'a>(&'a self, id: &'a str) -> StoreFuture<'a, ()> {
        let id = id.to_string();
        self.blocking(move |s| Store::queue_delete(s, &id))
    }

    fn queue_hold<'a>(&'a self, id: &'a str, hold: bool) -> StoreFuture<'a, ()> {
        let id = id.to_string();
        self.blocking(move |s| Store::queue_hold(s, &id, hold))
    }
}
