//! Changing message flags (IMAP STORE). Flags are kept as one space-separated
//! string per message, in a canonical order; every message whose flags change
//! gets the mailbox's next MODSEQ (RFC 7162 §3.1.3), and a message changed
//! since the client's UNCHANGEDSINCE value is left alone and reported.

use crate::mailbox::{Change, MailboxId};
use crate::{Store, StoreError, UserId};
use rusqlite::{params, OptionalExtension, Transaction};
use std::collections::BTreeSet;

/// How STORE combines the given flags with a message's own (RFC 3501 §6.4.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagOp {
    Replace,
    Add,
    Remove,
}

/// A message's flags after a STORE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagUpdate {
    pub uid: u32,
    pub flags: String,
    pub modseq: u64,
    /// False when the flags were already as asked (no new MODSEQ).
    pub changed: bool,
}

/// Flags in canonical form: system flags (`\Seen`…) case-normalised, each
/// flag once (case-insensitively, RFC 3501 §2.3.2), sorted, space-separated.
pub fn canonical_flags<'a>(flags: impl IntoIterator<Item = &'a str>) -> String {
    let mut seen = BTreeSet::new();
    let mut out: Vec<String> = Vec::new();
    for f in flags {
        let f = normalise(f);
        if !f.is_empty() && seen.insert(f.to_ascii_lowercase()) {
            out.push(f);
        }
    }
    out.sort_by_key(|f| f.to_ascii_lowercase());
    out.join(" ")
}

fn normalise(flag: &str) -> String {
    const SYSTEM: [&str; 5] = ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"];
    SYSTEM
        .iter()
        .find(|s| s.eq_ignore_ascii_case(flag))
        .map(|s| s.to_string())
        .unwrap_or_else(|| flag.to_string())
}

/// The result of applying `op` with `given` to `current`.
pub fn apply_flags(current: &str, op: FlagOp, given: &[String]) -> String {
    let has = |set: &[String], f: &str| set.iter().any(|g| g.eq_ignore_ascii_case(f));
    match op {
        FlagOp::Replace => canonical_flags(given.iter().map(String::as_str)),
        FlagOp::Add => canonical_flags(
            current
                .split_whitespace()
                .chain(given.iter().map(String::as_str)),
        ),
        FlagOp::Remove => canonical_flags(current.split_whitespace().filter(|f| !has(given, f))),
    }
}

impl Store {
    /// Applies `op` to the messages with these UIDs. With `unchanged_since`,
    /// messages whose MODSEQ is above it are not touched and come back in
    /// the second list (RFC 7162 §3.1.3 MODIFIED). Messages not present are skipped.
    pub fn store_flags(
        &self,
        mailbox: MailboxId,
        uids: &[u32],
        op: FlagOp,
        given: &[String],
        unchanged_since: Option<u64>,
    ) -> Result<(Vec<FlagUpdate>, Vec<u32>), StoreError> {
        let mut conn = self.writer()?;
        // Made durable within a second, not before the reply (lazy_sync.rs):
        // a crash can lose the last second of flag changes, never a message.
        let (user, next_modseq, updates, refused) = crate::lazy_sync::relaxed(&mut conn, |conn| {
            update(conn, mailbox, uids, op, given, unchanged_since)
        })?;
        drop(conn);
        if next_modseq.is_some() {
            self.lazy().committed(Vec::new());
            let _ = self.inner.changes.send(Change {
                user: UserId(user),
                mailbox,
            });
        }
        Ok((updates, refused))
    }
}

type Updated = (i64, Option<u64>, Vec<FlagUpdate>, Vec<u32>);

/// [`Store::store_flags`]'s transaction: the owner, the new MODSEQ if any
/// message changed, the updates and the UIDs refused by UNCHANGEDSINCE.
fn update(
    conn: &mut rusqlite::Connection,
    mailbox: MailboxId,
    uids: &[u32],
    op: FlagOp,
    given: &[String],
    unchanged_since: Option<u64>,
) -> Result<Updated, StoreError> {
    let tx = conn.transaction()?;
    // Cached statements throughout: STORE is the commonest write, and
    // parsing its SQL anew each time was a tenth of the server's CPU.
    let user: i64 = tx
        .prepare_cached("SELECT user_id FROM mailboxes WHERE id = ?1")?
        .query_row([mailbox.0], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::NotFound("mailbox".into()))?;
    let mut next_modseq = None;
    let (mut updates, mut refused) = (Vec::new(), Vec::new());
    for &uid in uids {
        let Some((flags, modseq)) = current(&tx, mailbox, uid)? else {
            continue;
        };
        if unchanged_since.is_some_and(|u| modseq > u) {
            refused.push(uid);
            continue;
        }
        let new = apply_flags(&flags, op, given);
        if new == flags {
            updates.push(FlagUpdate {
                uid,
                flags,
                modseq,
                changed: false,
            });
            continue;
        }
        let m = match next_modseq {
            Some(m) => m,
            None => *next_modseq.insert(bump(&tx, mailbox)?),
        };
        tx.prepare_cached(
            "UPDATE messages SET flags = ?3, modseq = ?4 WHERE mailbox_id = ?1 AND uid = ?2",
        )?
        .execute(params![mailbox.0, uid as i64, new, m as i64])?;
        updates.push(FlagUpdate {
            uid,
            flags: new,
            modseq: m,
            changed: true,
        });
    }
    tx.commit()?;
    Ok((user, next_modseq, updates, refused))
}

fn current(
    tx: &Transaction<'_>,
    mailbox: MailboxId,
    uid: u32,
) -> Result<Option<(String, u64)>, StoreError> {
    Ok(tx
        .prepare_cached("SELECT flags, modseq FROM messages WHERE mailbox_id = ?1 AND uid = ?2")?
        .query_row(params![mailbox.0, uid as i64], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })
        .optional()?)
}

fn bump(tx: &Transaction<'_>, mailbox: MailboxId) -> Result<u64, StoreError> {
    let m: i64 = tx
        .prepare_cached(
            "UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = ?1 RETURNING highestmodseq",
        )?
        .query_row([mailbox.0], |r| r.get(0))?;
    Ok(m as u64)
}
