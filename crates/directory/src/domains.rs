//! Domains: the mail domains that are ours.

use crate::address::{split_address, valid_domain};
use crate::db::{now, Db};
use postern_store::StoreError;
use rusqlite::{params, Connection, OptionalExtension};

pub(crate) fn domain_id(conn: &Connection, domain: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .query_row("SELECT id FROM domains WHERE name = ?1", [domain], |r| {
            r.get(0)
        })
        .optional()?)
}

/// The id of the domain of `address`, which must be a local one.
pub(crate) fn require_domain(conn: &Connection, address: &str) -> Result<i64, StoreError> {
    let (_, domain) = split_address(address).ok_or_else(|| {
        StoreError::Invalid(format!("`{address}` is not an address (local@domain)"))
    })?;
    domain_id(conn, &domain)?.ok_or_else(|| StoreError::Invalid(format!("domain {domain} is not a local domain: add it first with `postern domain add {domain}`")))
}

pub trait Domains: Db {
    fn domain_add(&self, name: &str) -> Result<(), StoreError> {
        let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
        if !valid_domain(&name) {
            return Err(StoreError::Invalid(format!(
                "`{name}` is not a domain name"
            )));
        }
        let conn = self.conn();
        if domain_id(&conn, &name)?.is_some() {
            return Err(StoreError::Exists(format!("domain {name}")));
        }
        conn.execute(
            "INSERT INTO domains (name, created) VALUES (?1, ?2)",
            params![name, now()],
        )?;
        Ok(())
    }

    /// Removes a domain that no longer has users, aliases or groups.
    fn domain_del(&self, name: &str) -> Result<(), StoreError> {
        let conn = self.conn();
        let id = domain_id(&conn, &name.to_ascii_lowercase())?
            .ok_or_else(|| StoreError::NotFound(format!("domain {name}")))?;
        let used: i64 = conn.query_row(
            "SELECT (SELECT COUNT(*) FROM users WHERE domain_id = ?1) + (SELECT COUNT(*) FROM aliases WHERE domain_id = ?1) + (SELECT COUNT(*) FROM groups WHERE domain_id = ?1)",
            [id],
            |r| r.get(0),
        )?;
        if used > 0 {
            return Err(StoreError::Invalid(format!(
                "domain {name} still has {used} users, aliases or groups: delete them first"
            )));
        }
        conn.execute("DELETE FROM domains WHERE id = ?1", [id])?;
        Ok(())
    }

    fn domain_list(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare("SELECT name FROM domains ORDER BY name")?;
        let rows = st
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(rows)
    }

    /// True if `domain` is one of ours.
    fn is_local_domain(&self, domain: &str) -> Result<bool, StoreError> {
        Ok(domain_id(&*self.reader()?, &domain.to_ascii_lowercase())?.is_some())
    }
}

impl Domains for postern_store::Store {}
