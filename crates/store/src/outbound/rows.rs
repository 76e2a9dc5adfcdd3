//! The outbound queue: messages waiting for remote recipients, with a status
//! per recipient. The outbound-delivery worker builds on these rows.

use crate::commit::Delivery;
use crate::ids::now;
use crate::{BlobId, Store, StoreError};
use rusqlite::{params, OptionalExtension, Transaction};

/// A recipient's state in the queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedRecipient {
    pub address: String,
    pub status: String,
    pub attempts: u32,
    pub next_attempt: i64,
    pub last_error: Option<String>,
}

/// A queued message as `postern queue list` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueEntry {
    pub id: String,
    pub sender: String,
    pub created: i64,
    pub size: u64,
    pub held: bool,
    pub recipients: Vec<QueuedRecipient>,
}

pub(crate) fn enqueue(tx: &Transaction<'_>, id: &BlobId, d: &Delivery) -> Result<(), StoreError> {
    let t = now();
    tx.execute(
        "INSERT INTO queue_messages (id, blob_id, sender, created, size, env_id, ret, smtputf8, prepend) VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![id.as_str(), d.sender, t, d.blob.size() as i64, d.env_id, d.ret, d.smtputf8, (!d.prepend.is_empty()).then_some(&d.prepend)],
    )?;
    for r in &d.remote {
        tx.execute(
            "INSERT INTO queue_recipients (queue_id, address, orcpt, notify, next_attempt, domain) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id.as_str(), r.address, r.orcpt, r.notify as i64, t, domain_of(&r.address)],
        )?;
    }
    tx.execute(
        "UPDATE blobs SET refs = refs + 1 WHERE id = ?1",
        [id.as_str()],
    )?;
    Ok(())
}

impl Store {
    /// Every queued message, oldest first.
    pub fn queue_list(&self) -> Result<Vec<QueueEntry>, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT id, sender, created, size, held FROM queue_messages ORDER BY created, id",
        )?;
        let mut entries = st
            .query_map([], |r| {
                Ok(QueueEntry {
                    id: r.get(0)?,
                    sender: r.get(1)?,
                    created: r.get(2)?,
                    size: r.get::<_, i64>(3)? as u64,
                    held: r.get(4)?,
                    recipients: vec![],
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut rs = conn.prepare("SELECT address, status, attempts, next_attempt, last_error FROM queue_recipients WHERE queue_id = ?1 ORDER BY id")?;
        for e in &mut entries {
            e.recipients = rs
                .query_map([&e.id], |r| {
                    Ok(QueuedRecipient {
                        address: r.get(0)?,
                        status: r.get(1)?,
                        attempts: r.get::<_, i64>(2)? as u32,
                        next_attempt: r.get(3)?,
                        last_error: r.get(4)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
        }
        Ok(entries)
    }

    /// One queued message.
    pub fn queue_get(&self, id: &str) -> Result<Option<QueueEntry>, StoreError> {
        let exists: Option<String> = self
            .conn()
            .query_row("SELECT id FROM queue_messages WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        match exists {
            Some(_) => Ok(self.queue_list()?.into_iter().find(|e| e.id == id)),
            None => Ok(None),
        }
    }
}

/// The routing domain of an address, lowercased (IDNs stay as given: UTF-8).
fn domain_of(address: &str) -> String {
    address
        .rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('.').to_lowercase())
        .unwrap_or_default()
}
