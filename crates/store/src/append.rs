//! Adding a message a client uploads (IMAP APPEND, RFC 3501 §6.3.11).
//!
//! The same durability as a delivery (see [`crate::commit`]): the body file
//! is already fsync'd by [`crate::BlobWriter::finish`]; its spool directory
//! is fsync'd, the rows are committed in one transaction, and only then is
//! the file moved into `blobs/` (a crash in between is repaired by
//! [`Store::recover`]). An append is one message at a time and needs its UID
//! at once, so it commits directly rather than through the group committer.

use crate::blob::{sync_dir, FinishedBlob};
use crate::flags::canonical_flags;
use crate::mailbox::{self, Change, MailboxId};
use crate::{Store, StoreError, UserId};
use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};

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
        sync_dir(body.dir())?;
        let flags = canonical_flags(flags.iter().map(String::as_str));
        let mut conn = self.conn();
        // IMMEDIATE: take the write lock now, so a concurrent writer makes us
        // wait (busy timeout) instead of failing the read-to-write upgrade.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (user, validity) = owner(&tx, mailbox)?;
        check_quota(&tx, user, body.size())?;
        tx.execute(
            "INSERT INTO blobs (id, size, refs) VALUES (?1, ?2, 0)",
            params![body.id().as_str(), body.size() as i64],
        )?;
        let uid = mailbox::append(&tx, mailbox, body.id(), body.size(), internal_date, &flags)?;
        tx.commit()?;
        drop(conn);
        body.keep(&self.root().join("blobs"));
        let _ = self.inner.changes.send(Change { user, mailbox });
        Ok((validity, uid))
    }
}

/// The user a mailbox belongs to, and its UIDVALIDITY.
pub(crate) fn owner(tx: &Transaction<'_>, mailbox: MailboxId) -> Result<(UserId, u32), StoreError> {
    let row: Option<(i64, i64)> = tx
        .query_row(
            "SELECT user_id, uidvalidity FROM mailboxes WHERE id = ?1",
            [mailbox.0],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
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
    let (used, quota): (i64, i64) = tx.query_row(
        "SELECT used, quota FROM users WHERE id = ?1",
        [user.0],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (used, quota) = (used.max(0) as u64, quota.max(0) as u64);
    if quota > 0 && used.saturating_add(extra) > quota {
        return Err(StoreError::OverQuota);
    }
    Ok(())
}
