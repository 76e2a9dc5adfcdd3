//! Folder management for IMAP: create, delete, rename, subscribe, list.
//! Names are UTF-8 with "/" as the hierarchy delimiter (RFC 3501 §5.1.1);
//! a name never reaches outside its owner's folders (each row is keyed by
//! the user id, and names with empty, "." or ".." components are refused).

use crate::mailbox::{self, Change, MailboxId};
use crate::{Store, StoreError, UserId};
use rusqlite::{params, OptionalExtension, Transaction};

/// Longest folder name, in bytes.
pub const MAX_FOLDER_NAME: usize = 512;
/// Deepest hierarchy a folder name may have ("a/b/c" has depth 3).
pub const MAX_FOLDER_DEPTH: usize = 16;
/// Folders one user may have.
pub const MAX_FOLDERS: i64 = 2000;

/// One folder as LIST shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folder {
    pub id: MailboxId,
    pub name: String,
    pub special_use: Option<String>,
    pub subscribed: bool,
}

/// Checks a folder name: no control characters (CR, LF, NUL…), no wildcards,
/// no empty, "." or ".." components, bounded length and depth. "inbox" in any
/// case is INBOX (RFC 3501 §5.1).
pub fn validate_name(name: &str) -> Result<String, StoreError> {
    let bad = |why: &str| Err(StoreError::Invalid(format!("bad folder name: {why}")));
    if name.is_empty() || name.len() > MAX_FOLDER_NAME {
        return bad("empty or too long");
    }
    if name.chars().any(|c| c.is_control() || c == '*' || c == '%') {
        return bad("control characters and wildcards are not allowed");
    }
    let parts: Vec<&str> = name.split('/').collect();
    if parts.len() > MAX_FOLDER_DEPTH {
        return bad("too deep");
    }
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return bad("empty, \".\" or \"..\" component");
    }
    if parts[0].eq_ignore_ascii_case("INBOX") {
        let mut out = String::from("INBOX");
        for p in &parts[1..] {
            out.push('/');
            out.push_str(p);
        }
        return Ok(out);
    }
    Ok(name.to_string())
}

impl Store {
    /// A user's folders, INBOX first, then by name.
    pub fn folders(&self, user: UserId) -> Result<Vec<Folder>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare_cached("SELECT id, name, special_use, EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = m.user_id AND s.name = m.name) FROM mailboxes m WHERE user_id = ?1 ORDER BY name = 'INBOX' DESC, name")?;
        let rows = st
            .query_map([user.0], |r| {
                Ok(Folder {
                    id: MailboxId(r.get(0)?),
                    name: r.get(1)?,
                    special_use: r.get(2)?,
                    subscribed: r.get::<_, i64>(3)? != 0,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Creates a folder and any missing parents (RFC 3501 §6.3.3).
    pub fn create_folder(&self, user: UserId, name: &str) -> Result<MailboxId, StoreError> {
        let name = validate_name(name)?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let id = create_in(&tx, user, &name)?;
        tx.commit()?;
        Ok(id)
    }

    /// Deletes a folder and its messages. INBOX cannot be deleted; a folder
    /// with children is refused (RFC 9051 §6.3.4 allows this; code HASCHILDREN).
    pub fn delete_folder(&self, user: UserId, name: &str) -> Result<(), StoreError> {
        let name = validate_name(name)?;
        if name == "INBOX" {
            return Err(StoreError::Invalid("INBOX cannot be deleted".into()));
        }
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let id = mailbox::find(&tx, user, &name)?
            .ok_or_else(|| StoreError::NotFound(format!("folder {name}")))?;
        if has_children(&tx, user, &name)? {
            return Err(StoreError::Exists(format!("children of {name}")));
        }
        release_messages(&tx, user, id)?;
        tx.execute("DELETE FROM mailboxes WHERE id = ?1", [id.0])?;
        let dead = crate::blob::take_dead(&tx)?;
        tx.commit()?;
        drop(conn);
        self.remove_blob_files(&dead);
        let _ = self.inner.changes.send(Change { user, mailbox: id });
        Ok(())
    }

    /// Renames a folder and its children. Renaming INBOX is not a rename
    /// (RFC 3501 §6.3.5): see [`Store::rename_inbox`].
    pub fn rename_folder(&self, user: UserId, from: &str, to: &str) -> Result<(), StoreError> {
        let (from, to) = (validate_name(from)?, validate_name(to)?);
        if from == "INBOX" || to == "INBOX" || to.starts_with(&format!("{from}/")) {
            return Err(StoreError::Invalid(
                "cannot rename INBOX or into itself".into(),
            ));
        }
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let id = mailbox::find(&tx, user, &from)?
            .ok_or_else(|| StoreError::NotFound(format!("folder {from}")))?;
        if mailbox::find(&tx, user, &to)?.is_some() {
            return Err(StoreError::Exists(format!("folder {to}")));
        }
        // New UIDVALIDITY: a client must not take the renamed folder for the old one's cache.
        let v = new_uidvalidity(&tx, user)?;
        tx.execute(
            "UPDATE mailboxes SET name = ?2, uidvalidity = ?3 WHERE id = ?1",
            params![id.0, to, v],
        )?;
        let prefix_len = from.len() as i64 + 1;
        tx.execute(
            "UPDATE mailboxes SET name = ?3 || substr(name, ?4) WHERE user_id = ?1 AND substr(name, 1, ?5) = ?2 || '/'",
            params![user.0, from, to, prefix_len, prefix_len],
        )?;
        crate::subscriptions::rename(&tx, user, &from, &to)?;
        // Parents of the new name (RFC 3501 §6.3.5: created as needed).
        let parts: Vec<&str> = to.split('/').collect();
        for depth in 1..parts.len() {
            tx.execute(
                "INSERT OR IGNORE INTO mailboxes (user_id, name, uidvalidity) VALUES (?1, ?2, ?3)",
                params![user.0, parts[..depth].join("/"), v],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// Creates the folder `name` (already checked) and its missing parents
/// inside `tx`; refused when it exists or the user has too many folders.
pub(crate) fn create_in(
    tx: &Transaction<'_>,
    user: UserId,
    name: &str,
) -> Result<MailboxId, StoreError> {
    if mailbox::find(tx, user, name)?.is_some() {
        return Err(StoreError::Exists(format!("folder {name}")));
    }
    let count: i64 = tx.query_row(
        "SELECT COUNT(*) FROM mailboxes WHERE user_id = ?1",
        [user.0],
        |r| r.get(0),
    )?;
    let parts: Vec<&str> = name.split('/').collect();
    if count + parts.len() as i64 > MAX_FOLDERS {
        return Err(StoreError::Invalid("too many folders".into()));
    }
    let v = new_uidvalidity(tx, user)?;
    for depth in 1..=parts.len() {
        let path = parts[..depth].join("/");
        tx.execute(
            "INSERT OR IGNORE INTO mailboxes (user_id, name, uidvalidity) VALUES (?1, ?2, ?3)",
            params![user.0, path, v],
        )?;
    }
    mailbox::find(tx, user, name)?.ok_or(StoreError::Unavailable)
}

/// A UIDVALIDITY larger than any this user's folders have had, even deleted
/// ones: a folder deleted and re-created in the same second still gets a new
/// one (RFC 3501 §2.3.1.1). The last value handed out is kept per user in a
/// table of this module's own (created on first use).
fn new_uidvalidity(tx: &Transaction<'_>, user: UserId) -> Result<i64, StoreError> {
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS folder_uidvalidity (user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE, last INTEGER NOT NULL)",
    )?;
    let max: i64 = tx.query_row(
        "SELECT MAX(COALESCE((SELECT MAX(uidvalidity) FROM mailboxes WHERE user_id = ?1), 0), COALESCE((SELECT last FROM folder_uidvalidity WHERE user_id = ?1), 0))",
        [user.0],
        |r| r.get(0),
    )?;
    let v = (crate::ids::now() & 0xffff_ffff).max(max + 1);
    tx.execute(
        "INSERT OR REPLACE INTO folder_uidvalidity (user_id, last) VALUES (?1, ?2)",
        params![user.0, v],
    )?;
    Ok(v)
}

fn has_children(tx: &Transaction<'_>, user: UserId, name: &str) -> Result<bool, StoreError> {
    let len = name.len() as i64 + 1;
    let hit: Option<i64> = tx
        .query_row(
            "SELECT 1 FROM mailboxes WHERE user_id = ?1 AND substr(name, 1, ?3) = ?2 || '/' LIMIT 1",
            params![user.0, name, len],
            |r| r.get(0),
        )
        .optional()?;
    Ok(hit.is_some())
}

/// Drops a folder's messages: blob references and quota usage follow.
fn release_messages(tx: &Transaction<'_>, user: UserId, id: MailboxId) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE blobs SET refs = refs - (SELECT COUNT(*) FROM messages m WHERE m.mailbox_id = ?1 AND m.blob_id = blobs.id) WHERE id IN (SELECT blob_id FROM messages WHERE mailbox_id = ?1)",
        [id.0],
    )?;
    tx.execute(
        "UPDATE users SET used = MAX(0, used - (SELECT COALESCE(SUM(size), 0) FROM messages WHERE mailbox_id = ?2)) WHERE id = ?1",
        params![user.0, id.0],
    )?;
    tx.execute("DELETE FROM messages WHERE mailbox_id = ?1", [id.0])?;
    tx.execute("DELETE FROM expunged WHERE mailbox_id = ?1", [id.0])?;
    Ok(())
}
