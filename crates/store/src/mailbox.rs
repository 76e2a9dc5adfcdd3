//! Mailboxes: folders with UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ, and the
//! messages in them (UID, flags, MODSEQ, a GUID that survives moves for POP3 UIDL).

use crate::{BlobId, Store, StoreError, UserId};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MailboxId(pub i64);

/// Folders every user has, with their RFC 6154 special-use attribute.
pub const SPECIAL_FOLDERS: [(&str, Option<&str>); 6] = [
    ("INBOX", None),
    ("Sent", Some("\\Sent")),
    ("Drafts", Some("\\Drafts")),
    ("Trash", Some("\\Trash")),
    ("Junk", Some("\\Junk")),
    ("Archive", Some("\\Archive")),
];

/// A change to a mailbox, broadcast to sessions of the same process (IDLE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    pub user: UserId,
    pub mailbox: MailboxId,
}

/// One message as a listing shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageInfo {
    pub uid: u32,
    pub guid: String,
    pub blob: BlobId,
    pub size: u64,
    pub internal_date: i64,
    pub flags: String,
    pub modseq: u64,
}

/// A `messages` row selected as `uid, guid, blob_id, size, internaldate, flags, modseq`.
pub(crate) fn message_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MessageInfo> {
    Ok(MessageInfo {
        uid: r.get::<_, i64>(0)? as u32,
        guid: r.get(1)?,
        blob: BlobId::from_db(r.get(2)?),
        size: r.get::<_, i64>(3)? as u64,
        internal_date: r.get(4)?,
        flags: r.get(5)?,
        modseq: r.get::<_, i64>(6)? as u64,
    })
}

/// A new UIDVALIDITY: the clock in seconds, so a re-created folder gets a larger one (RFC 3501 §2.3.1.1).
fn new_uidvalidity() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(1)
        & 0xffff_ffff
}

pub(crate) fn create_default_folders(conn: &Connection, user: UserId) -> Result<(), StoreError> {
    let v = new_uidvalidity();
    for (name, special) in SPECIAL_FOLDERS {
        conn.execute(
            "INSERT OR IGNORE INTO mailboxes (user_id, name, special_use, uidvalidity) VALUES (?1, ?2, ?3, ?4)",
            params![user.0, name, special, v],
        )?;
        // Subscribed from the start, so clients that list only
        // subscriptions show them (RFC 3501 §6.3.6).
        crate::subscriptions::subscribe(conn, user, name)?;
    }
    Ok(())
}

pub(crate) fn find(
    conn: &Connection,
    user: UserId,
    name: &str,
) -> Result<Option<MailboxId>, StoreError> {
    // RFC 3501 §5.1: INBOX is case-insensitive; other names are exact.
    let sql = if name.eq_ignore_ascii_case("INBOX") {
        "SELECT id FROM mailboxes WHERE user_id = ?1 AND name = 'INBOX'"
    } else {
        "SELECT id FROM mailboxes WHERE user_id = ?1 AND name = ?2"
    };
    let mut st = conn.prepare_cached(sql)?;
    let id = if name.eq_ignore_ascii_case("INBOX") {
        st.query_row([user.0], |r| r.get(0)).optional()?
    } else {
        st.query_row(params![user.0, name], |r| r.get(0))
            .optional()?
    };
    Ok(id.map(MailboxId))
}

/// Appends a message inside a transaction: next UID and MODSEQ, quota usage, blob reference.
pub(crate) fn append(
    tx: &Transaction<'_>,
    mailbox: MailboxId,
    blob: &BlobId,
    size: u64,
    internal_date: i64,
    flags: &str,
) -> Result<u32, StoreError> {
    // Cached statements: every APPEND and delivery runs these.
    let (uid, modseq): (i64, i64) =
        tx.prepare_cached("UPDATE mailboxes SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1 WHERE id = ?1 RETURNING uidnext - 1, highestmodseq")?.query_row([mailbox.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
    tx.prepare_cached(
        "INSERT INTO messages (mailbox_id, uid, guid, blob_id, size, internaldate, flags, modseq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![mailbox.0, uid, crate::ids::new_id(), blob.as_str(), size as i64, internal_date, flags, modseq])?;
    tx.prepare_cached("UPDATE users SET used = used + ?2 WHERE id = (SELECT user_id FROM mailboxes WHERE id = ?1)")?.execute(params![mailbox.0, size as i64])?;
    tx.prepare_cached("UPDATE blobs SET refs = refs + 1 WHERE id = ?1")?
        .execute([blob.as_str()])?;
    Ok(uid as u32)
}

impl Store {
    /// The id of a user's folder by name (INBOX matched case-insensitively).
    pub fn mailbox(&self, user: UserId, name: &str) -> Result<Option<MailboxId>, StoreError> {
        find(&*self.reader()?, user, name)
    }

    /// A user's folders by name, with their special-use attributes.
    pub fn mailbox_list(&self, user: UserId) -> Result<Vec<(String, Option<String>)>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare_cached("SELECT name, special_use FROM mailboxes WHERE user_id = ?1 ORDER BY name = 'INBOX' DESC, name")?;
        let rows = st
            .query_map([user.0], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ of a folder.
    pub fn mailbox_state(&self, mailbox: MailboxId) -> Result<(u32, u32, u64), StoreError> {
        let (v, n, m): (i64, i64, i64) = self
            .reader()?
            .prepare_cached(
                "SELECT uidvalidity, uidnext, highestmodseq FROM mailboxes WHERE id = ?1",
            )?
            .query_row([mailbox.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok((v as u32, n as u32, m as u64))
    }

    /// The messages of a folder in UID order.
    pub fn messages(&self, mailbox: MailboxId) -> Result<Vec<MessageInfo>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare_cached("SELECT uid, guid, blob_id, size, internaldate, flags, modseq FROM messages WHERE mailbox_id = ?1 ORDER BY uid")?;
        // Bounded in a quick read (quick.rs).
        let rows = crate::quick::collect(st.query_map([mailbox.0], message_row)?)?;
        Ok(rows)
    }

    /// Bytes a user's mailboxes hold, and their quota (0 = unlimited).
    pub fn usage(&self, user: UserId) -> Result<(u64, u64), StoreError> {
        let (used, quota): (i64, i64) = self
            .reader()?
            .prepare_cached("SELECT used, quota FROM users WHERE id = ?1")?
            .query_row([user.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok((used as u64, quota as u64))
    }
}
