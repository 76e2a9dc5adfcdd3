//! RENAME INBOX (RFC 3501 §6.3.5, RFC 9051 §6.3.6): not a rename but a
//! move of every INBOX message into a new folder of the given name; INBOX
//! stays, empty, and its inferiors stay where they are.
//!
//! All of it is one IMMEDIATE transaction: the folder is created and the
//! messages moved under SQLite's write lock, so a delivery running at the
//! same time commits either before (its message is moved with the others)
//! or after (it lands in the now empty INBOX) — never lost, never twice.
//! A crash before the commit leaves everything as it was.

use crate::copy::{move_rows, rows};
use crate::folders::{create_in, validate_name};
use crate::mailbox::{self, Change, MailboxId};
use crate::{Store, StoreError, UserId};
use rusqlite::TransactionBehavior;

/// What a RENAME INBOX did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxRenamed {
    /// The new folder.
    pub folder: MailboxId,
    /// INBOX UIDs moved out, with their fresh UIDs in the new folder.
    pub uids: Vec<(u32, u32)>,
}

impl Store {
    /// Moves all of INBOX into the new folder `to` (created with any missing
    /// parents, a fresh UIDVALIDITY and UIDs from 1; flags and GUIDs kept).
    /// `Exists` when `to` exists; `Invalid` when `to` is INBOX or below it.
    pub fn rename_inbox(&self, user: UserId, to: &str) -> Result<InboxRenamed, StoreError> {
        let to = validate_name(to)?;
        if to == "INBOX" || to.starts_with("INBOX/") {
            return Err(StoreError::Invalid(
                "cannot rename INBOX into itself".into(),
            ));
        }
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let inbox = mailbox::find(&tx, user, "INBOX")?
            .ok_or_else(|| StoreError::NotFound("folder INBOX".into()))?;
        let folder = create_in(&tx, user, &to)?;
        let all: Vec<u32> = {
            let mut st = tx.prepare_cached("SELECT uid FROM messages WHERE mailbox_id = ?1")?;
            let uids = st
                .query_map([inbox.0], |r| r.get::<_, i64>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            uids.into_iter().map(|u| u as u32).collect()
        };
        let present = rows(&tx, inbox, &all)?;
        let uids = move_rows(&tx, inbox, folder, &present)?;
        tx.commit()?;
        drop(conn);
        for mailbox in [inbox, folder] {
            let _ = self.inner.changes.send(Change { user, mailbox });
        }
        Ok(InboxRenamed { folder, uids })
    }
}
