//! Removing messages from a mailbox (IMAP EXPUNGE, POP3 DELE at QUIT).
//! Each removal is remembered with its MODSEQ so QRESYNC can report it as
//! VANISHED (RFC 7162 §3.2.5); quota usage and body references follow.

use crate::mailbox::{Change, MailboxId};
use crate::{Store, StoreError};
use rusqlite::{params, OptionalExtension};

impl Store {
    /// Removes the messages with these UIDs; returns the UIDs actually removed,
    /// ascending. Bodies no longer referenced anywhere are deleted from disk.
    ///
    /// Made durable within a second, not before the reply (lazy_sync.rs): a
    /// crash can bring back the last second's expunged messages, and their
    /// bodies are unlinked only once their removal is durable.
    pub fn expunge(&self, mailbox: MailboxId, uids: &[u32]) -> Result<Vec<u32>, StoreError> {
        let mut conn = self.writer()?;
        let (user, mut removed, dead) =
            crate::lazy_sync::relaxed(&mut conn, |conn| remove(conn, mailbox, uids))?;
        drop(conn);
        let doomed = dead.iter().map(|id| self.blob_path(id)).collect();
        self.lazy().committed(doomed);
        removed.sort_unstable();
        if !removed.is_empty() {
            let _ = self.inner.changes.send(Change {
                user: crate::UserId(user),
                mailbox,
            });
        }
        Ok(removed)
    }
}

/// [`Store::expunge`]'s transaction: the owner, the UIDs removed and the
/// bodies no longer referenced (rows deleted, files not yet).
fn remove(
    conn: &mut rusqlite::Connection,
    mailbox: MailboxId,
    uids: &[u32],
) -> Result<(i64, Vec<u32>, Vec<crate::BlobId>), StoreError> {
    let tx = conn.transaction()?;
    let user: Option<i64> = tx
        .prepare_cached("SELECT user_id FROM mailboxes WHERE id = ?1")?
        .query_row([mailbox.0], |r| r.get(0))
        .optional()?;
    let user = user.ok_or_else(|| StoreError::NotFound("mailbox".into()))?;
    let modseq: i64 = tx
        .prepare_cached(
            "UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = ?1 RETURNING highestmodseq",
        )?
        .query_row([mailbox.0], |r| r.get(0))?;
    let (mut removed, mut dead) = (Vec::new(), Vec::new());
    {
        let mut take = tx.prepare_cached(
            "DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2 RETURNING blob_id, size",
        )?;
        let mut unref = tx.prepare_cached("UPDATE blobs SET refs = refs - 1 WHERE id = ?1")?;
        let mut usage =
            tx.prepare_cached("UPDATE users SET used = MAX(0, used - ?2) WHERE id = ?1")?;
        let mut tomb = tx.prepare_cached(
            "INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?1, ?2, ?3)",
        )?;
        for &uid in uids {
            let row: Option<(String, i64)> = take
                .query_row(params![mailbox.0, uid as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            if let Some((blob, size)) = row {
                unref.execute([&blob])?;
                usage.execute(params![user, size])?;
                tomb.execute(params![mailbox.0, uid as i64, modseq])?;
                removed.push(uid);
                // Only the bodies this expunge let go: a scan of every
                // blob for refs <= 0 cost a full table scan per EXPUNGE.
                dead.extend(crate::blob::take_if_dead(&tx, &blob)?);
            }
        }
    }
    tx.commit()?;
    Ok((user, removed, dead))
}

#[cfg(test)]
mod tests {
    use crate::tests_readers::{deliver, setup};

    #[tokio::test]
    async fn an_expunge_frees_the_bodies_it_let_go_and_looks_at_no_other() {
        let (_d, store, a, inbox) = setup();
        deliver(&store, a).await;
        deliver(&store, a).await;
        // A body row nothing references (another path's leftover): the
        // expunge neither scans for it nor takes it.
        store
            .conn()
            .execute(
                "INSERT INTO blobs (id, size, refs) VALUES ('stray', 1, 0)",
                [],
            )
            .unwrap();
        let msgs = store.messages(inbox).unwrap();
        let mut conn = store.conn();
        let (_, removed, dead) = super::remove(&mut conn, inbox, &[msgs[0].uid]).unwrap();
        assert_eq!(removed, vec![msgs[0].uid]);
        assert_eq!(dead, vec![msgs[0].blob.clone()]);
        let stray: i64 = conn
            .query_row("SELECT COUNT(*) FROM blobs WHERE id = 'stray'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(stray, 1);
    }
}
