//! Queue administration (SPEC M4): retry now, delete, hold and release. These
//! run from the CLI while the server runs; the scheduler sees them on its next
//! look at the queue (it polls, and an attempt in flight for a deleted message
//! records nothing: `queue_record` reports it missing).

use super::attempts::remove_message;
use crate::blob::take_dead;
use crate::ids::now;
use crate::{Store, StoreError};
use rusqlite::{params, OptionalExtension};

/// Which queued messages an admin command applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueSelect<'a> {
    One(&'a str),
    All,
}

impl Store {
    /// Makes the active recipients due now; returns how many.
    pub fn queue_retry(&self, which: QueueSelect<'_>) -> Result<usize, StoreError> {
        let conn = self.conn();
        let n = match which {
            QueueSelect::One(id) => {
                self.require_queued(&conn, id)?;
                conn.execute(
                    "UPDATE queue_recipients SET next_attempt = ?2 WHERE queue_id = ?1 AND status IN ('pending', 'deferred')",
                    params![id, now()],
                )?
            }
            QueueSelect::All => conn.execute(
                "UPDATE queue_recipients SET next_attempt = ?1 WHERE status IN ('pending', 'deferred')",
                [now()],
            )?,
        };
        drop(conn);
        self.queue_wakeup().notify_one();
        Ok(n)
    }

    /// Removes a message from the queue without delivering or bouncing it.
    pub fn queue_delete(&self, id: &str) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let blob: Option<String> = tx
            .query_row(
                "SELECT blob_id FROM queue_messages WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        let Some(blob) = blob else {
            return Err(StoreError::NotFound(format!("queued message {id}")));
        };
        remove_message(&tx, id, &blob)?;
        let dead = take_dead(&tx)?;
        tx.commit()?;
        drop(conn);
        self.remove_blob_files(&dead);
        Ok(())
    }

    /// Holds a message (no attempts) or releases it (due at once).
    pub fn queue_hold(&self, id: &str, hold: bool) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE queue_messages SET held = ?2 WHERE id = ?1",
            params![id, hold],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("queued message {id}")));
        }
        if !hold {
            tx.execute(
                "UPDATE queue_recipients SET next_attempt = ?2 WHERE queue_id = ?1 AND status IN ('pending', 'deferred')",
                params![id, now()],
            )?;
        }
        tx.commit()?;
        drop(conn);
        self.queue_wakeup().notify_one();
        Ok(())
    }

    fn require_queued(&self, conn: &rusqlite::Connection, id: &str) -> Result<(), StoreError> {
        let found: Option<i64> = conn
            .query_row("SELECT 1 FROM queue_messages WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        found
            .map(|_| ())
            .ok_or_else(|| StoreError::NotFound(format!("queued message {id}")))
    }
}
