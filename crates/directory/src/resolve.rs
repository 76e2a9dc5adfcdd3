//! Resolution: a recipient address expanded into local users and external
//! addresses, through aliases, groups, catch-alls and SRS.

use crate::address::split_address;
use crate::db::Db;
use crate::domains::domain_id;
use crate::domains::Domains;
use crate::srs::srs_original;
use postern_store::{StoreError, UserId};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use std::collections::BTreeSet;

/// Alias and group nesting deeper than this is a loop or a mistake.
pub const MAX_EXPANSION_DEPTH: usize = 8;
/// An expansion naming more addresses than this is refused.
pub const MAX_EXPANSION_SIZE: usize = 1000;

/// Who a recipient address reaches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expansion {
    pub local: BTreeSet<UserId>,
    pub remote: BTreeSet<String>,
}

impl Expansion {
    pub fn is_empty(&self) -> bool {
        self.local.is_empty() && self.remote.is_empty()
    }
}

pub trait Resolve: Db + Domains {
    /// Expands a recipient address into local users and external addresses.
    /// Non-local domains expand to themselves as remote; unknown local
    /// addresses expand to nothing. Loops and over-deep nesting stop expansion.
    fn expand(&self, address: &str) -> Result<Expansion, StoreError> {
        // An SRS address of ours (srs.rs) goes back to its original sender, or nowhere.
        if let Some(original) = srs_original(self, address)? {
            let remote = original.into_iter().collect();
            return Ok(Expansion {
                remote,
                ..Default::default()
            });
        }
        let mut conn = self.reader()?;
        // One snapshot: an alias changed half-way must not mix old and new.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let mut out = Expansion::default();
        let mut seen = BTreeSet::new();
        expand_into(&tx, address, 0, &mut seen, &mut out)?;
        tx.commit()?;
        Ok(out)
    }
}

impl Resolve for postern_store::Store {}

fn expand_into(
    conn: &Connection,
    address: &str,
    depth: usize,
    seen: &mut BTreeSet<String>,
    out: &mut Expansion,
) -> Result<(), StoreError> {
    let key = address.to_lowercase();
    if depth > MAX_EXPANSION_DEPTH || !seen.insert(key) || seen.len() > MAX_EXPANSION_SIZE {
        return Ok(());
    }
    let Some((_, domain)) = split_address(address) else {
        return Ok(());
    };
    if domain_id(conn, &domain)?.is_none() {
        out.remote.insert(address.to_string());
        return Ok(());
    }
    let user: Option<(i64, bool)> = conn
        .query_row(
            "SELECT id, enabled FROM users WHERE address = ?1",
            [address],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((id, enabled)) = user {
        if enabled {
            out.local.insert(UserId(id));
        }
        return Ok(());
    }
    let members = strings(conn, "SELECT m.member FROM group_members m JOIN groups g ON g.id = m.group_id WHERE g.address = ?1", address)?;
    let is_group: bool = conn.query_row(
        "SELECT COUNT(*) FROM groups WHERE address = ?1",
        [address],
        |r| r.get::<_, i64>(0),
    )? > 0;
    if is_group {
        for m in members {
            expand_into(conn, &m, depth + 1, seen, out)?;
        }
        return Ok(());
    }
    let mut targets = strings(
        conn,
        "SELECT target FROM aliases WHERE address = ?1",
        address,
    )?;
    if targets.is_empty() {
        targets = strings(
            conn,
            "SELECT target FROM aliases WHERE address = ?1",
            &format!("@{domain}"),
        )?;
    }
    for t in targets {
        expand_into(conn, &t, depth + 1, seen, out)?;
    }
    Ok(())
}

fn strings(conn: &Connection, sql: &str, arg: &str) -> Result<Vec<String>, StoreError> {
    let mut st = conn.prepare_cached(sql)?;
    let rows = st
        .query_map([arg], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(rows)
}
