//! The Postern store.
//!
//! Metadata (mailboxes, messages, flags, the outbound queue's rows) lives in
//! SQLite in WAL mode with `synchronous=FULL`; message bodies are files under
//! `blobs/`, one per accepted message, shared by every mailbox and queue
//! entry that holds it. The public API speaks in Postern's own types only
//! (no SQL types leak), so a PostgreSQL backend can stand behind the same
//! API later.
//!
//! The directory (domains, users, aliases, groups, roles, secrets, limits)
//! is not here: it is `postern-directory`, which keeps its tables in this
//! same database through [`shared_db`] (the one place where a connection
//! is lent out) and sits above the store. The store reads `users` only as
//! the owners of mailboxes: id, quota, bytes used.
//!
//! Writes from mail sessions go through the group committer ([`commit`]):
//! several sessions' messages are made durable by one directory fsync and one
//! transaction commit. Reads go through a small pool of read-only
//! connections (readers.rs), so they do not wait behind a write's fsync.

pub mod api;
mod api_webmail;
pub mod append;
pub mod archive;
pub mod archive_view;
pub mod attachment_rules;
pub mod backup;
mod blob;
pub mod changes;
mod commit;
pub mod contacts;
mod copy;
pub mod counters;
pub mod counts;
pub mod crypt;
mod db;
pub mod dmarc_reports;
mod error;
pub mod export;
pub mod export_maildir;
mod expunge;
pub mod fetch_accounts;
pub mod flags;
pub mod folders;
pub mod greylist;
mod ids;
pub mod import;
mod inline;
mod lazy_sync;
pub mod mailbox;
pub mod outbound;
pub mod quarantine;
mod quick;
mod readers;
mod recent;
mod rename_inbox;
mod seal;
mod secret;
pub mod sender_lists;
mod server_key;
pub mod shared_db;
pub mod spam_model;
pub mod spam_rules;
mod spill;
mod spool;
mod sqlite_api;
pub mod subscriptions;
pub mod webmail_prefs;

pub use api::{scan_bodies, Body, BodyFiles, MailStore};
pub use api_webmail::WebmailStore;
pub use attachment_rules::AttachmentRuleRow;
pub use blob::{BlobId, BlobWriter, FinishedBlob};
pub use changes::Changes;
pub use commit::{Committed, Delivery, RemoteRecipient};
pub use contacts::Contact;
pub use copy::Copied;
pub use counts::MailboxCounts;
pub use dmarc_reports::{DmarcRow, RowAdded, StoredDmarcRow};
pub use error::StoreError;
pub use flags::{FlagOp, FlagUpdate};
pub use folders::Folder;
pub use mailbox::{Change, MailboxId, SPECIAL_FOLDERS};
pub use outbound::{
    DueRecipient, OutboundMessage, OutboundRecipient, QueueEntry, QueueReport, QueueSelect,
    QueueStore, QueuedRecipient, RecipientStatus, RecipientUpdate, Recorded,
};
pub use rename_inbox::InboxRenamed;
pub use secret::Secret;
pub use sender_lists::{SenderList, SenderListed};
pub use server_key::key_path;
pub use spam_model::{SpamModel, SpamTraining};
pub use spam_rules::SpamRuleRow;

use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, TryLockError};
use tokio::sync::{broadcast, Notify};

/// A user's numeric id; stable for the life of the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub i64);

/// Handle to an open store. Cheap to clone; all clones share one database.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    conn: Mutex<Connection>,
    /// Read-only connections for reads (readers.rs).
    readers: readers::Readers,
    committer: OnceLock<commit::Committer>,
    /// Fsyncs flag changes and expunges within a second (lazy_sync.rs).
    lazy: OnceLock<lazy_sync::LazySync>,
    /// Whether the thread that gives old inline bodies their files runs (spill.rs).
    spiller: OnceLock<bool>,
    changes: broadcast::Sender<Change>,
    /// Woken when remote recipients are queued or the queue is changed.
    queue_wakeup: Arc<Notify>,
    /// DIR/keys/server.key, read at first need (server_key.rs).
    keys: OnceLock<server_key::ServerKeys>,
    /// Encryption at rest (crypt/): the keys when the store is encrypted.
    crypt: Option<(Arc<crypt::AtRestKeys>, crypt::Mode)>,
}

impl Store {
    /// Opens (creating when missing) the store under `data_dir`: `db/`, `blobs/`, `queue/`.
    /// When the store is encrypted, the passphrase is read first (crypt/passphrase.rs)
    /// and a wrong one is refused before anything is touched.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        Store::open_with_keys(data_dir, crypt::unlock(data_dir)?)
    }

    /// [`Store::open`] with keys already unwrapped (the conversion's own).
    pub fn open_with_keys(
        data_dir: &Path,
        crypt: Option<(Arc<crypt::AtRestKeys>, crypt::Mode)>,
    ) -> Result<Store, StoreError> {
        for sub in ["db", "blobs", "queue"] {
            let p = data_dir.join(sub);
            std::fs::create_dir_all(&p).map_err(|e| StoreError::io(&p, e))?;
        }
        spool::prepare(&data_dir.join("queue").join("incoming"))?;
        let db_path = data_dir.join("db").join("postern.db");
        let keys = crypt.as_ref().map(|(k, _)| k.clone());
        let conn = db::open(&db_path, keys.as_deref())?;
        let (changes, _) = broadcast::channel(1024);
        Ok(Store {
            inner: Arc::new(Inner {
                root: data_dir.to_path_buf(),
                conn: Mutex::new(conn),
                readers: readers::Readers::new(&db_path, keys),
                committer: OnceLock::new(),
                lazy: OnceLock::new(),
                spiller: OnceLock::new(),
                changes,
                queue_wakeup: Arc::new(Notify::new()),
                keys: OnceLock::new(),
                crypt,
            }),
        })
    }

    /// The keys new bodies are encrypted with: None when the store is not
    /// encrypted or is being decrypted.
    pub(crate) fn blob_key(&self) -> Option<&crypt::AtRestKeys> {
        match &self.inner.crypt {
            Some((k, m)) if *m != crypt::Mode::Disabling => Some(k),
            _ => None,
        }
    }

    pub(crate) fn blob_key_arc(&self) -> Option<Arc<crypt::AtRestKeys>> {
        self.blob_key()
            .map(|_| self.inner.crypt.as_ref().expect("keys").0.clone())
    }

    /// The forms the bodies are in, from the store's mode (crypt/body_file.rs).
    pub(crate) fn body_forms(&self) -> crypt::Forms<'_> {
        crypt::Forms::of(self.inner.crypt.as_ref().map(|(k, m)| (&**k, *m)))
    }

    /// The keys for reading, whatever the mode.
    pub(crate) fn read_keys(&self) -> Option<&crypt::AtRestKeys> {
        self.inner.crypt.as_ref().map(|(k, _)| &**k)
    }

    /// The data directory this store lives in.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    fn db_path(&self) -> PathBuf {
        self.inner.root.join("db").join("postern.db")
    }

    /// The flusher that makes relaxed commits durable (lazy_sync.rs).
    fn lazy(&self) -> &lazy_sync::LazySync {
        self.inner
            .lazy
            .get_or_init(|| lazy_sync::LazySync::start(&self.db_path()))
    }

    /// The shared connection for reads and administrative writes.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back on drop).
        self.inner.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The shared connection for a relaxed write (lazy_sync.rs); in quick
    /// mode (quick.rs) only when it is free at this instant, else `WouldWait`.
    fn writer(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        if !quick::active() {
            self.lazy().pool_turn();
            return Ok(self.conn());
        }
        if !self.lazy().quick_turn() {
            return Err(StoreError::WouldWait);
        }
        match self.inner.conn.try_lock() {
            Ok(conn) => Ok(conn),
            Err(TryLockError::Poisoned(p)) => Ok(p.into_inner()),
            Err(TryLockError::WouldBlock) => Err(StoreError::WouldWait),
        }
    }

    /// A connection for reads only; see readers.rs for the rules (leaf
    /// methods only, nothing that writes). The shared connection when it is
    /// free at this moment, else one from the reader pool. The shared one
    /// makes the IMAP writes, so its page cache survives them, while every
    /// commit by another connection empties a reader's whole cache: reading
    /// there spares re-reading (and, encrypted, decrypting and authenticating)
    /// those pages (issue 14 item 4: -15 % CPU per IMAP operation encrypted,
    /// -10 % plaintext). `try_lock` never waits, so this adds no deadlock,
    /// and a read never queues behind a write.
    ///
    /// In quick mode (quick.rs) nothing waits and nothing is opened: the
    /// shared connection or an idle pooled one, else [`StoreError::WouldWait`].
    fn reader(&self) -> Result<readers::ReadConn<'_>, StoreError> {
        let quick = quick::active();
        match self.inner.conn.try_lock() {
            Ok(conn) => return Ok(readers::ReadConn::Shared(conn)),
            // As `conn`: a panicked holder left SQLite consistent.
            Err(TryLockError::Poisoned(p)) => return Ok(readers::ReadConn::Shared(p.into_inner())),
            Err(TryLockError::WouldBlock) if !self.inner.readers.enabled() => {
                if quick {
                    return Err(StoreError::WouldWait);
                }
                return Ok(readers::ReadConn::Shared(self.conn()));
            }
            Err(TryLockError::WouldBlock) => {}
        }
        if quick {
            return match self.inner.readers.take_idle() {
                Some(r) => Ok(readers::ReadConn::Pooled(r)),
                None => Err(StoreError::WouldWait),
            };
        }
        Ok(readers::ReadConn::Pooled(self.inner.readers.take()?))
    }

    /// Switches the reader pool off (reads then share the write connection)
    /// or back on; for measurements and tests.
    #[cfg(test)]
    pub(crate) fn set_read_pool(&self, on: bool) {
        self.inner.readers.set_enabled(on);
    }

    /// Mailbox changes made by this process (deliveries, later flag changes), for IDLE.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.inner.changes.subscribe()
    }

    /// Tells IDLE sessions about mailboxes a write changed.
    pub(crate) fn announce(&self, touched: Vec<Change>) {
        for change in touched {
            let _ = self.inner.changes.send(change);
        }
    }

    /// Notified when remote recipients are queued by this process, so the
    /// outbound scheduler need not wait for its next poll.
    pub fn queue_wakeup(&self) -> Arc<Notify> {
        self.inner.queue_wakeup.clone()
    }
}

#[cfg(test)]
mod api_suite;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_append;
#[cfg(test)]
mod tests_archive;
#[cfg(test)]
mod tests_imap;
#[cfg(test)]
mod tests_inline;
#[cfg(test)]
mod tests_list_index;
#[cfg(test)]
mod tests_quick;
#[cfg(test)]
mod tests_read_latency;
#[cfg(test)]
mod tests_readers;
