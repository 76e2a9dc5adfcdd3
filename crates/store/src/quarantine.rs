//! The antivirus quarantine (issue 17 item 4): infected messages kept
//! aside, with the envelope they came with, for the admin to list, release
//! to their original recipients, or delete (`postern av quarantine`). The
//! body is an ordinary blob (encrypted at rest when the store is) holding
//! one reference for its quarantine row; its table is created by
//! SCHEMA_V18 (attachment_rules.rs), with what a release needs to send the
//! message on as it would have gone (its DKIM signatures, SMTPUTF8) added
//! by SCHEMA_V19.

use crate::blob::{sync_dir, take_if_dead, BlobId, FinishedBlob};
use crate::commit::RemoteRecipient;
use crate::{BodyFiles, Store, StoreError, UserId};
use rusqlite::{params, OptionalExtension};

/// An infected message's envelope, as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuarantineEnvelope {
    pub sender: String,
    /// Every RCPT TO, as given (for `list`).
    pub recipients: Vec<String>,
    pub local: Vec<UserId>,
    pub remote: Vec<RemoteRecipient>,
    /// The virus name (or why the message was counted as one).
    pub reason: String,
    /// Seconds since the epoch.
    pub received: i64,
    /// The envelope asked for SMTPUTF8 (RFC 6531): the released copy keeps it.
    pub smtputf8: bool,
    /// DKIM-Signature fields made at receipt for the remote recipients'
    /// copy (as `Delivery::prepend`): a release sends the message signed
    /// as it would have left, without judging its sender again.
    pub prepend: Vec<u8>,
}

/// Columns a release needs (issue 17: a released message leaves signed).
pub const SCHEMA_V19: &str = r#"
BEGIN;
ALTER TABLE av_quarantine ADD COLUMN smtputf8 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE av_quarantine ADD COLUMN prepend BLOB NOT NULL DEFAULT x'';
PRAGMA user_version = 19;
COMMIT;
"#;

/// One quarantined message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuarantineEntry {
    pub id: i64,
    pub envelope: QuarantineEnvelope,
    pub size: u64,
    pub blob: BlobId,
}

impl Store {
    /// Keeps `blob` (fsync'd by [`crate::BlobWriter::finish`]) in the
    /// quarantine; blocking. Returns the entry's id.
    pub fn quarantine_add(
        &self,
        blob: FinishedBlob,
        env: &QuarantineEnvelope,
    ) -> Result<i64, StoreError> {
        if let Some(dir) = blob.dir() {
            sync_dir(dir)?;
        }
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        crate::inline::record(&tx, &blob, 1)?;
        tx.execute(
            "INSERT INTO av_quarantine (blob_id, size, sender, recipients, local, remote, reason, received,
                                        smtputf8, prepend)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                blob.id().as_str(),
                blob.size() as i64,
                env.sender,
                env.recipients.join("\n"),
                local_text(&env.local),
                remote_text(&env.remote),
                env.reason,
                env.received,
                env.smtputf8,
                env.prepend
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        blob.keep(&self.root().join("blobs"));
        Ok(id)
    }

    /// Every quarantined message, oldest first.
    pub fn quarantine_list(&self) -> Result<Vec<QuarantineEntry>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("{SELECT} ORDER BY id"))?;
        let rows = stmt.query_map([], entry)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// One entry and its body (plaintext), or NotFound.
    pub fn quarantine_get(&self, id: i64) -> Result<(QuarantineEntry, Vec<u8>), StoreError> {
        let e = self
            .conn()
            .query_row(&format!("{SELECT} WHERE id = ?1"), [id], entry)
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("quarantined message {id}")))?;
        let body = self
            .read(&e.blob)?
            .ok_or_else(|| StoreError::NotFound(format!("the body of quarantined message {id}")))?;
        Ok((e, body))
    }

    /// Deletes an entry and, with its last reference, its body.
    pub fn quarantine_delete(&self, id: i64) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let blob: String = tx
            .query_row(
                "DELETE FROM av_quarantine WHERE id = ?1 RETURNING blob_id",
                [id],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("quarantined message {id}")))?;
        tx.execute("UPDATE blobs SET refs = refs - 1 WHERE id = ?1", [&blob])?;
        let dead = take_if_dead(&tx, &blob)?;
        tx.commit()?;
        self.remove_blob_files(&dead);
        Ok(())
    }
}

const SELECT: &str =
    "SELECT id, blob_id, size, sender, recipients, local, remote, reason, received, smtputf8, prepend
     FROM av_quarantine";

fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<QuarantineEntry> {
    let text = |i: usize| r.get::<_, String>(i);
    Ok(QuarantineEntry {
        id: r.get(0)?,
        blob: BlobId::from_db(text(1)?),
        size: r.get::<_, i64>(2)? as u64,
        envelope: QuarantineEnvelope {
            sender: text(3)?,
            recipients: lines(&text(4)?).map(String::from).collect(),
            local: lines(&text(5)?)
                .filter_map(|l| l.parse().ok().map(UserId))
                .collect(),
            remote: lines(&text(6)?).filter_map(remote_of).collect(),
            reason: text(7)?,
            received: r.get(8)?,
            smtputf8: r.get(9)?,
            prepend: r.get(10)?,
        },
    })
}

fn lines(s: &str) -> impl Iterator<Item = &str> {
    s.split('\n').filter(|l| !l.is_empty())
}

fn local_text(local: &[UserId]) -> String {
    let ids: Vec<String> = local.iter().map(|u| u.0.to_string()).collect();
    ids.join("\n")
}

/// One remote recipient per line: address, ORCPT and NOTIFY, tab-separated
/// (none of them holds a tab: RFC 5321 §4.1.2, RFC 3461 §4.2 xtext).
fn remote_text(remote: &[RemoteRecipient]) -> String {
    let rows: Vec<String> = remote
        .iter()
        .map(|r| {
            let orcpt = r.orcpt.as_deref().unwrap_or("");
            format!("{}\t{orcpt}\t{}", r.address, r.notify)
        })
        .collect();
    rows.join("\n")
}

fn remote_of(line: &str) -> Option<RemoteRecipient> {
    let mut f = line.split('\t');
    let address = f.next()?.to_string();
    let orcpt = f.next().filter(|s| !s.is_empty()).map(String::from);
    let notify = f.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    Some(RemoteRecipient {
        address,
        orcpt,
        notify,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn add_list_get_delete() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        let mut w = s.create_blob().await.unwrap();
        w.write(b"Subject: x\r\n\r\nEICAR\r\n").await.unwrap();
        let blob = w.finish().await.unwrap();
        let env = QuarantineEnvelope {
            sender: "a@outside.example".into(),
            recipients: vec!["alice@example.org".into(), "x@remote.example".into()],
            local: vec![UserId(1)],
            remote: vec![RemoteRecipient {
                address: "x@remote.example".into(),
                orcpt: Some("rfc822;x@remote.example".into()),
                notify: 3,
            }],
            reason: "Eicar-Test-Signature".into(),
            received: 1_700_000_000,
            smtputf8: true,
            prepend: b"DKIM-Signature: v=1; d=example.org\r\n".to_vec(),
        };
        let id = s.quarantine_add(blob, &env).unwrap();
        let list = s.quarantine_list().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!((list[0].id, &list[0].envelope), (id, &env));
        let (e, body) = s.quarantine_get(id).unwrap();
        assert_eq!(body, b"Subject: x\r\n\r\nEICAR\r\n");
        let path = s.blob_path(&e.blob);
        assert!(path.exists());
        s.quarantine_delete(id).unwrap();
        assert!(!path.exists());
        assert!(s.quarantine_list().unwrap().is_empty());
        assert!(matches!(
            s.quarantine_delete(id),
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(s.quarantine_get(id), Err(StoreError::NotFound(_))));
    }
}
