//! Delegation (SPEC X8, issue 6 item 8): an owner lets another user (the
//! delegate) send as the owner's own address — envelope sender and From: —
//! but not as the owner's aliases or groups. Both are users; deleting either
//! removes the delegation (ON DELETE CASCADE, schema v7).

use crate::db::Db;
use crate::users::user_id;
use postern_store::StoreError;
use rusqlite::{params, Connection, OptionalExtension};

/// One delegation: `delegate` may send as `owner`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delegation {
    pub owner: String,
    pub delegate: String,
}

pub trait Delegations: Db {
    /// Lets `delegate` send as `owner`. Both must be users, distinct, and not
    /// already paired.
    fn delegate(&self, owner: &str, delegate: &str) -> Result<(), StoreError> {
        let conn = self.conn();
        let (o, d) = (user_id(&conn, owner)?.0, user_id(&conn, delegate)?.0);
        if o == d {
            return Err(StoreError::Invalid(format!(
                "{owner} cannot delegate to themselves: a user may always send as their own address"
            )));
        }
        let n = conn.execute(
            "INSERT OR IGNORE INTO delegations (owner_id, delegate_id) VALUES (?1, ?2)",
            params![o, d],
        )?;
        if n == 0 {
            return Err(StoreError::Exists(format!(
                "delegation of {owner} to {delegate}"
            )));
        }
        Ok(())
    }

    /// Withdraws a delegation.
    fn undelegate(&self, owner: &str, delegate: &str) -> Result<(), StoreError> {
        let conn = self.conn();
        let (o, d) = (user_id(&conn, owner)?.0, user_id(&conn, delegate)?.0);
        let n = conn.execute(
            "DELETE FROM delegations WHERE owner_id = ?1 AND delegate_id = ?2",
            params![o, d],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!(
                "delegation of {owner} to {delegate}"
            )));
        }
        Ok(())
    }

    /// Every delegation (or only `owner`'s), sorted by owner then delegate.
    fn delegations(&self, owner: Option<&str>) -> Result<Vec<Delegation>, StoreError> {
        let conn = self.reader()?;
        let owner_id = owner
            .map(|o| user_id(&conn, o).map(|id| id.0))
            .transpose()?;
        let mut st = conn.prepare(
            "SELECT o.address, d.address FROM delegations x
             JOIN users o ON o.id = x.owner_id JOIN users d ON d.id = x.delegate_id
             WHERE ?1 IS NULL OR x.owner_id = ?1
             ORDER BY o.address, d.address",
        )?;
        let rows = st
            .query_map([owner_id], |r| {
                Ok(Delegation {
                    owner: r.get(0)?,
                    delegate: r.get(1)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

impl Delegations for postern_store::Store {}

/// True if the user `delegate` may send as the user whose own address is `owner`.
pub(crate) fn delegated(
    conn: &Connection,
    owner: &str,
    delegate: &str,
) -> Result<bool, StoreError> {
    let hit: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM delegations x
             JOIN users o ON o.id = x.owner_id JOIN users d ON d.id = x.delegate_id
             WHERE o.address = ?1 AND d.address = ?2",
            [owner, delegate],
            |r| r.get(0),
        )
        .optional()?;
    Ok(hit.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use crate::tests::setup;
    use postern_store::Secret;

    const A: &str = "alice@example.org";
    const B: &str = "bob@example.org";

    fn pair(o: &str, d: &str) -> Delegation {
        Delegation {
            owner: o.into(),
            delegate: d.into(),
        }
    }

    #[test]
    fn delegate_list_undelegate() {
        let (_d, store, _, _) = setup();
        assert!(store.delegations(None).unwrap().is_empty());
        store.delegate(A, B).unwrap();
        store.delegate(B, "ALICE@example.org").unwrap();
        assert_eq!(store.delegations(None).unwrap(), [pair(A, B), pair(B, A)]);
        assert_eq!(store.delegations(Some(A)).unwrap(), [pair(A, B)]);
        store.undelegate(A, B).unwrap();
        assert_eq!(store.delegations(None).unwrap(), [pair(B, A)]);
    }

    #[test]
    fn mistakes_are_refused_by_name() {
        let (_d, store, _, _) = setup();
        let e = store.delegate(A, "nobody@example.org").unwrap_err();
        assert_eq!(e.to_string(), "user nobody@example.org does not exist");
        let e = store.delegate("ghost@example.org", B).unwrap_err();
        assert!(e.to_string().contains("ghost@example.org"), "{e}");
        let e = store.delegate(A, "Alice@Example.org").unwrap_err();
        assert!(e.to_string().contains("themselves"), "{e}");
        store.delegate(A, B).unwrap();
        let e = store.delegate(A, B).unwrap_err();
        assert!(matches!(e, StoreError::Exists(_)), "{e}");
        assert!(e.to_string().contains("already exists"), "{e}");
        let e = store.undelegate(B, A).unwrap_err();
        assert!(matches!(e, StoreError::NotFound(_)), "{e}");
        assert!(store.delegations(Some("ghost@example.org")).is_err());
    }

    #[test]
    fn deleting_either_user_removes_the_delegation() {
        let (_d, store, _, _) = setup();
        let pw = Secret::new("carol-pass-1".to_string());
        store.user_add("carol@example.org", &pw, "", 0).unwrap();
        store.delegate(A, B).unwrap();
        store.delegate("carol@example.org", A).unwrap();
        store.user_del(B).unwrap();
        assert_eq!(
            store.delegations(None).unwrap(),
            [pair("carol@example.org", A)]
        );
        store.user_del("carol@example.org").unwrap();
        assert!(store.delegations(None).unwrap().is_empty());
    }
}
