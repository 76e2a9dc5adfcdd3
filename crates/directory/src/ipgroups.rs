//! IP address groups (SPEC X1) and the addresses the brute-force guard
//! blocked (X7), shared by the server and the CLI through the database: the
//! server re-reads both every second, so `postern ipgroup` and
//! `postern security unblock` take effect while it runs.
//!
//! Entries are kept as the caller spelled them; `postern_net::ipgroup`
//! parses and canonicalises them before they get here.

use crate::db::Db;
use postern_store::StoreError;
use rusqlite::{params, OptionalExtension};

/// A blocked client address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub ip: String,
    /// Unix seconds.
    pub since: i64,
    pub until: i64,
    pub failures: u32,
    pub reason: String,
}

/// A group's name (as first written) and its entries.
pub type IpGroupRow = (String, Vec<String>);

pub trait IpGroups: Db {
    /// Adds entries to a group, creating it; returns the group's entries after.
    fn ipgroup_add(&self, name: &str, entries: &[String]) -> Result<IpGroupRow, StoreError> {
        if entries.iter().any(|e| e.trim().is_empty()) {
            return Err(StoreError::Invalid("empty IP group entry".into()));
        }
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        // Names match without case; the first spelling stays.
        let name: String = tx
            .query_row("SELECT name FROM ip_groups WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?
            .unwrap_or_else(|| name.to_string());
        for e in entries {
            tx.execute(
                "INSERT OR IGNORE INTO ip_groups (name, entry) VALUES (?1, ?2)",
                params![name, e],
            )?;
        }
        tx.commit()?;
        drop(conn);
        self.ipgroup_get(&name)
    }

    /// Removes the named entries, or the whole group when none are named;
    /// returns what is left. Naming an entry the group lacks is an error.
    fn ipgroup_del(&self, name: &str, entries: &[String]) -> Result<IpGroupRow, StoreError> {
        let (name, _) = self.ipgroup_get(name)?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if entries.is_empty() {
            tx.execute("DELETE FROM ip_groups WHERE name = ?1", [&name])?;
        }
        for e in entries {
            let n = tx.execute(
                "DELETE FROM ip_groups WHERE name = ?1 AND entry = ?2",
                params![name, e],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(format!(
                    "entry {e} of IP group {name}"
                )));
            }
        }
        tx.commit()?;
        drop(conn);
        let left = self.ipgroup_list()?.into_iter().find(|(n, _)| *n == name);
        Ok(left.unwrap_or((name, Vec::new())))
    }

    /// One group; `NotFound` when it has no entries.
    fn ipgroup_get(&self, name: &str) -> Result<IpGroupRow, StoreError> {
        self.ipgroup_list()?
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .ok_or_else(|| StoreError::NotFound(format!("IP group {name}")))
    }

    /// Every group, by name, entries in the order they were added.
    fn ipgroup_list(&self) -> Result<Vec<IpGroupRow>, StoreError> {
        let conn = self.reader()?;
        let mut stmt =
            conn.prepare("SELECT name, entry FROM ip_groups ORDER BY name COLLATE NOCASE, rowid")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
        let mut out: Vec<IpGroupRow> = Vec::new();
        for row in rows {
            let (name, entry) = row?;
            match out.last_mut() {
                Some((n, es)) if n.eq_ignore_ascii_case(&name) => es.push(entry),
                _ => out.push((name, vec![entry])),
            }
        }
        Ok(out)
    }

    /// Records a block (replacing an earlier one of the same address).
    fn block_put(&self, b: &Block) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT OR REPLACE INTO login_blocks (ip, since, until, failures, reason)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![b.ip, b.since, b.until, b.failures, b.reason],
        )?;
        Ok(())
    }

    /// Blocks still in force at `now`, oldest first.
    fn block_list(&self, now: i64) -> Result<Vec<Block>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare(
            "SELECT ip, since, until, failures, reason FROM login_blocks
             WHERE until > ?1 ORDER BY since, ip",
        )?;
        let rows = stmt.query_map([now], row_block)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Lifts the block of `ip`; false when it had none in force at `now`.
    fn block_del(&self, ip: &str, now: i64) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "DELETE FROM login_blocks WHERE ip = ?1 AND until > ?2",
            params![ip, now],
        )?;
        Ok(n > 0)
    }

    /// Forgets blocks that ended at or before `now`; returns them, so the
    /// one caller that purges (the server) can log each end exactly once.
    fn block_purge(&self, now: i64) -> Result<Vec<Block>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "DELETE FROM login_blocks WHERE until <= ?1
             RETURNING ip, since, until, failures, reason",
        )?;
        let rows = stmt.query_map([now], row_block)?;
        let mut ended: Vec<Block> = rows.collect::<Result<_, _>>()?;
        ended.sort_by(|a, b| (a.until, &a.ip).cmp(&(b.until, &b.ip)));
        Ok(ended)
    }
}

impl IpGroups for postern_store::Store {}

/// A `login_blocks` row selected as ip, since, until, failures, reason.
fn row_block(r: &rusqlite::Row<'_>) -> rusqlite::Result<Block> {
    Ok(Block {
        ip: r.get(0)?,
        since: r.get(1)?,
        until: r.get(2)?,
        failures: r.get(3)?,
        reason: r.get(4)?,
    })
}

#[cfg(test)]
mod tests {
    use super::Block;
    use crate::prelude::*;
    use postern_store::{Store, StoreError};

    fn store() -> (tempfile::TempDir, Store) {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        (d, s)
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn groups_round_trip() {
        let (_d, s) = store();
        s.ipgroup_add("Office", &strings(&["10.0.0.0/8", "!10.0.0.5"]))
            .unwrap();
        let (name, entries) = s
            .ipgroup_add("office", &strings(&["::1", "10.0.0.0/8"]))
            .unwrap();
        assert_eq!(name, "Office");
        assert_eq!(entries, ["10.0.0.0/8", "!10.0.0.5", "::1"]);
        s.ipgroup_add("lan", &strings(&["192.0.2.0/24"])).unwrap();
        assert_eq!(s.ipgroup_list().unwrap().len(), 2);
        let (_, left) = s.ipgroup_del("OFFICE", &strings(&["::1"])).unwrap();
        assert_eq!(left, ["10.0.0.0/8", "!10.0.0.5"]);
        assert!(matches!(
            s.ipgroup_del("office", &strings(&["::1"])),
            Err(StoreError::NotFound(_))
        ));
        s.ipgroup_del("office", &[]).unwrap();
        assert!(matches!(
            s.ipgroup_get("office"),
            Err(StoreError::NotFound(_))
        ));
        assert!(s.ipgroup_del("nope", &[]).is_err());
        assert!(s.ipgroup_add("x", &strings(&[" "])).is_err());
    }

    #[test]
    fn blocks_round_trip() {
        let (_d, s) = store();
        let b = Block {
            ip: "192.0.2.1".into(),
            since: 100,
            until: 400,
            failures: 10,
            reason: "10 failed logins in 60s".into(),
        };
        s.block_put(&b).unwrap();
        assert_eq!(s.block_list(399).unwrap(), std::slice::from_ref(&b));
        assert!(s.block_list(400).unwrap().is_empty());
        assert!(!s.block_del("192.0.2.2", 200).unwrap());
        assert!(s.block_del("192.0.2.1", 200).unwrap());
        assert!(s.block_list(200).unwrap().is_empty());
        s.block_put(&b).unwrap();
        assert!(s.block_purge(399).unwrap().is_empty(), "still in force");
        assert_eq!(s.block_purge(400).unwrap(), [b]);
        assert!(s.block_purge(400).unwrap().is_empty(), "purged once");
    }
}
