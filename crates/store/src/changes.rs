//! What changed in a mailbox since a MODSEQ (RFC 7162): the messages whose
//! MODSEQ is above it (new or with changed flags) and the UIDs expunged
//! since, from the `expunged` tombstones. One read transaction, so the
//! answer and the HIGHESTMODSEQ it comes with are consistent.

use crate::mailbox::{message_row, MailboxId, MessageInfo};
use crate::{Store, StoreError};
use rusqlite::{Transaction, TransactionBehavior};

/// A mailbox's changes after a MODSEQ.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Messages with a MODSEQ above the one asked, in UID order.
    pub changed: Vec<MessageInfo>,
    /// UIDs expunged (or moved away) since, ascending.
    pub vanished: Vec<u32>,
    /// The mailbox's HIGHESTMODSEQ when this was read.
    pub highest_modseq: u64,
}

fn highest(tx: &Transaction<'_>, mailbox: MailboxId) -> Result<u64, StoreError> {
    let m: i64 = tx
        .prepare_cached("SELECT highestmodseq FROM mailboxes WHERE id = ?1")?
        .query_row([mailbox.0], |r| r.get(0))?;
    Ok(m as u64)
}

impl Store {
    /// Messages changed and UIDs expunged after `modseq`.
    pub fn changes_since(&self, mailbox: MailboxId, modseq: u64) -> Result<Changes, StoreError> {
        let mut conn = self.reader()?;
        // DEFERRED: a read transaction (one snapshot), not the write lock the
        // shared connection's IMMEDIATE default would take.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let highest_modseq = highest(&tx, mailbox)?;
        let since = modseq.min(i64::MAX as u64) as i64;
        // INDEXED BY: the few rows above a MODSEQ, never a walk of the whole
        // mailbox's list index. The bundled SQLite picks this index by itself;
        // older planners prefer the covering list index (SQLite 3.40 does).
        let changed = {
            let mut st = tx.prepare_cached("SELECT uid, guid, blob_id, size, internaldate, flags, modseq FROM messages INDEXED BY messages_modseq WHERE mailbox_id = ?1 AND modseq > ?2 ORDER BY uid")?;
            let rows = crate::quick::collect(st.query_map([mailbox.0, since], message_row)?)?;
            rows
        };
        let vanished = {
            let mut st = tx.prepare_cached(
                "SELECT uid FROM expunged WHERE mailbox_id = ?1 AND modseq > ?2 ORDER BY uid",
            )?;
            let rows = crate::quick::collect(
                st.query_map([mailbox.0, since], |r| Ok(r.get::<_, i64>(0)? as u32))?,
            )?;
            rows
        };
        tx.commit()?;
        Ok(Changes {
            changed,
            vanished,
            highest_modseq,
        })
    }

    /// All messages of a mailbox and its HIGHESTMODSEQ, read together (SELECT).
    pub fn snapshot(&self, mailbox: MailboxId) -> Result<(Vec<MessageInfo>, u64), StoreError> {
        let mut conn = self.reader()?;
        // DEFERRED: a read transaction (one snapshot), not the write lock the
        // shared connection's IMMEDIATE default would take.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let highest_modseq = highest(&tx, mailbox)?;
        let msgs = {
            let mut st = tx.prepare_cached("SELECT uid, guid, blob_id, size, internaldate, flags, modseq FROM messages WHERE mailbox_id = ?1 ORDER BY uid")?;
            let rows = crate::quick::collect(st.query_map([mailbox.0], message_row)?)?;
            rows
        };
        tx.commit()?;
        Ok((msgs, highest_modseq))
    }
}

#[cfg(test)]
mod tests {
    use crate::*;

    #[tokio::test]
    async fn changes_after_a_modseq() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let a = crate::tests::add_user(&store, "alice@example.org", 0);
        for n in 0..3 {
            let mut w = store.create_blob().await.unwrap();
            w.write(format!("Subject: {n}\r\n\r\nx\r\n").as_bytes())
                .await
                .unwrap();
            let blob = w.finish().await.unwrap();
            store
                .commit(Delivery {
                    blob,
                    sender: "s@x.test".into(),
                    local: vec![a],
                    remote: vec![],
                    env_id: None,
                    ret: None,
                    smtputf8: false,
                    internal_date: 1,
                    prepend: vec![],
                    junk: false,
                })
                .await
                .unwrap();
        }
        let mbox = store.mailbox(a, "INBOX").unwrap().unwrap();
        let (msgs, hms) = store.snapshot(mbox).unwrap();
        assert_eq!(msgs.len(), 3);
        assert!(store.changes_since(mbox, hms).unwrap().changed.is_empty());
        assert_eq!(store.changes_since(mbox, 0).unwrap().changed, msgs);
        let seen = vec!["\\Seen".to_string()];
        store
            .store_flags(mbox, &[2], FlagOp::Add, &seen, None)
            .unwrap();
        store.expunge(mbox, &[3]).unwrap();
        let c = store.changes_since(mbox, hms).unwrap();
        assert_eq!(c.changed.iter().map(|m| m.uid).collect::<Vec<_>>(), [2]);
        assert_eq!(c.vanished, [3]);
        assert!(c.highest_modseq > hms);
        let later = store.changes_since(mbox, c.highest_modseq).unwrap();
        assert!(later.changed.is_empty() && later.vanished.is_empty());
    }
}
