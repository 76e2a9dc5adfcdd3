//! Aliases: an address that forwards to others; `@domain` is that domain's
//! catch-all.

use crate::address::{all_mailboxes, valid_mailbox};
use crate::db::Db;
use crate::domains::require_domain;
use crate::users::address_taken;
use postern_store::StoreError;
use rusqlite::{params, Connection};

pub trait Aliases: Db {
    /// Adds targets to an alias. `@domain` is that domain's catch-all.
    fn alias_add(&self, address: &str, targets: &[String]) -> Result<(), StoreError> {
        if targets.is_empty() {
            return Err(StoreError::Invalid(
                "an alias needs at least one target".into(),
            ));
        }
        let catch_all = address.starts_with('@');
        if !catch_all && !valid_mailbox(address) {
            return Err(StoreError::Invalid(format!(
                "`{address}` is not an address (local@domain, or @domain for a catch-all)"
            )));
        }
        all_mailboxes(targets, "alias target")?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let probe = if catch_all {
            format!("postmaster{address}")
        } else {
            address.to_string()
        };
        let domain = require_domain(&tx, &probe)?;
        if !catch_all && address_taken(&tx, address)? {
            return Err(StoreError::Exists(format!(
                "address {address} (a user or group)"
            )));
        }
        for t in targets {
            tx.execute(
                "INSERT OR IGNORE INTO aliases (address, domain_id, target) VALUES (?1, ?2, ?3)",
                params![address, domain, t],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Removes an alias (all its targets, or only those named).
    fn alias_del(&self, address: &str, targets: &[String]) -> Result<(), StoreError> {
        let conn = self.conn();
        let n = if targets.is_empty() {
            conn.execute("DELETE FROM aliases WHERE address = ?1", [address])?
        } else {
            targets
                .iter()
                .map(|t| {
                    conn.execute(
                        "DELETE FROM aliases WHERE address = ?1 AND target = ?2",
                        [address, t.as_str()],
                    )
                })
                .sum::<Result<usize, _>>()?
        };
        if n == 0 {
            return Err(StoreError::NotFound(format!("alias {address}")));
        }
        Ok(())
    }

    /// Every alias with its targets, sorted.
    fn alias_list(&self) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        grouped(
            &*self.reader()?,
            "SELECT address, target FROM aliases ORDER BY address, target",
        )
    }
}

impl Aliases for postern_store::Store {}

/// Rows of (address, value) sorted by address, gathered per address.
pub(crate) fn grouped(
    conn: &Connection,
    sql: &str,
) -> Result<Vec<(String, Vec<String>)>, StoreError> {
    let mut st = conn.prepare(sql)?;
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<String>>(1)?.unwrap_or_default(),
        ))
    })?;
    for row in rows {
        let (k, v) = row?;
        match out.last_mut() {
            Some((last, vs)) if *last == k => vs.push(v),
            _ => out.push((k, vec![v])),
        }
    }
    Ok(out)
}
