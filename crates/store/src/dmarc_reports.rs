//! The rows of the DMARC aggregate reports we send (issue 15, item 12;
//! RFC 7489 §7.2): one row per reporting period, policy domain and the
//! facts Appendix C groups by (source IP, identifiers, disposition,
//! results), with the number of messages that had them. Rows are added at
//! the end of DATA and deleted once their report is sent (or given up).
//! A period holds at most the cap its caller passes; past it a new row is
//! refused (counted rows still count) so a flood of distinct sources cannot
//! grow the table without bound.

use crate::{Store, StoreError};
use rusqlite::{params, Connection};

/// One message's facts for the report (the grouping key and the policy).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DmarcRow {
    /// The domain whose DMARC record applied (RFC 7489 §7.2.1.1 policy_published).
    pub policy_domain: String,
    /// policy_published as "adkim aspf p sp pct" (e.g. "r r reject none 100").
    pub policy: String,
    /// The rua URIs, one a line, as published (with any `!size`).
    pub rua: String,
    pub source_ip: String,
    pub header_from: String,
    pub envelope_from: String,
    /// none, quarantine or reject.
    pub disposition: String,
    /// Appendix C PolicyOverrideType, or "" (local_policy, trusted_forwarder, sampled_out).
    pub reason: String,
    /// The DMARC-aligned results, pass or fail.
    pub dkim: String,
    pub spf: String,
    /// Each DKIM signature's "domain selector result", one a line.
    pub dkim_auth: String,
    /// "domain result" of SPF (MAIL FROM).
    pub spf_auth: String,
}

/// A stored row: the facts, the period and how many messages had them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDmarcRow {
    pub id: i64,
    pub period_start: i64,
    pub period_end: i64,
    pub count: u64,
    pub row: DmarcRow,
}

/// What adding a message did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowAdded {
    /// Counted on a row the period already had.
    Counted,
    /// A new row.
    New,
    /// Not recorded: the period already has `cap` rows.
    Capped,
}

/// v14 (issue 15 item 12): the rows of the DMARC reports to send.
pub(crate) const SCHEMA_V14: &str = r#"
BEGIN;
CREATE TABLE IF NOT EXISTS dmarc_report_rows (
    id INTEGER PRIMARY KEY,
    period_start INTEGER NOT NULL,
    period_end INTEGER NOT NULL,
    policy_domain TEXT NOT NULL,
    policy TEXT NOT NULL,
    rua TEXT NOT NULL,
    source_ip TEXT NOT NULL,
    header_from TEXT NOT NULL,
    envelope_from TEXT NOT NULL,
    disposition TEXT NOT NULL,
    reason TEXT NOT NULL,
    dkim TEXT NOT NULL,
    spf TEXT NOT NULL,
    dkim_auth TEXT NOT NULL,
    spf_auth TEXT NOT NULL,
    count INTEGER NOT NULL,
    UNIQUE (period_start, policy_domain, source_ip, header_from, envelope_from,
            disposition, reason, dkim, spf, dkim_auth, spf_auth)
);
CREATE INDEX IF NOT EXISTS dmarc_report_rows_end ON dmarc_report_rows (period_end);
PRAGMA user_version = 14;
COMMIT;
"#;

impl Store {
    /// Counts one message with `row`'s facts in the period [start, end).
    pub fn dmarc_row_add(
        &self,
        row: &DmarcRow,
        start: i64,
        end: i64,
        cap: usize,
    ) -> Result<RowAdded, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let added = add(&tx, row, start, end, cap)?;
        tx.commit()?;
        Ok(added)
    }

    /// The rows of every period that ended at or before `now`, oldest first.
    pub fn dmarc_rows_due(&self, now: i64) -> Result<Vec<StoredDmarcRow>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare(
            "SELECT id, period_start, period_end, count, policy_domain, policy, rua, source_ip,
                    header_from, envelope_from, disposition, reason, dkim, spf, dkim_auth, spf_auth
             FROM dmarc_report_rows WHERE period_end <= ?1 ORDER BY period_start, id",
        )?;
        let rows = stmt.query_map([now], |r| {
            Ok(StoredDmarcRow {
                id: r.get(0)?,
                period_start: r.get(1)?,
                period_end: r.get(2)?,
                count: r.get::<_, i64>(3)? as u64,
                row: DmarcRow {
                    policy_domain: r.get(4)?,
                    policy: r.get(5)?,
                    rua: r.get(6)?,
                    source_ip: r.get(7)?,
                    header_from: r.get(8)?,
                    envelope_from: r.get(9)?,
                    disposition: r.get(10)?,
                    reason: r.get(11)?,
                    dkim: r.get(12)?,
                    spf: r.get(13)?,
                    dkim_auth: r.get(14)?,
                    spf_auth: r.get(15)?,
                },
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deletes rows whose report went out (or was given up).
    pub fn dmarc_rows_delete(&self, ids: &[i64]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for id in ids {
            tx.execute("DELETE FROM dmarc_report_rows WHERE id = ?1", [id])?;
        }
        tx.commit()?;
        Ok(())
    }
}

fn add(
    conn: &Connection,
    row: &DmarcRow,
    start: i64,
    end: i64,
    cap: usize,
) -> Result<RowAdded, StoreError> {
    let r = row;
    let n = conn.execute(
        "UPDATE dmarc_report_rows SET count = count + 1, policy = ?12, rua = ?13
         WHERE period_start = ?1 AND policy_domain = ?2 AND source_ip = ?3 AND header_from = ?4
           AND envelope_from = ?5 AND disposition = ?6 AND reason = ?7 AND dkim = ?8 AND spf = ?9
           AND dkim_auth = ?10 AND spf_auth = ?11",
        params![
            start,
            r.policy_domain,
            r.source_ip,
            r.header_from,
            r.envelope_from,
            r.disposition,
            r.reason,
            r.dkim,
            r.spf,
            r.dkim_auth,
            r.spf_auth,
            r.policy,
            r.rua
        ],
    )?;
    if n > 0 {
        return Ok(RowAdded::Counted);
    }
    let have: i64 = conn.query_row(
        "SELECT COUNT(*) FROM dmarc_report_rows WHERE period_start = ?1",
        [start],
        |x| x.get(0),
    )?;
    if have as usize >= cap {
        return Ok(RowAdded::Capped);
    }
    conn.execute(
        "INSERT INTO dmarc_report_rows (period_start, period_end, policy_domain, policy, rua,
             source_ip, header_from, envelope_from, disposition, reason, dkim, spf, dkim_auth,
             spf_auth, count)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 1)",
        params![
            start,
            end,
            r.policy_domain,
            r.policy,
            r.rua,
            r.source_ip,
            r.header_from,
            r.envelope_from,
            r.disposition,
            r.reason,
            r.dkim,
            r.spf,
            r.dkim_auth,
            r.spf_auth
        ],
    )?;
    Ok(RowAdded::New)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        (d, s)
    }

    fn row(ip: &str) -> DmarcRow {
        DmarcRow {
            policy_domain: "example.net".into(),
            policy: "r r reject none 100".into(),
            rua: "mailto:d@example.net".into(),
            source_ip: ip.into(),
            header_from: "example.net".into(),
            disposition: "reject".into(),
            dkim: "fail".into(),
            spf: "fail".into(),
            ..DmarcRow::default()
        }
    }

    #[test]
    fn same_facts_count_on_one_row_and_due_rows_are_deleted() {
        let (_d, s) = store();
        assert_eq!(
            s.dmarc_row_add(&row("192.0.2.1"), 0, 100, 10).unwrap(),
            RowAdded::New
        );
        assert_eq!(
            s.dmarc_row_add(&row("192.0.2.1"), 0, 100, 10).unwrap(),
            RowAdded::Counted
        );
        assert_eq!(
            s.dmarc_row_add(&row("192.0.2.2"), 0, 100, 10).unwrap(),
            RowAdded::New
        );
        assert_eq!(
            s.dmarc_row_add(&row("192.0.2.1"), 100, 200, 10).unwrap(),
            RowAdded::New
        );
        assert!(
            s.dmarc_rows_due(99).unwrap().is_empty(),
            "the period has not ended"
        );
        let due = s.dmarc_rows_due(100).unwrap();
        assert_eq!(due.iter().map(|r| r.count).collect::<Vec<_>>(), [2, 1]);
        s.dmarc_rows_delete(&due.iter().map(|r| r.id).collect::<Vec<_>>())
            .unwrap();
        assert!(s.dmarc_rows_due(100).unwrap().is_empty());
        assert_eq!(s.dmarc_rows_due(200).unwrap().len(), 1);
    }

    #[test]
    fn a_period_holds_at_most_cap_rows() {
        let (_d, s) = store();
        for i in 0..3 {
            let r = row(&format!("192.0.2.{i}"));
            assert_eq!(s.dmarc_row_add(&r, 0, 100, 3).unwrap(), RowAdded::New);
        }
        assert_eq!(
            s.dmarc_row_add(&row("192.0.2.9"), 0, 100, 3).unwrap(),
            RowAdded::Capped
        );
        // A row it has still counts; another period has its own cap.
        assert_eq!(
            s.dmarc_row_add(&row("192.0.2.0"), 0, 100, 3).unwrap(),
            RowAdded::Counted
        );
        assert_eq!(
            s.dmarc_row_add(&row("192.0.2.9"), 100, 200, 3).unwrap(),
            RowAdded::New
        );
    }
}
