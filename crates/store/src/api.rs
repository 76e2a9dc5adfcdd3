//! The one seam between the protocol sessions and stored mail: an async
//! interface, [`MailStore`]. Sessions (IMAP, POP3) reach mailboxes and
//! message bodies only through it: bodies are opened by id as async readers
//! ([`MailStore::open_body`]), never by path, and whatever blocks (SQLite,
//! file reads) runs on the backend's own blocking pool, never on the
//! runtime's threads. SQLite is one implementation (`sqlite_api.rs`);
//! PostgreSQL is to be another, checked by the same suite (`api_suite.rs`).
//!
//! Dyn-compatible on purpose: the backend is chosen at run time (from the
//! config, once there are two), so sessions hold an `Arc<dyn MailStore>`.
//! Native `async fn` in traits (Rust 1.75+) is not dyn-compatible, so each
//! method returns a boxed future ([`StoreFuture`]) — no `async_trait` macro,
//! and one allocation per call, small beside the trip to the blocking pool.
//!
//! The directory (users, passwords, aliases) is not behind this seam yet:
//! issue 14 item 2 splits it out of the store.

use crate::append::Upload;
use crate::mailbox::MessageInfo;
use crate::{
    BlobId, BlobWriter, Change, Changes, Committed, Copied, Delivery, FlagOp, FlagUpdate, Folder,
    InboxRenamed, MailboxId, SpamTraining, StoreError, UserId,
};
use std::future::Future;
use std::io::SeekFrom;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncSeek, ReadBuf};
use tokio::sync::{broadcast, oneshot};

/// What every [`MailStore`] method returns: a future that is `Send`, so
/// sessions stay spawnable.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// One APPEND command's result: (UIDVALIDITY, new UIDs), or why it was refused.
pub type AppendResult = Result<(u32, Vec<u32>), StoreError>;

/// What a body reader must be: readable and seekable without blocking.
pub trait BodyRead: AsyncRead + AsyncSeek + Send + Unpin {}
impl<T: AsyncRead + AsyncSeek + Send + Unpin> BodyRead for T {}

/// A message body opened for reading, with its length.
pub struct Body {
    reader: Box<dyn BodyRead>,
    len: u64,
}

impl Body {
    pub fn new(reader: Box<dyn BodyRead>, len: u64) -> Body {
        Body { reader, len }
    }

    /// Its size in octets, as stored.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl AsyncRead for Body {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.reader).poll_read(cx, buf)
    }
}

impl AsyncSeek for Body {
    fn start_seek(mut self: Pin<&mut Self>, position: SeekFrom) -> std::io::Result<()> {
        Pin::new(&mut *self.reader).start_seek(position)
    }

    fn poll_complete(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<u64>> {
        Pin::new(&mut *self.reader).poll_complete(cx)
    }
}

/// Blocking access to bodies, for work that reads many of them in a row
/// (SEARCH's BODY and TEXT keys) and so runs whole on the store's pool
/// ([`MailStore::scan`]) rather than paying one trip per body.
pub trait BodyFiles {
    /// The whole body; None when it is gone (expunged meanwhile).
    fn read(&self, id: &BlobId) -> Result<Option<Vec<u8>>, StoreError>;
    /// The body as a reader, to read only its start; None when gone.
    fn open(&self, id: &BlobId) -> Result<Option<Box<dyn std::io::Read + Send>>, StoreError>;
}

/// A job for [`MailStore::scan`].
pub type ScanJob = Box<dyn FnOnce(&dyn BodyFiles) + Send>;

/// Mailboxes and message bodies, as the protocol sessions see them.
pub trait MailStore: Send + Sync + 'static {
    // Bodies.

    /// Opens a body by id; None when it is gone (expunged meanwhile).
    fn open_body<'a>(&'a self, id: &'a BlobId) -> StoreFuture<'a, Option<Body>>;
    /// Reads a whole body at once (one trip, for small ones); None when gone.
    fn read_body<'a>(&'a self, id: &'a BlobId) -> StoreFuture<'a, Option<Vec<u8>>>;
    /// Runs `job` on the store's blocking pool with blocking access to bodies.
    fn scan(&self, job: ScanJob) -> StoreFuture<'_, ()>;
    /// Starts a new body (SMTP DATA, APPEND); it is kept once committed.
    fn create_blob(&self) -> StoreFuture<'_, BlobWriter>;
    /// Commits an accepted message: into the local recipients' INBOXes and
    /// the outbound queue, durable before it returns (the 250 follows).
    fn commit(&self, delivery: Delivery) -> StoreFuture<'_, Committed>;
    /// [`MailStore::commit`] with the message's journal entry for auditors
    /// (archive.rs), durable in the same step.
    fn commit_archived(
        &self,
        delivery: Delivery,
        archive: Option<crate::archive::ArchiveEnvelope>,
    ) -> StoreFuture<'_, Committed>;
    /// Group commit of APPEND commands: one result per command, in order;
    /// `Err` when the batch as a whole failed. Durable before it returns.
    fn append_batch(
        &self,
        commands: Vec<(MailboxId, Vec<Upload>)>,
    ) -> StoreFuture<'_, Vec<AppendResult>>;

    // Mailboxes and their state.

    fn mailbox<'a>(&'a self, user: UserId, name: &'a str) -> StoreFuture<'a, Option<MailboxId>>;
    /// (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ).
    fn mailbox_state(&self, mailbox: MailboxId) -> StoreFuture<'_, (u32, u32, u64)>;
    fn messages(&self, mailbox: MailboxId) -> StoreFuture<'_, Vec<MessageInfo>>;
    /// Messages, unseen, \Deleted and octets, without reading the list (counts.rs).
    fn mailbox_counts(&self, mailbox: MailboxId) -> StoreFuture<'_, crate::MailboxCounts>;
    /// The messages and the HIGHESTMODSEQ they are current to, read at one instant.
    fn snapshot(&self, mailbox: MailboxId) -> StoreFuture<'_, (Vec<MessageInfo>, u64)>;
    fn changes_since(&self, mailbox: MailboxId, modseq: u64) -> StoreFuture<'_, Changes>;
    /// (octets used, quota; 0 for none).
    fn usage(&self, user: UserId) -> StoreFuture<'_, (u64, u64)>;
    /// Mailbox changes made by this process, for IDLE.
    fn subscribe(&self) -> broadcast::Receiver<Change>;

    // Folders.

    fn folders(&self, user: UserId) -> StoreFuture<'_, Vec<Folder>>;
    fn create_folder<'a>(&'a self, user: UserId, name: &'a str) -> StoreFuture<'a, MailboxId>;
    fn delete_folder<'a>(&'a self, user: UserId, name: &'a str) -> StoreFuture<'a, ()>;
    fn rename_folder<'a>(&'a self, user: UserId, from: &'a str, to: &'a str)
        -> StoreFuture<'a, ()>;
    fn rename_inbox<'a>(&'a self, user: UserId, to: &'a str) -> StoreFuture<'a, InboxRenamed>;
    fn subscriptions(&self, user: UserId) -> StoreFuture<'_, Vec<String>>;
    fn set_subscribed<'a>(&'a self, user: UserId, name: &'a str, on: bool) -> StoreFuture<'a, ()>;

    // Messages.

    /// See `Store::store_flags`: (updates, UIDs refused by UNCHANGEDSINCE).
    fn store_flags<'a>(
        &'a self,
        mailbox: MailboxId,
        uids: &'a [u32],
        op: FlagOp,
        given: &'a [String],
        unchanged_since: Option<u64>,
    ) -> StoreFuture<'a, (Vec<FlagUpdate>, Vec<u32>)>;
    fn copy<'a>(
        &'a self,
        src: MailboxId,
        dst: MailboxId,
        uids: &'a [u32],
    ) -> StoreFuture<'a, Copied>;
    fn move_messages<'a>(
        &'a self,
        src: MailboxId,
        dst: MailboxId,
        uids: &'a [u32],
    ) -> StoreFuture<'a, Copied>;
    /// Removes these messages; the UIDs actually removed.
    fn expunge<'a>(&'a self, mailbox: MailboxId, uids: &'a [u32]) -> StoreFuture<'a, Vec<u32>>;

    // \Recent (RFC 3501 §2.3.2): one session claims each message.

    fn recent_from(&self, mailbox: MailboxId) -> StoreFuture<'_, u32>;
    fn claim_recent(&self, mailbox: MailboxId, upto: u32) -> StoreFuture<'_, u32>;
    fn recent_count(&self, mailbox: MailboxId) -> StoreFuture<'_, u32>;

    // The learning spam classifier (SPEC P7): messages a user moves into or
    // out of Junk.

    /// Adds these counts to the model, all or nothing.
    fn spam_train(&self, training: SpamTraining) -> StoreFuture<'_, ()>;
}

/// [`MailStore::scan`] with a result: runs `f` on the store's pool.
pub async fn scan_bodies<R: Send + 'static>(
    store: &dyn MailStore,
    f: impl FnOnce(&dyn BodyFiles) -> R + Send + 'static,
) -> Result<R, StoreError> {
    let (tx, rx) = oneshot::channel();
    store
        .scan(Box::new(move |files| {
            let _ = tx.send(f(files));
        }))
        .await?;
    rx.await.map_err(|_| StoreError::Unavailable)
}
