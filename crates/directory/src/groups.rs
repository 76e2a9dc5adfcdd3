//! Groups: an address whose members each receive a copy (and may send as
//! it, identity.rs).

use crate::address::{all_mailboxes, valid_mailbox};
use crate::aliases::grouped;
use crate::db::Db;
use crate::domains::require_domain;
use crate::users::address_taken;
use postern_store::StoreError;
use rusqlite::{params, OptionalExtension};

pub trait Groups: Db {
    /// Creates a group, or adds members to one.
    fn group_add(&self, address: &str, members: &[String]) -> Result<(), StoreError> {
        if !valid_mailbox(address) {
            return Err(StoreError::Invalid(format!(
                "`{address}` is not an address"
            )));
        }
        all_mailboxes(members, "group member")?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let domain = require_domain(&tx, address)?;
        let existing: Option<i64> = tx
            .query_row("SELECT id FROM groups WHERE address = ?1", [address], |r| {
                r.get(0)
            })
            .optional()?;
        let id = match existing {
            Some(id) => id,
            None => {
                if address_taken(&tx, address)? {
                    return Err(StoreError::Exists(format!("address {address} (a user)")));
                }
                tx.execute(
                    "INSERT INTO groups (address, domain_id) VALUES (?1, ?2)",
                    params![address, domain],
                )?;
                tx.last_insert_rowid()
            }
        };
        for m in members {
            tx.execute(
                "INSERT OR IGNORE INTO group_members (group_id, member) VALUES (?1, ?2)",
                params![id, m],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn group_del(&self, address: &str) -> Result<(), StoreError> {
        let n = self
            .conn()
            .execute("DELETE FROM groups WHERE address = ?1", [address])?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("group {address}")));
        }
        Ok(())
    }

    /// Every group with its members, sorted.
    fn group_list(&self) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        let mut out = grouped(&*self.reader()?, "SELECT g.address, m.member FROM groups g LEFT JOIN group_members m ON m.group_id = g.id ORDER BY g.address, m.member")?;
        for (_, members) in &mut out {
            members.retain(|m| !m.is_empty());
        }
        Ok(out)
    }

    /// Takes `member` out of group `address` (the group stays, maybe empty).
    fn group_remove_member(&self, address: &str, member: &str) -> Result<(), StoreError> {
        let conn = self.conn();
        let group: Option<i64> = rusqlite::OptionalExtension::optional(conn.query_row(
            "SELECT id FROM groups WHERE address = ?1",
            [address],
            |r| r.get(0),
        ))?;
        let Some(id) = group else {
            return Err(StoreError::NotFound(format!("group {address}")));
        };
        let n = conn.execute(
            "DELETE FROM group_members WHERE group_id = ?1 AND member = ?2",
            params![id, member],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!(
                "{member} is not a member of {address}"
            )));
        }
        Ok(())
    }
}

impl Groups for postern_store::Store {}

#[cfg(test)]
mod tests {
    use crate::prelude::*;
    use postern_store::{Store, StoreError};

    fn store() -> (tempfile::TempDir, Store) {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        s.domain_add("a.test").unwrap();
        (d, s)
    }

    #[test]
    fn one_member_leaves_and_the_group_stays() {
        let (_d, s) = store();
        let members = vec!["x@a.test".to_string(), "y@a.test".to_string()];
        s.group_add("team@a.test", &members).unwrap();
        s.group_remove_member("team@a.test", "x@a.test").unwrap();
        assert_eq!(
            s.group_list().unwrap(),
            vec![("team@a.test".to_string(), vec!["y@a.test".to_string()])]
        );
        let gone = s.group_remove_member("team@a.test", "x@a.test");
        assert!(matches!(gone, Err(StoreError::NotFound(_))));
        let none = s.group_remove_member("nobody@a.test", "y@a.test");
        assert!(matches!(none, Err(StoreError::NotFound(_))));
    }
}
