//! Adding a message a client uploads (IMAP APPEND, RFC 3501 §6.3.11).
//!
//! The same durability as a delivery (see [`crate::commit`]): the body file
//! is already fsync'd by [`crate::BlobWriter::finish`]; its spool directory
//! is fsync'd, the rows are committed in one transaction and the WAL is
//! fsync'd, all before the OK, and only then is the file moved into `blobs/`
//! (a crash in between is repaired by [`Store::recover`]). A body of at most
//! [`crate::blob::HOLD`] octets finished with
//! [`crate::BlobWriter::finish_inline`] has no file: it is written into the
//! database in the same transaction as its row (inline.rs), so the WAL's
//! fsync makes both durable at once. An append is one
//! message at a time and needs its UID at once, so it commits directly
//! rather than through the group committer.
//!
//! The WAL's fsync is made after the write lock is released (issue 18 item
//! 2): held through it, the lock kept every STORE and EXPUNGE of every
//! session waiting ~1 ms behind each APPEND (under imaptest, 40 % of the
//! lock's time). The cost: for that millisecond, other sessions may already
//! see a message whose APPEND has no OK yet. A power loss inside it loses
//! that message — never one whose OK was sent — and its UID may then be
//! given again to the next message appended to the folder.

use crate::blob::{sync_dir, FinishedBlob};
use crate::flags::canonical_flags;
use crate::mailbox::{self, Change, MailboxId};
use crate::{Store, StoreError, UserId};
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior};
use std::path::Path;

/// One message of an APPEND: its body, flags and INTERNALDATE (Unix seconds).
#[derive(Debug)]
pub struct Upload {
    pub body: FinishedBlob,
    pub flags: Vec<String>,
    pub internal_date: i64,
}

impl Store {
    /// Appends `body` to `mailbox` with these flags and INTERNALDATE (Unix
    /// seconds). Returns (UIDVALIDITY, UID) once the message is durable.
    /// Over the owner's quota: [`StoreError::OverQuota`], and nothing is kept.
    pub fn append(
        &self,
        mailbox: MailboxId,
        body: FinishedBlob,
        flags: &[String],
        internal_date: i64,
    ) -> Result<(u32, u32), StoreError> {
        let upload = Upload {
            body,
            flags: flags.to_vec(),
            internal_date,
        };
        let (validity, uids) = self.append_all(mailbox, vec![upload])?;
        Ok((validity, uids.first().copied().unwrap_or(0)))
    }

    /// Appends several messages in one transaction: all are kept or none
    /// (RFC 3502 MULTIAPPEND). Returns the UIDVALIDITY and the new UIDs, in
    /// order. The quota is checked against their total size.
    pub fn append_all(
        &self,
        mailbox: MailboxId,
        uploads: Vec<Upload>,
    ) -> Result<(u32, Vec<u32>), StoreError> {
        let mut results = self.append_batch(vec![(mailbox, uploads)])?;
        results.pop().unwrap_or(Err(StoreError::Unavailable))
    }

    /// Group commit for APPEND: several commands' messages made durable by
    /// one directory fsync and one transaction (one WAL fsync), each command
    /// apart under a savepoint — all of its messages kept or none, whatever
    /// the others do. One result per command, in order. `Err` only when the
    /// batch as a whole failed (nothing kept).
    #[allow(clippy::type_complexity)]
    pub fn append_batch(
        &self,
        commands: Vec<(MailboxId, Vec<Upload>)>,
    ) -> Result<Vec<Result<(u32, Vec<u32>), StoreError>>, StoreError> {
        let dirs: std::collections::BTreeSet<_> = commands
            .iter()
            .flat_map(|(_, u)| u.iter().filter_map(|u| u.body.dir().map(Path::to_path_buf)))
            .collect();
        for d in &dirs {
            sync_dir(d)?;
        }
        if commands
            .iter()
            .any(|(_, u)| u.iter().any(|u| u.body.inline_bytes().is_some()))
        {
            self.start_spiller();
        }
        let mut conn = self.conn();
        // Committed without its fsync, which follows once the write lock is
        // free (see the module's documentation).
        let results = crate::lazy_sync::relaxed(&mut conn, |conn| insert_batch(conn, &commands))?;
        drop(conn);
        let synced = self.lazy().sync_now();
        let blobs = self.root().join("blobs");
        for ((mailbox, uploads), r) in commands.into_iter().zip(&results) {
            let Ok((user, _, _)) = r else { continue };
            for u in uploads {
                u.body.keep(&blobs);
            }
            let _ = self.inner.changes.send(Change {
                user: *user,
                mailbox,
            });
        }
        // A failed fsync: the rows stand (their bodies were kept above), but
        // no OK may claim them durable; a retried APPEND may duplicate one.
        synced.map_err(|e| StoreError::io(&self.db_path(), e))?;
        Ok(results
            .into_iter()
            .map(|r| r.map(|(_, validity, uids)| (validity, uids)))
            .collect())
    }
}

type Inserted = Result<(UserId, u32, Vec<u32>), StoreError>;

/// [`Store::append_batch`]'s transaction: each command under a savepoint.
fn insert_batch(
    conn: &mut rusqlite::Connection,
    commands: &[(MailboxId, Vec<Upload>)],
) -> Result<Vec<Inserted>, StoreError> {
    // IMMEDIATE: take the write lock now, so a concurrent writer makes us
    // wait (busy timeout) instead of failing the read-to-write upgrade.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut results = Vec::with_capacity(commands.len());
    for (mailbox, uploads) in commands {
        // Cached: parsing these anew for every APPEND showed in profiles.
        tx.prepare_cached("SAVEPOINT append")?.execute([])?;
        let r = insert_all(&tx, *mailbox, uploads);
        if r.is_err() {
            tx.prepare_cached("ROLLBACK TO append")?.execute([])?;
        }
        tx.prepare_cached("RELEASE append")?.execute([])?;
        results.push(r);
    }
    tx.commit()?;
    Ok(results)
}

/// One command's messages, inside the batch's transaction: the owner, the
/// folder's UIDVALIDITY and the new UIDs.
fn insert_all(
    tx: &Transaction<'_>,
    mailbox: MailboxId,
    uploads: &[Upload],
) -> Result<(UserId, u32, Vec<u32>), StoreError> {
    let (user, validity) = owner(tx, mailbox)?;
    check_quota(tx, user, uploads.iter().map(|u| u.body.size()).sum())?;
    let mut uids = Vec::with_capacity(uploads.len());
    for u in uploads {
        let flags = canonical_flags(u.flags.iter().map(String::as_str));
        let (id, size) = (u.body.id(), u.body.size());
        crate::inline::record(tx, &u.body, 0)?;
        uids.push(mailbox::append(
            tx,
            mailbox,
            id,
            size,
            u.internal_date,
            &flags,
        )?);
    }
    Ok((user, validity, uids))
}

/// The user a mailbox belongs to, and its UIDVALIDITY.
pub(crate) fn owner(tx: &Transaction<'_>, mailbox: MailboxId) -> Result<(UserId, u32), StoreError> {
    let row: Option<(i64, i64)> = tx
        .prepare_cached("SELECT user_id, uidvalidity FROM mailboxes WHERE id = ?1")?
        .query_row([mailbox.0], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (user, validity) = row.ok_or_else(|| StoreError::NotFound("mailbox".into()))?;
    Ok((UserId(user), validity as u32))
}

/// Refuses `extra` more bytes when the user has a quota (non-zero) it would exceed.
pub(crate) fn check_quota(
    tx: &Transaction<'_>,
    user: UserId,
    extra: u64,
) -> Result<(), StoreError> {
    let (used, quota): (i64, i64) = tx
        .prepare_cached("SELECT used, quota FROM users WHERE id = ?1")?
        .query_row([user.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let (used, quota) = (used.max(0) as u64, quota.max(0) as u64);
    if quota > 0 && used.saturating_add(extra) > quota {
        return Err(StoreError::OverQuota);
    }
    Ok(())
}
