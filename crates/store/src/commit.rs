//! The group committer: the one place where accepted messages become durable.
//!
//! Sessions hand over a [`Delivery`] whose body file is already fsync'd. The
//! committer thread takes every delivery waiting, fsyncs the spool directory
//! once, writes all rows in one transaction (one WAL fsync), moves the bodies
//! into place, and only then answers each session — which may then send its
//! 250. Under load one fsync pair covers many messages.

use crate::blob::{sync_dir, FinishedBlob};
use crate::mailbox::{self, Change};
use crate::{BlobId, Store, StoreError, UserId};
use rusqlite::{Connection, OptionalExtension, Transaction};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use tokio::sync::{broadcast, oneshot, Notify};

/// Deliveries made durable by one commit at most.
const MAX_BATCH: usize = 512;

/// An external recipient, with its DSN parameters (RFC 3461).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteRecipient {
    pub address: String,
    pub orcpt: Option<String>,
    /// NOTIFY bits as smtp-proto defines them (0 = not given).
    pub notify: u64,
}

/// A received message and who gets it.
#[derive(Debug)]
pub struct Delivery {
    pub blob: FinishedBlob,
    pub sender: String,
    pub local: Vec<UserId>,
    pub remote: Vec<RemoteRecipient>,
    pub env_id: Option<String>,
    pub ret: Option<String>,
    pub smtputf8: bool,
    pub internal_date: i64,
    /// Header fields sent before the body to remote recipients only (the
    /// DKIM signatures made for the copy that leaves); empty for none.
    pub prepend: Vec<u8>,
    /// Into each local recipient's Junk folder instead of INBOX (a DMARC
    /// quarantine); INBOX when the user has no Junk folder.
    pub junk: bool,
}

/// What a commit did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committed {
    pub id: BlobId,
    pub delivered: usize,
    pub queued: usize,
}

struct Job {
    delivery: Delivery,
    /// The journal entry to write with it (archive.rs), when archiving is on.
    archive: Option<crate::archive::ArchiveEnvelope>,
    reply: oneshot::Sender<Result<Committed, StoreError>>,
}

pub(crate) struct Committer {
    jobs: mpsc::Sender<Job>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The committer's thread ends (closing its connection) before the store
/// is gone: a process that returns from main while that thread still
/// closes an encrypted database races OpenSSL's exit-time cleanup, which
/// SQLCipher uses (a CLI `av quarantine release` was seen to die by SIGSEGV
/// after its work was done).
impl Drop for Committer {
    fn drop(&mut self) {
        let (closed, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.jobs, closed));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Committer {
    fn start(
        path: PathBuf,
        blobs: PathBuf,
        changes: broadcast::Sender<Change>,
        queued: Arc<Notify>,
        keys: Option<&crate::crypt::AtRestKeys>,
    ) -> Result<Committer, StoreError> {
        let conn = crate::db::open(&path, keys)?;
        let (jobs, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("postern-commit".into())
            .spawn(move || run(conn, rx, &blobs, changes, queued))
            .map_err(|e| StoreError::io(&path, e))?;
        Ok(Committer {
            jobs,
            thread: Some(thread),
        })
    }
}

impl Store {
    /// Makes a delivery durable; returns once body and rows are on disk.
    pub async fn commit(&self, delivery: Delivery) -> Result<Committed, StoreError> {
        self.commit_archived(delivery, None).await
    }

    /// [`Store::commit`], with the message's archive entry (archive.rs) in
    /// the same transaction when `archive` is given.
    pub async fn commit_archived(
        &self,
        delivery: Delivery,
        archive: Option<crate::archive::ArchiveEnvelope>,
    ) -> Result<Committed, StoreError> {
        let committer = match self.inner.committer.get() {
            Some(c) => c,
            None => {
                let c = Committer::start(
                    self.db_path(),
                    self.root().join("blobs"),
                    self.inner.changes.clone(),
                    self.inner.queue_wakeup.clone(),
                    self.read_keys(),
                )?;
                self.inner.committer.get_or_init(|| c)
            }
        };
        let (reply, answer) = oneshot::channel();
        committer
            .jobs
            .send(Job {
                delivery,
                archive,
                reply,
            })
            .map_err(|_| StoreError::Unavailable)?;
        answer.await.map_err(|_| StoreError::Unavailable)?
    }
}

fn run(
    mut conn: Connection,
    rx: mpsc::Receiver<Job>,
    blobs: &Path,
    changes: broadcast::Sender<Change>,
    queued: Arc<Notify>,
) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if commit_batch(&mut conn, batch, blobs, &changes) {
            queued.notify_one();
        }
    }
}

/// Returns whether remote recipients were queued.
fn commit_batch(
    conn: &mut Connection,
    batch: Vec<Job>,
    blobs: &Path,
    changes: &broadcast::Sender<Change>,
) -> bool {
    let dirs: BTreeSet<PathBuf> = batch
        .iter()
        .filter_map(|j| j.delivery.blob.dir().map(Path::to_path_buf))
        .collect();
    if let Some(e) = dirs.iter().find_map(|d| sync_dir(d).err()) {
        fail_all(batch, &e);
        return false;
    }
    let tx = match conn.transaction() {
        Ok(tx) => tx,
        Err(e) => {
            fail_all(batch, &e.into());
            return false;
        }
    };
    let mut results = Vec::with_capacity(batch.len());
    let mut touched = Vec::new();
    for job in &batch {
        results.push(apply_isolated(&tx, job, &mut touched));
    }
    if let Err(e) = tx.commit() {
        fail_all(batch, &e.into());
        return false;
    }
    let mut queued = false;
    for (job, result) in batch.into_iter().zip(results) {
        if let Ok(c) = &result {
            queued |= c.queued > 0;
            job.delivery.blob.keep(blobs);
        }
        let _ = job.reply.send(result);
    }
    for change in touched {
        let _ = changes.send(change);
    }
    queued
}

/// The folder a local delivery goes to: the special-use \\Junk folder
/// (RFC 6154) when asked and present, else INBOX.
fn target(
    tx: &Transaction<'_>,
    user: UserId,
    junk: bool,
) -> Result<Option<mailbox::MailboxId>, StoreError> {
    if junk {
        let mut st = tx.prepare_cached(
            "SELECT id FROM mailboxes WHERE user_id = ?1 AND special_use = '\\Junk' LIMIT 1",
        )?;
        if let Some(id) = st.query_row([user.0], |r| r.get(0)).optional()? {
            return Ok(Some(mailbox::MailboxId(id)));
        }
    }
    mailbox::find(tx, user, "INBOX")
}

/// Applies one delivery under a savepoint, so its failure leaves the batch intact.
fn apply_isolated(
    tx: &Transaction<'_>,
    job: &Job,
    touched: &mut Vec<Change>,
) -> Result<Committed, StoreError> {
    apply_archived(tx, &job.delivery, job.archive.as_ref(), touched)
}

/// [`apply`] and the archive entry, both or neither (the queue's notices
/// come this way too, outbound/attempts.rs).
pub(crate) fn apply_archived(
    tx: &Transaction<'_>,
    d: &Delivery,
    archive: Option<&crate::archive::ArchiveEnvelope>,
    touched: &mut Vec<Change>,
) -> Result<Committed, StoreError> {
    tx.execute_batch("SAVEPOINT delivery")?;
    let mark = touched.len();
    let done = apply(tx, d, touched).and_then(|c| match archive {
        Some(env) => {
            crate::archive::record(tx, &c.id, d.blob.size(), d.internal_date, env).map(|()| c)
        }
        None => Ok(c),
    });
    match done {
        Ok(c) => {
            tx.execute_batch("RELEASE delivery")?;
            Ok(c)
        }
        Err(e) => {
            touched.truncate(mark);
            tx.execute_batch("ROLLBACK TO delivery; RELEASE delivery")?;
            Err(e)
        }
    }
}

pub(crate) fn apply(
    tx: &Transaction<'_>,
    d: &Delivery,
    touched: &mut Vec<Change>,
) -> Result<Committed, StoreError> {
    let id = d.blob.id().clone();
    crate::inline::record(tx, &d.blob, 0)?;
    let mut delivered = 0;
    for user in &d.local {
        // A user deleted since RCPT simply gets nothing.
        if let Some(inbox) = target(tx, *user, d.junk)? {
            mailbox::append(tx, inbox, &id, d.blob.size(), d.internal_date, "")?;
            touched.push(Change {
                user: *user,
                mailbox: inbox,
            });
            delivered += 1;
        }
    }
    if !d.remote.is_empty() {
        crate::outbound::enqueue(tx, &id, d)?;
    }
    if delivered == 0 && d.remote.is_empty() {
        return Err(StoreError::Invalid(
            "no recipient left to deliver to".into(),
        ));
    }
    Ok(Committed {
        id,
        delivered,
        queued: d.remote.len(),
    })
}

fn fail_all(batch: Vec<Job>, e: &StoreError) {
    for job in batch {
        let _ = job.reply.send(Err(StoreError::Commit(e.to_string())));
    }
}
