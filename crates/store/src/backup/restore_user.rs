//! `postern --data DIR restore SRC --user ADDR [--folder F]`: one user's
//! mailboxes read out of a backup and appended, through the store's own
//! API, into the running store as new folders under `Restored/ID/` — new
//! UIDs there, flags and INTERNALDATEs kept, the live folders untouched.
//! The backup is only read: its database opened read-only, its bodies
//! opened (and decrypted, with the backup's own key file) by path.

use crate::crypt::{AtRestKeys, BodyFile};
use crate::{Store, StoreError};
use rusqlite::{Connection, OpenFlags};
use std::io::Read;
use std::path::Path;

/// The parent of every restored folder.
pub const RESTORED: &str = "Restored";

#[derive(Debug, Default)]
pub struct UserRestored {
    pub id: String,
    /// (new folder, messages) in order.
    pub folders: Vec<(String, usize)>,
    pub messages: usize,
}

struct OldMessage {
    blob: String,
    date: i64,
    flags: String,
}

pub async fn restore_user(
    store: &Store,
    backup_dir: &Path,
    address: &str,
    only: Option<&str>,
    progress: &mut dyn FnMut(&str),
) -> Result<UserRestored, StoreError> {
    let m = super::manifest::Manifest::load(backup_dir)?;
    let user = store
        .account_id(address)?
        .ok_or_else(|| StoreError::NotFound(format!("user {address}")))?;
    let crypt = match m.encrypted {
        true => crate::crypt::unlock(backup_dir)?,
        false => None,
    };
    let keys = crypt.as_ref().map(|(k, _)| k.clone());
    let forms = crate::crypt::Forms::of(crypt.as_ref().map(|(k, mode)| (&**k, *mode)));
    let old = open_old(backup_dir, keys.as_deref())?;
    let inline = has_inline_bodies(&old)?;
    let folders = old_folders(&old, address, only)?;
    if folders.is_empty() {
        return Err(StoreError::NotFound(format!(
            "{} of {address} in backup {}",
            only.unwrap_or("a folder"),
            m.id
        )));
    }
    let mut done = UserRestored {
        id: m.id.clone(),
        ..Default::default()
    };
    for (name, mailbox) in folders {
        let target = format!("{RESTORED}/{}/{name}", m.id);
        let new = store.create_folder(user, &target)?;
        let messages = old_messages(&old, mailbox)?;
        for msg in &messages {
            let path = backup_dir.join(super::blob_rel(&msg.blob));
            let flags: Vec<String> = msg.flags.split_whitespace().map(String::from).collect();
            // Kept in the backup's database (inline.rs), or in a file of its own.
            if let Some(bytes) = old_inline(&old, inline, &msg.blob)? {
                copy_in(store, new, &bytes[..], &path, &flags, msg.date).await?;
                continue;
            }
            let file = std::fs::File::open(&path).map_err(|e| StoreError::io(&path, e))?;
            let body = BodyFile::new(file, forms).map_err(|e| StoreError::io(&path, e))?;
            copy_in(store, new, body, &path, &flags, msg.date).await?;
        }
        progress(&format!("{target}: {} messages", messages.len()));
        done.messages += messages.len();
        done.folders.push((target, messages.len()));
    }
    Ok(done)
}

/// One body streamed into a new blob of the live store, then appended.
async fn copy_in(
    store: &Store,
    mailbox: crate::MailboxId,
    mut body: impl Read,
    path: &Path,
    flags: &[String],
    date: i64,
) -> Result<u32, StoreError> {
    let mut w = store.create_blob().await?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = body.read(&mut buf).map_err(|e| StoreError::io(path, e))?;
        if n == 0 {
            break;
        }
        w.write(&buf[..n]).await?;
    }
    let blob = w.finish().await?;
    Ok(store.append(mailbox, blob, flags, date)?.1)
}

/// Whether the backup's database can hold bodies inline (made by a
/// version with inline.rs).
fn has_inline_bodies(conn: &Connection) -> Result<bool, StoreError> {
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'inline_bodies'",
        [],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

fn old_inline(conn: &Connection, inline: bool, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
    match inline {
        true => crate::inline::read(conn, id),
        false => Ok(None),
    }
}

fn open_old(dir: &Path, keys: Option<&AtRestKeys>) -> Result<Connection, StoreError> {
    let path = dir.join("db").join("postern.db");
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    if let Some(k) = keys {
        if !crate::crypt::db_is_plaintext(&path) {
            crate::crypt::apply_db_key(&conn, k)?;
        }
    }
    Ok(conn)
}

fn old_folders(
    conn: &Connection,
    address: &str,
    only: Option<&str>,
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut st = conn.prepare(
        "SELECT m.name, m.id FROM mailboxes m JOIN users u ON u.id = m.user_id \
         WHERE u.address = ?1 AND (?2 IS NULL OR m.name = ?2) ORDER BY m.name",
    )?;
    let rows = st
        .query_map(rusqlite::params![address, only], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn old_messages(conn: &Connection, mailbox: i64) -> Result<Vec<OldMessage>, StoreError> {
    let mut st = conn.prepare(
        "SELECT blob_id, internaldate, flags FROM messages WHERE mailbox_id = ?1 ORDER BY uid",
    )?;
    let rows = st
        .query_map([mailbox], |r| {
            Ok(OldMessage {
                blob: r.get(0)?,
                date: r.get(1)?,
                flags: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
