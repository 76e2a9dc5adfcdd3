//! Copying and moving messages between a user's folders (IMAP COPY,
//! RFC 3501 §6.4.7, and MOVE, RFC 6851), each in one transaction.
//!
//! A copy is a new message: new UID, new GUID, the same body file with one
//! more reference, flags copied, counted again against the quota. A move is
//! the same message in a new place: new UID in the destination, but the GUID
//! is kept (POP3 UIDL stays stable across moves), the body and the quota are
//! untouched, and the source keeps a tombstone for QRESYNC (as in
//! [`crate::expunge`]).

use crate::append::{check_quota, owner};
use crate::mailbox::{self, Change, MailboxId};
use crate::{BlobId, Store, StoreError, UserId};
use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};

/// What a COPY or MOVE did: the destination's UIDVALIDITY and, for each
/// message copied, its UID in the source and in the destination, in
/// ascending source order (RFC 4315 §3 COPYUID).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Copied {
    pub uidvalidity: u32,
    pub uids: Vec<(u32, u32)>,
}

/// One source message as a copy needs it.
pub(crate) struct Row {
    uid: u32,
    blob: BlobId,
    size: u64,
    internal_date: i64,
    flags: String,
}

impl Store {
    /// Copies the messages with these UIDs (absent ones are skipped) from
    /// `src` to `dst`. Both folders must belong to the same user.
    pub fn copy(&self, src: MailboxId, dst: MailboxId, uids: &[u32]) -> Result<Copied, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (user, uidvalidity) = same_owner(&tx, src, dst)?;
        let rows = rows(&tx, src, uids)?;
        check_quota(&tx, user, rows.iter().map(|r| r.size).sum())?;
        let mut pairs = Vec::with_capacity(rows.len());
        for r in &rows {
            let new = mailbox::append(&tx, dst, &r.blob, r.size, r.internal_date, &r.flags)?;
            pairs.push((r.uid, new));
        }
        tx.commit()?;
        drop(conn);
        if !pairs.is_empty() {
            let _ = self.inner.changes.send(Change { user, mailbox: dst });
        }
        Ok(Copied {
            uidvalidity,
            uids: pairs,
        })
    }

    /// Moves the messages with these UIDs (absent ones are skipped) from
    /// `src` to `dst`: the source loses them (with tombstones), the
    /// destination gains them under new UIDs, with GUID and flags kept.
    pub fn move_messages(
        &self,
        src: MailboxId,
        dst: MailboxId,
        uids: &[u32],
    ) -> Result<Copied, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (user, uidvalidity) = same_owner(&tx, src, dst)?;
        let present = rows(&tx, src, uids)?;
        let pairs = move_rows(&tx, src, dst, &present)?;
        tx.commit()?;
        drop(conn);
        if !pairs.is_empty() {
            for mailbox in [src, dst] {
                let _ = self.inner.changes.send(Change { user, mailbox });
            }
        }
        Ok(Copied {
            uidvalidity,
            uids: pairs,
        })
    }
}

/// Moves `present` (rows of `src`, ascending) into `dst` inside `tx`: new
/// UIDs and MODSEQs there, GUID and flags kept, a tombstone left in `src`.
/// The (source, destination) UID pairs.
pub(crate) fn move_rows(
    tx: &Transaction<'_>,
    src: MailboxId,
    dst: MailboxId,
    present: &[Row],
) -> Result<Vec<(u32, u32)>, StoreError> {
    let mut pairs = Vec::with_capacity(present.len());
    if present.is_empty() {
        return Ok(pairs);
    }
    // One MODSEQ for every removal from the source, as EXPUNGE does.
    let gone: i64 = tx
        .prepare_cached("UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = ?1 RETURNING highestmodseq")?
        .query_row([src.0], |r| r.get(0))?;
    let mut place = tx.prepare_cached(
        "UPDATE mailboxes SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1 WHERE id = ?1 RETURNING uidnext - 1, highestmodseq",
    )?;
    let mut relabel = tx.prepare_cached(
        "UPDATE messages SET mailbox_id = ?3, uid = ?4, modseq = ?5 WHERE mailbox_id = ?1 AND uid = ?2",
    )?;
    let mut tomb = tx.prepare_cached(
        "INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?1, ?2, ?3)",
    )?;
    for r in present {
        let (new, modseq): (i64, i64) =
            place.query_row([dst.0], |row| Ok((row.get(0)?, row.get(1)?)))?;
        relabel.execute(params![src.0, r.uid as i64, dst.0, new, modseq])?;
        tomb.execute(params![src.0, r.uid as i64, gone])?;
        pairs.push((r.uid, new as u32));
    }
    Ok(pairs)
}

/// The owner of both folders (they must share one) and the destination's UIDVALIDITY.
fn same_owner(
    tx: &Transaction<'_>,
    src: MailboxId,
    dst: MailboxId,
) -> Result<(UserId, u32), StoreError> {
    let (from, _) = owner(tx, src)?;
    let (to, validity) = owner(tx, dst)?;
    if from != to {
        return Err(StoreError::Invalid(
            "folders belong to different users".into(),
        ));
    }
    Ok((to, validity))
}

/// The source messages present among `uids`, ascending by UID, each once.
pub(crate) fn rows(
    tx: &Transaction<'_>,
    src: MailboxId,
    uids: &[u32],
) -> Result<Vec<Row>, StoreError> {
    let mut wanted = uids.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    let mut st = tx.prepare_cached(
        "SELECT blob_id, size, internaldate, flags FROM messages WHERE mailbox_id = ?1 AND uid = ?2",
    )?;
    let mut out = Vec::with_capacity(wanted.len());
    for uid in wanted {
        let row = st
            .query_row(params![src.0, uid as i64], |r| {
                Ok(Row {
                    uid,
                    blob: BlobId::from_db(r.get(0)?),
                    size: r.get::<_, i64>(1)? as u64,
                    internal_date: r.get(2)?,
                    flags: r.get(3)?,
                })
            })
            .optional()?;
        out.extend(row);
    }
    Ok(out)
}
