//! The journal archive for auditors (SPEC M8, issue 21 item 4).
//!
//! When `archive.enabled`, every message an SMTP session commits (received
//! on port 25, sent by submission, delivered locally) gets one archive row,
//! written by the group committer in the same transaction as its delivery
//! (commit.rs): the 250 means the archive entry is as durable as the
//! mailbox copy. The row holds the envelope — MAIL FROM, every RCPT TO
//! (Bcc recipients included), time, direction, client IP — and a reference
//! on the message's body blob, so the body outlives every mailbox copy and
//! stays encrypted at rest like any other blob. A message for several
//! local recipients is one row listing them all.
//!
//! The archived copy, as `archive show` prints it and auditors read it, is
//! the envelope as `X-Postern-Archive-*` header fields ([`header_block`])
//! followed by the body as received. Entries leave only by retention
//! ([`Store::archive_purge`]); nothing a user does removes them.

use crate::api::BodyFiles;
use crate::{BlobId, Store, StoreError};
use rusqlite::{params, Transaction};

/// v15 (issue 21 item 4): the archive's entries; bodies are blobs.
pub(crate) const SCHEMA_V15: &str = r#"
BEGIN;
CREATE TABLE IF NOT EXISTS archive (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    blob_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    received INTEGER NOT NULL,
    period TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out', 'local')),
    sender TEXT NOT NULL,
    recipients TEXT NOT NULL,
    client_ip TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS archive_period ON archive (period, id);
CREATE INDEX IF NOT EXISTS archive_received ON archive (received);
PRAGMA user_version = 15;
COMMIT;
"#;

/// Which way a message went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From outside, on port 25.
    In,
    /// Submitted by a user, for at least one other domain.
    Out,
    /// Submitted by a user, for local recipients only.
    Local,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
            Direction::Local => "local",
        }
    }
}

/// How the archive is arranged into folders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
    Month,
}

/// The envelope to archive under the server's `[archive]` settings, or None
/// when archiving is off. Every path that commits mail (SMTP sessions, the
/// queue's notices, antivirus notices, quarantine releases, DMARC reports)
/// builds its envelope here, so "every message" means every message.
pub fn envelope_for(
    cfg: &postern_config::Archive,
    direction: Direction,
    sender: &str,
    recipients: Vec<String>,
    client_ip: String,
    now: i64,
) -> Option<ArchiveEnvelope> {
    if !cfg.enabled {
        return None;
    }
    let period = match cfg.period {
        postern_config::ArchivePeriod::Day => Period::Day,
        postern_config::ArchivePeriod::Week => Period::Week,
        postern_config::ArchivePeriod::Month => Period::Month,
    };
    Some(ArchiveEnvelope {
        direction,
        sender: sender.to_string(),
        recipients,
        client_ip,
        period: period_label(now, period),
    })
}

/// The label of the period holding `unix` (UTC): `2026-12`, `2026-W49`
/// (ISO 8601 week) or `2026-12-07`.
pub fn period_label(unix: i64, period: Period) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    match period {
        Period::Month => format!("{:04}-{:02}", t.year(), t.month() as u8),
        Period::Week => {
            let (y, w, _) = t.to_iso_week_date();
            format!("{y:04}-W{w:02}")
        }
        Period::Day => format!("{:04}-{:02}-{:02}", t.year(), t.month() as u8, t.day()),
    }
}

/// The envelope a session hands to the committer with a message to archive.
#[derive(Clone, Debug)]
pub struct ArchiveEnvelope {
    pub direction: Direction,
    pub sender: String,
    /// Every accepted RCPT TO, as given (Bcc recipients are among them).
    pub recipients: Vec<String>,
    pub client_ip: String,
    /// The period label ([`period_label`]) of the message's time.
    pub period: String,
}

/// One archived message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveEntry {
    pub id: i64,
    pub blob: BlobId,
    pub size: u64,
    pub received: i64,
    pub period: String,
    pub direction: String,
    pub sender: String,
    pub recipients: Vec<String>,
    pub client_ip: String,
}

/// What `archive search` filters on (the text is matched by the caller).
#[derive(Clone, Debug, Default)]
pub struct ArchiveQuery {
    /// Substring of MAIL FROM, case-insensitive.
    pub from: Option<String>,
    /// Substring of any recipient, case-insensitive.
    pub to: Option<String>,
    /// Received at or after (Unix seconds).
    pub since: Option<i64>,
    /// Received before (Unix seconds).
    pub before: Option<i64>,
    /// Only this period.
    pub period: Option<String>,
    /// Only entries with a greater id (IMAP: changed since this MODSEQ).
    pub after_id: Option<i64>,
}

/// Records `env` for the blob `id` inside the delivery's transaction.
pub(crate) fn record(
    tx: &Transaction<'_>,
    id: &BlobId,
    size: u64,
    received: i64,
    env: &ArchiveEnvelope,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO archive (blob_id, size, received, period, direction, sender, recipients, client_ip)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id.as_str(),
            size as i64,
            received,
            env.period,
            env.direction.as_str(),
            env.sender,
            env.recipients.join("\n"),
            env.client_ip,
        ],
    )?;
    tx.execute(
        "UPDATE blobs SET refs = refs + 1 WHERE id = ?1",
        [id.as_str()],
    )?;
    Ok(())
}

/// The envelope as header fields, put before the archived body.
pub fn header_block(e: &ArchiveEntry) -> String {
    let date = time::OffsetDateTime::from_unix_timestamp(e.received)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc2822)
                .ok()
        })
        .unwrap_or_default();
    let mut h = format!(
        "X-Postern-Archive-Id: {}\r\nX-Postern-Archive-Direction: {}\r\nX-Postern-Archive-Date: {date}\r\nX-Postern-Archive-Client: {}\r\nX-Postern-Archive-From: <{}>\r\n",
        e.id, e.direction, e.client_ip, e.sender
    );
    for r in &e.recipients {
        h.push_str(&format!("X-Postern-Archive-To: <{r}>\r\n"));
    }
    h
}

const COLUMNS: &str =
    "id, blob_id, size, received, period, direction, sender, recipients, client_ip";

fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<ArchiveEntry> {
    let recipients: String = r.get(7)?;
    Ok(ArchiveEntry {
        id: r.get(0)?,
        blob: BlobId::from_db(r.get(1)?),
        size: r.get::<_, i64>(2)? as u64,
        received: r.get(3)?,
        period: r.get(4)?,
        direction: r.get(5)?,
        sender: r.get(6)?,
        recipients: recipients.lines().map(str::to_string).collect(),
        client_ip: r.get(8)?,
    })
}

fn contains(hay: &str, needle: &Option<String>) -> bool {
    needle
        .as_ref()
        .is_none_or(|n| hay.to_lowercase().contains(&n.to_lowercase()))
}

impl Store {
    /// The entries matching `q`, oldest first.
    pub fn archive_entries(&self, q: &ArchiveQuery) -> Result<Vec<ArchiveEntry>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM archive WHERE received >= ?1 AND received < ?2
             AND (?3 IS NULL OR period = ?3) AND id > ?4 ORDER BY id"
        ))?;
        let rows = st.query_map(
            params![
                q.since.unwrap_or(i64::MIN),
                q.before.unwrap_or(i64::MAX),
                q.period,
                q.after_id.unwrap_or(0)
            ],
            entry,
        )?;
        let mut out = Vec::new();
        for e in rows {
            let e = e?;
            if contains(&e.sender, &q.from) && contains(&e.recipients.join("\n"), &q.to) {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// One entry by id.
    pub fn archive_entry(&self, id: i64) -> Result<Option<ArchiveEntry>, StoreError> {
        use rusqlite::OptionalExtension;
        let conn = self.reader()?;
        let sql = format!("SELECT {COLUMNS} FROM archive WHERE id = ?1");
        Ok(conn.query_row(&sql, [id], entry).optional()?)
    }

    /// The archived copy: envelope header fields, then the body as received.
    pub fn archive_message(&self, e: &ArchiveEntry) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(body) = BodyFiles::read(self, &e.blob)? else {
            return Ok(None);
        };
        let mut out = header_block(e).into_bytes();
        out.extend_from_slice(&body);
        Ok(Some(out))
    }

    /// Whether `period` holds entries, and its last entry's id (0 if none).
    pub fn archive_period_last(&self, period: &str) -> Result<i64, StoreError> {
        let conn = self.reader()?;
        let mut st =
            conn.prepare_cached("SELECT COALESCE(MAX(id), 0) FROM archive WHERE period = ?1")?;
        Ok(st.query_row([period], |r| r.get(0))?)
    }

    /// The periods holding entries, in order.
    pub fn archive_periods(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare_cached("SELECT DISTINCT period FROM archive ORDER BY period")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Removes the entries received before `cutoff` (Unix seconds), and
    /// the bodies nothing else holds; returns how many entries went.
    pub fn archive_purge(&self, cutoff: i64) -> Result<usize, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let blobs: Vec<String> = {
            let mut st = tx.prepare("DELETE FROM archive WHERE received < ?1 RETURNING blob_id")?;
            let rows = st.query_map([cutoff], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        {
            let mut unref = tx.prepare_cached("UPDATE blobs SET refs = refs - 1 WHERE id = ?1")?;
            for b in &blobs {
                unref.execute([b])?;
            }
        }
        let dead = crate::blob::take_dead(&tx)?;
        tx.commit()?;
        drop(conn);
        self.remove_blob_files(&dead);
        Ok(blobs.len())
    }
}
