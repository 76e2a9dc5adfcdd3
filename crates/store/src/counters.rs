//! Antispam counters for the admin console (issue 16 item 8): how many
//! messages were tagged, refused, greylisted… since the data directory was
//! made. Sessions count into a [`Tally`] (atomics: no lock, no disk on the
//! hot path); the server flushes it into the `spam_counters` table every
//! [`FLUSH_EVERY`] and at shutdown, so a crash loses at most that many
//! seconds of counts, never mail. `postern spam stats` reads the table.

use crate::{Store, StoreError};
use rusqlite::params;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How often the server writes its tally to the store.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);

/// One counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// Spam from `spam.tag_score`: tagged and put into Junk.
    Tagged,
    /// Spam from `spam.reject_score`, refused with 550 5.7.1.
    Rejected,
    /// Spam from `spam.reject_score`, accepted and thrown away.
    Discarded,
    /// Recipients deferred by greylisting (451 4.7.1 at RCPT).
    Greylisted,
    /// Refused by a local blacklist (wired by the DNSBL/whitelist stage).
    Blacklisted,
    /// Refused by a DNS blocklist (wired by the DNSBL stage).
    DnsblBlocked,
    /// Refused for a DMARC policy (p=reject).
    DmarcRejected,
    /// Put into Junk for a DMARC policy (p=quarantine).
    DmarcQuarantined,
    /// Messages the antivirus stage found infected (issue 17 item 9).
    VirusFound,
    /// Messages with an attachment the attachment filter blocked.
    AttachmentBlocked,
    /// Messages that could not be fully scanned (encrypted, corrupt, over a limit).
    AvUnscannable,
    /// Scans that failed for an engine (clamd down, hanging, refusing).
    AvEngineFailed,
}

impl Counter {
    pub const ALL: [Counter; 12] = [
        Counter::Tagged,
        Counter::Rejected,
        Counter::Discarded,
        Counter::Greylisted,
        Counter::Blacklisted,
        Counter::DnsblBlocked,
        Counter::DmarcRejected,
        Counter::DmarcQuarantined,
        Counter::VirusFound,
        Counter::AttachmentBlocked,
        Counter::AvUnscannable,
        Counter::AvEngineFailed,
    ];

    /// Its name in the store and in `postern spam stats`.
    pub fn name(self) -> &'static str {
        match self {
            Counter::Tagged => "tagged",
            Counter::Rejected => "rejected",
            Counter::Discarded => "discarded",
            Counter::Greylisted => "greylisted",
            Counter::Blacklisted => "blacklisted",
            Counter::DnsblBlocked => "dnsbl-blocked",
            Counter::DmarcRejected => "dmarc-rejected",
            Counter::DmarcQuarantined => "dmarc-quarantined",
            Counter::VirusFound => "virus-found",
            Counter::AttachmentBlocked => "attachment-blocked",
            Counter::AvUnscannable => "av-unscannable",
            Counter::AvEngineFailed => "av-engine-failed",
        }
    }
}

/// Counts not yet in the store, one atomic per [`Counter`].
#[derive(Debug, Default)]
pub struct Tally([AtomicU64; Counter::ALL.len()]);

impl Tally {
    pub fn bump(&self, c: Counter) {
        self.0[c as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Adds the counts to the store and takes them out of the tally; on a
    /// store error they go back in, to be written next time.
    pub fn flush(&self, store: &Store) -> Result<(), StoreError> {
        let taken: Vec<(Counter, u64)> = Counter::ALL
            .iter()
            .map(|c| (*c, self.0[*c as usize].swap(0, Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect();
        if taken.is_empty() {
            return Ok(());
        }
        let named: Vec<(&str, u64)> = taken.iter().map(|(c, n)| (c.name(), *n)).collect();
        store.bump_counters(&named).inspect_err(|_| {
            for (c, n) in &taken {
                self.0[*c as usize].fetch_add(*n, Ordering::Relaxed);
            }
        })
    }
}

impl Store {
    /// Adds `n` to the counter `name` (created at 0).
    pub fn bump_counter(&self, name: &str, n: u64) -> Result<(), StoreError> {
        self.bump_counters(&[(name, n)])
    }

    /// Adds to several counters in one transaction.
    pub fn bump_counters(&self, counts: &[(&str, u64)]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for (name, n) in counts {
            tx.execute(
                "INSERT INTO spam_counters (name, value) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                params![name, *n as i64],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Every counter of [`Counter::ALL`] (0 when never bumped), in that
    /// order, then any other stored ones by name.
    pub fn counters(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare("SELECT name, value FROM spam_counters ORDER BY name")?;
        let stored = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let value = |name: &str| {
            stored
                .iter()
                .find(|(n, _)| n == name)
                .map_or(0, |(_, v)| *v)
        };
        let mut out: Vec<(String, u64)> = Counter::ALL
            .iter()
            .map(|c| (c.name().to_string(), value(c.name())))
            .collect();
        let known = |n: &str| Counter::ALL.iter().any(|c| c.name() == n);
        out.extend(stored.iter().filter(|(n, _)| !known(n)).cloned());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_flushes_into_the_store_and_empties() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        let t = Tally::default();
        t.bump(Counter::Tagged);
        t.bump(Counter::Tagged);
        t.bump(Counter::Greylisted);
        t.flush(&s).unwrap();
        t.flush(&s).unwrap(); // nothing twice
        s.bump_counter("learned-spam", 3).unwrap();
        let c = s.counters().unwrap();
        let get = |n: &str| c.iter().find(|(k, _)| k == n).unwrap().1;
        assert_eq!(
            (get("tagged"), get("greylisted"), get("rejected")),
            (2, 1, 0)
        );
        assert_eq!(get("learned-spam"), 3);
        assert_eq!(c[0].0, "tagged");
        assert_eq!(c.len(), Counter::ALL.len() + 1);
    }
}
