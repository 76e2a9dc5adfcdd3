//! DMARC aggregate reports (issue 15, item 12; RFC 7489 §7.2), when
//! `auth.dmarc_reports` is on: each checked message whose From: domain
//! publishes a record with rua= is counted in the store's row for its
//! facts in the current reporting period (postern-reports sends them).
//! A period holds at most `MAX_ROWS_PER_PERIOD` rows; a message past it is
//! not counted, and mail.log says so.

use super::{Session, Transaction};
use postern_filter::Results;
use postern_reports::{period::period, row_of, MAX_ROWS_PER_PERIOD};
use postern_store::RowAdded;
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// Counts the message in its report; awaited, so that a report made
    /// right after the 250 has it.
    pub(super) async fn dmarc_report_row(&self, results: &Results, tx: &Transaction) {
        if !self.cfg.auth.dmarc_reports {
            return;
        }
        let Some(row) = row_of(results, self.peer.ip(), &tx.sender) else {
            return;
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let (start, end) = period(now, self.cfg.auth.dmarc_report_interval.0.as_secs());
        let store = self.ctx.directory.clone();
        let domain = row.policy_domain.clone();
        let added = tokio::task::spawn_blocking(move || {
            store.dmarc_row_add(&row, start, end, MAX_ROWS_PER_PERIOD)
        })
        .await;
        let problem = match added {
            Ok(Ok(RowAdded::New | RowAdded::Counted)) => return,
            Ok(Ok(RowAdded::Capped)) => ("dmarc-report-capped", "the period is full".to_string()),
            Ok(Err(e)) => ("dmarc-report-error", e.to_string()),
            Err(e) => ("dmarc-report-error", e.to_string()),
        };
        self.ctx.logs.mail(&[
            ("event", problem.0),
            ("domain", &domain),
            ("reason", &problem.1),
        ]);
    }
}
