//! \Recent (RFC 3501 §2.3.2): a message is recent for the first session
//! told about it. Each folder keeps the first UID not yet claimed
//! (`recent_from`); a read-write session that learns of messages up to
//! some UID claims them by moving that mark past it, and the messages
//! between the old mark and its claim are recent for that session only.
//! A read-only session (EXAMINE) looks without claiming.
//!
//! A claim is not worth an fsync: lost in a crash, it only makes a few
//! messages recent once more. It is written with `synchronous = NORMAL`
//! (WAL: the next durable commit carries it to disk).

use crate::mailbox::MailboxId;
use crate::{Store, StoreError};
use rusqlite::{params, Connection, TransactionBehavior};

impl Store {
    /// The folder's first UID not yet claimed by any session.
    pub fn recent_from(&self, mailbox: MailboxId) -> Result<u32, StoreError> {
        read_mark(&*self.reader()?, mailbox)
    }

    /// Claims the messages below `upto` for the calling session. Returns
    /// the mark before the claim: the UIDs from it up to `upto` (exclusive)
    /// are recent for this session; none when it is `upto` or more.
    pub fn claim_recent(&self, mailbox: MailboxId, upto: u32) -> Result<u32, StoreError> {
        let mut conn = self.writer()?;
        let before = read_mark(&conn, mailbox)?;
        if before >= upto {
            return Ok(before);
        }
        // NORMAL for this commit only, FULL put back (the pragmas cached there).
        crate::lazy_sync::relaxed(&mut conn, |conn| claim(conn, mailbox, upto))
    }

    /// How many messages of the folder no session has claimed yet (STATUS RECENT).
    pub fn recent_count(&self, mailbox: MailboxId) -> Result<u32, StoreError> {
        let n: i64 = self
            .reader()?
            .prepare_cached("SELECT COUNT(*) FROM messages WHERE mailbox_id = ?1 AND uid >= (SELECT recent_from FROM mailboxes WHERE id = ?1)")?
            .query_row([mailbox.0], |r| r.get(0))?;
        Ok(n as u32)
    }
}

fn read_mark(conn: &Connection, mailbox: MailboxId) -> Result<u32, StoreError> {
    let m: i64 = conn
        .prepare_cached("SELECT recent_from FROM mailboxes WHERE id = ?1")?
        .query_row([mailbox.0], |r| r.get(0))?;
    Ok(m.clamp(0, u32::MAX as i64) as u32)
}

/// Moves the mark up to `upto` in one write transaction; the mark before.
fn claim(conn: &mut Connection, mailbox: MailboxId, upto: u32) -> Result<u32, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let before = read_mark(&tx, mailbox)?;
    if before < upto {
        tx.prepare_cached("UPDATE mailboxes SET recent_from = ?2 WHERE id = ?1")?
            .execute(params![mailbox.0, upto as i64])?;
    }
    tx.commit()?;
    Ok(before)
}

#[cfg(test)]
mod tests {
    use crate::*;

    async fn deliver(store: &Store, user: UserId, n: usize) {
        for i in 0..n {
            let mut w = store.create_blob().await.unwrap();
            w.write(format!("Subject: {i}\r\n\r\nx\r\n").as_bytes())
                .await
                .unwrap();
            let blob = w.finish().await.unwrap();
            let mbox = store.mailbox(user, "INBOX").unwrap().unwrap();
            store.append(mbox, blob, &[], 1).unwrap();
        }
    }

    #[tokio::test]
    async fn first_claim_wins() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let a = crate::tests::add_user(&store, "alice@example.org", 0);
        let inbox = store.mailbox(a, "INBOX").unwrap().unwrap();
        assert_eq!(store.recent_count(inbox).unwrap(), 0);
        deliver(&store, a, 3).await;
        assert_eq!(store.recent_count(inbox).unwrap(), 3);
        // A look (EXAMINE) claims nothing.
        assert_eq!(store.recent_from(inbox).unwrap(), 1);
        // The first claim gets UIDs 1 and 2; a second session gets nothing of them.
        assert_eq!(store.claim_recent(inbox, 3).unwrap(), 1);
        assert_eq!(store.claim_recent(inbox, 3).unwrap(), 3);
        assert_eq!(store.recent_count(inbox).unwrap(), 1);
        assert_eq!(store.claim_recent(inbox, 4).unwrap(), 3);
        assert_eq!(store.recent_count(inbox).unwrap(), 0);
        // A claim never moves the mark back.
        assert_eq!(store.claim_recent(inbox, 2).unwrap(), 4);
        assert_eq!(store.recent_from(inbox).unwrap(), 4);
    }
}
