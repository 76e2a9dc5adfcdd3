//! What the outbound scheduler reads and writes: recipients that are due, the
//! message they belong to, and the results of an attempt — recorded together
//! with any bounce the attempt produced, in one transaction, so a crash can
//! neither lose a bounce nor repeat a delivery that was recorded (SPEC M3).

use crate::blob::{sync_dir, take_if_dead};
use crate::commit::{self, Delivery};
use crate::mailbox::Change;
use crate::{BlobId, Store, StoreError};
use rusqlite::{params, OptionalExtension, Transaction};

/// A recipient's place in its life in the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecipientStatus {
    /// Not tried yet.
    Pending,
    /// Tried, failed temporarily, waiting for `next_attempt`.
    Deferred,
    /// A server accepted it: never attempted again.
    Delivered,
    /// Failed for good; the sender was told (unless they asked not to be).
    Bounced,
}

impl RecipientStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientStatus::Pending => "pending",
            RecipientStatus::Deferred => "deferred",
            RecipientStatus::Delivered => "delivered",
            RecipientStatus::Bounced => "bounced",
        }
    }

    pub fn parse(s: &str) -> Option<RecipientStatus> {
        Some(match s {
            "pending" => RecipientStatus::Pending,
            "deferred" => RecipientStatus::Deferred,
            "delivered" => RecipientStatus::Delivered,
            "bounced" => RecipientStatus::Bounced,
            _ => return None,
        })
    }

    /// Still to be attempted.
    pub fn is_active(self) -> bool {
        matches!(self, RecipientStatus::Pending | RecipientStatus::Deferred)
    }
}

/// A recipient whose next attempt is due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueRecipient {
    pub id: i64,
    pub queue_id: String,
    pub domain: String,
}

/// A queued message with everything an attempt needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundMessage {
    pub id: String,
    pub blob: BlobId,
    pub sender: String,
    pub created: i64,
    pub size: u64,
    pub env_id: Option<String>,
    pub ret: Option<String>,
    pub smtputf8: bool,
    pub held: bool,
    pub recipients: Vec<OutboundRecipient>,
    /// Header fields to send before the body file (DKIM signatures); `size` excludes them.
    pub prepend: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundRecipient {
    pub id: i64,
    pub address: String,
    pub domain: String,
    pub orcpt: Option<String>,
    /// RCPT flags as smtp-proto defines them (NOTIFY bits among them).
    pub notify: u64,
    pub status: RecipientStatus,
    pub attempts: u32,
    pub next_attempt: i64,
    pub last_error: Option<String>,
    pub warned: bool,
}

/// The new state of one recipient after an attempt (or a decision without one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientUpdate {
    pub id: i64,
    pub status: RecipientStatus,
    pub next_attempt: i64,
    pub last_error: Option<String>,
    pub remote_mta: Option<String>,
    /// Whether a connection attempt was made (counts in `attempts`).
    pub attempted: bool,
    pub attempt_time: i64,
    /// A delay warning was sent with this update.
    pub warned: bool,
}

/// An attempt's outcome for one message: recipient updates and, when the
/// sender must be told, the notification to deliver (a DSN from the null sender).
#[derive(Debug)]
pub struct QueueReport {
    pub queue_id: String,
    pub updates: Vec<RecipientUpdate>,
    pub notice: Option<Delivery>,
    /// The notice's journal entry (archive.rs) when archiving is on, written
    /// in the same transaction as the notice.
    pub archive: Option<crate::archive::ArchiveEnvelope>,
}

/// What recording a report did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recorded {
    /// The message was gone (deleted by an admin): nothing was recorded.
    pub missing: bool,
    /// Every recipient is final: the message left the queue.
    pub finished: bool,
    /// A notice was committed (and queued or delivered locally).
    pub noticed: bool,
}

/// Recipients first in line to be tried: due, not held, oldest first.
const DUE_SQL: &str = "SELECT r.id, r.queue_id, r.domain FROM queue_recipients r \
     JOIN queue_messages m ON m.id = r.queue_id \
     WHERE r.status IN ('pending', 'deferred') AND r.next_attempt <= ?1 AND m.held = 0 \
     ORDER BY r.next_attempt, r.id LIMIT ?2";

impl Store {
    /// Up to `limit` recipients whose next attempt is at or before `now`.
    pub fn queue_due(&self, now: i64, limit: usize) -> Result<Vec<DueRecipient>, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(DUE_SQL)?;
        let rows = st.query_map(params![now, limit as i64], |r| {
            Ok(DueRecipient {
                id: r.get(0)?,
                queue_id: r.get(1)?,
                domain: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// When the next recipient (not held) becomes due, if any is waiting.
    pub fn queue_next_due(&self) -> Result<Option<i64>, StoreError> {
        let next: Option<i64> = self.conn().query_row(
            "SELECT MIN(r.next_attempt) FROM queue_recipients r JOIN queue_messages m ON m.id = r.queue_id \
             WHERE r.status IN ('pending', 'deferred') AND m.held = 0",
            [],
            |r| r.get(0),
        )?;
        Ok(next)
    }

    /// One queued message with all its recipients.
    pub fn queue_message(&self, id: &str) -> Result<Option<OutboundMessage>, StoreError> {
        let conn = self.conn();
        let msg = conn
            .query_row(
                "SELECT id, blob_id, sender, created, size, env_id, ret, smtputf8, held, prepend FROM queue_messages WHERE id = ?1",
                [id],
                |r| {
                    Ok(OutboundMessage {
                        id: r.get(0)?,
                        blob: BlobId(r.get(1)?),
                        sender: r.get(2)?,
                        created: r.get(3)?,
                        size: r.get::<_, i64>(4)? as u64,
                        env_id: r.get(5)?,
                        ret: r.get(6)?,
                        smtputf8: r.get(7)?,
                        held: r.get(8)?,
                        recipients: vec![],
                        prepend: r.get::<_, Option<Vec<u8>>>(9)?.unwrap_or_default(),
                    })
                },
            )
            .optional()?;
        let Some(mut msg) = msg else { return Ok(None) };
        let mut st = conn.prepare_cached(
            "SELECT id, address, domain, orcpt, notify, status, attempts, next_attempt, last_error, warned \
             FROM queue_recipients WHERE queue_id = ?1 ORDER BY id",
        )?;
        let rows = st.query_map([id], |r| {
            let status: String = r.get(5)?;
            Ok(OutboundRecipient {
                id: r.get(0)?,
                address: r.get(1)?,
                domain: r.get(2)?,
                orcpt: r.get(3)?,
                notify: r.get::<_, i64>(4)? as u64,
                status: RecipientStatus::parse(&status).unwrap_or(RecipientStatus::Pending),
                attempts: r.get::<_, i64>(6)? as u32,
                next_attempt: r.get(7)?,
                last_error: r.get(8)?,
                warned: r.get(9)?,
            })
        })?;
        msg.recipients = rows.collect::<Result<Vec<_>, _>>()?;
        Ok(Some(msg))
    }

    /// Records attempt outcomes, each report with its notice, in one transaction.
    /// A message whose recipients are all final leaves the queue (and its body
    /// when nothing else holds it).
    pub fn queue_record(&self, reports: Vec<QueueReport>) -> Result<Vec<Recorded>, StoreError> {
        for dir in reports
            .iter()
            .filter_map(|r| r.notice.as_ref())
            .filter_map(|n| n.blob.dir().map(std::path::Path::to_path_buf))
        {
            sync_dir(&dir)?;
        }
        let (results, dead, touched) = self.record_retrying(&reports)?;
        let blobs = self.root().join("blobs");
        let mut queued_notice = false;
        for (report, done) in reports.into_iter().zip(&results) {
            if let Some(notice) = report.notice {
                if done.noticed {
                    queued_notice |= !notice.remote.is_empty();
                    notice.blob.keep(&blobs);
                }
            }
        }
        self.remove_blob_files(&dead);
        self.announce(touched);
        if queued_notice {
            self.queue_wakeup().notify_one();
        }
        Ok(results)
    }
}

/// Attempts before a busy database is reported as an error: a result that is
/// not recorded makes the scheduler send the message again later.
const RECORD_ATTEMPTS: u32 = 5;

type RecordedBatch = (Vec<Recorded>, Vec<crate::BlobId>, Vec<Change>);

impl Store {
    fn record_retrying(&self, reports: &[QueueReport]) -> Result<RecordedBatch, StoreError> {
        let mut attempt = 0;
        loop {
            match self.record_tx(reports) {
                Err(StoreError::Db(e)) if is_busy(&e) && attempt + 1 < RECORD_ATTEMPTS => {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20 << attempt));
                }
                other => return other,
            }
        }
    }

    fn record_tx(&self, reports: &[QueueReport]) -> Result<RecordedBatch, StoreError> {
        let mut touched = Vec::new();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut results = Vec::with_capacity(reports.len());
        let mut dead = Vec::new();
        for report in reports {
            let (recorded, blob) = record_one(&tx, report, &mut touched)?;
            if let Some(blob) = blob.filter(|_| recorded.finished) {
                dead.extend(take_if_dead(&tx, &blob)?);
            }
            results.push(recorded);
        }
        tx.commit()?;
        Ok((results, dead, touched))
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Records one report; also returns the message's body id.
fn record_one(
    tx: &Transaction<'_>,
    report: &QueueReport,
    touched: &mut Vec<Change>,
) -> Result<(Recorded, Option<String>), StoreError> {
    let blob: Option<String> = tx
        .query_row(
            "SELECT blob_id FROM queue_messages WHERE id = ?1",
            [&report.queue_id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(blob) = blob else {
        let missing = Recorded {
            missing: true,
            ..Recorded::default()
        };
        return Ok((missing, None));
    };
    for u in &report.updates {
        update_recipient(tx, &report.queue_id, u)?;
    }
    let noticed = match &report.notice {
        Some(n) => commit::apply_archived(tx, n, report.archive.as_ref(), touched).is_ok(),
        None => false,
    };
    let active: i64 = tx.query_row(
        "SELECT COUNT(*) FROM queue_recipients WHERE queue_id = ?1 AND status IN ('pending', 'deferred')",
        [&report.queue_id],
        |r| r.get(0),
    )?;
    let finished = active == 0;
    if finished {
        remove_message(tx, &report.queue_id, &blob)?;
    }
    let recorded = Recorded {
        missing: false,
        finished,
        noticed,
    };
    Ok((recorded, Some(blob)))
}

/// A final recipient is never changed again: only active rows are updated.
fn update_recipient(
    tx: &Transaction<'_>,
    queue_id: &str,
    u: &RecipientUpdate,
) -> Result<(), StoreError> {
    let mut st = tx.prepare_cached(
        "UPDATE queue_recipients SET status = ?3, next_attempt = ?4, last_error = ?5, \
         remote_mta = COALESCE(?6, remote_mta), attempts = attempts + ?7, \
         last_attempt = CASE WHEN ?7 = 1 THEN ?8 ELSE last_attempt END, warned = warned OR ?9 \
         WHERE id = ?1 AND queue_id = ?2 AND status IN ('pending', 'deferred')",
    )?;
    st.execute(params![
        u.id,
        queue_id,
        u.status.as_str(),
        u.next_attempt,
        u.last_error,
        u.remote_mta,
        u.attempted as i64,
        u.attempt_time,
        u.warned,
    ])?;
    Ok(())
}

/// Drops a message from the queue with its reference to the body.
pub(crate) fn remove_message(
    tx: &Transaction<'_>,
    queue_id: &str,
    blob: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM queue_recipients WHERE queue_id = ?1",
        [queue_id],
    )?;
    tx.execute("DELETE FROM queue_messages WHERE id = ?1", [queue_id])?;
    tx.execute("UPDATE blobs SET refs = refs - 1 WHERE id = ?1", [blob])?;
    Ok(())
}
