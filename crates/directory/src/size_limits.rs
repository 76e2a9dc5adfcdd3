//! Per-domain and per-user maximum message size (issue 6 item 6, SPEC X3).
//! A user's limit is their own if set, else their domain's, else none; the
//! SMTP session caps it by the global `smtp.max_message_size`.

use crate::db::Db;
use postern_store::{StoreError, UserId};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::BTreeMap;

/// A limit of 0 would refuse every message; `None` clears instead.
fn check(limit: Option<u64>) -> Result<Option<i64>, StoreError> {
    match limit {
        Some(0) => Err(StoreError::Invalid(
            "a maximum message size of 0 would refuse every message: give a size, or none to clear it"
                .into(),
        )),
        Some(n) => i64::try_from(n)
            .map(Some)
            .map_err(|_| StoreError::Invalid(format!("maximum message size {n} is too large"))),
        None => Ok(None),
    }
}

pub trait SizeLimits: Db {
    /// Sets (or with `None` clears) a domain's maximum message size in bytes.
    fn domain_set_max_message_size(
        &self,
        name: &str,
        limit: Option<u64>,
    ) -> Result<(), StoreError> {
        let n = self.conn().execute(
            "UPDATE domains SET max_message_size = ?2 WHERE name = ?1",
            params![name.trim_end_matches('.'), check(limit)?],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("domain {name}")));
        }
        Ok(())
    }

    /// Sets (or with `None` clears) a user's own maximum message size in bytes.
    fn user_set_max_message_size(
        &self,
        address: &str,
        limit: Option<u64>,
    ) -> Result<(), StoreError> {
        let n = self.conn().execute(
            "UPDATE users SET max_message_size = ?2 WHERE address = ?1",
            params![address, check(limit)?],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user {address}")));
        }
        Ok(())
    }

    /// The domains that have a limit of their own, by name.
    fn domain_max_message_sizes(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare(
            "SELECT name, max_message_size FROM domains WHERE max_message_size IS NOT NULL",
        )?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// The users that have a limit of their own (not inherited from the domain).
    fn user_max_message_sizes(&self) -> Result<BTreeMap<UserId, u64>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn
            .prepare("SELECT id, max_message_size FROM users WHERE max_message_size IS NOT NULL")?;
        let rows = st
            .query_map([], |r| Ok((UserId(r.get(0)?), r.get::<_, i64>(1)? as u64)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// The limit that applies to the user with `address`: their own, else
    /// their domain's; `None` when neither is set or there is no such user.
    fn max_message_size_of(&self, address: &str) -> Result<Option<u64>, StoreError> {
        effective(&*self.reader()?, "u.address = ?1", address)
    }

    /// [`SizeLimits::max_message_size_of`] by user id.
    fn max_message_size_of_id(&self, user: UserId) -> Result<Option<u64>, StoreError> {
        effective(&*self.reader()?, "u.id = ?1", user.0)
    }
}

impl SizeLimits for postern_store::Store {}

/// A user's own limit, else their domain's, for the user `which` selects.
fn effective(
    conn: &Connection,
    which: &str,
    key: impl rusqlite::ToSql,
) -> Result<Option<u64>, StoreError> {
    let sql = format!(
        "SELECT COALESCE(u.max_message_size, d.max_message_size)
             FROM users u JOIN domains d ON d.id = u.domain_id WHERE {which}"
    );
    let limit: Option<Option<i64>> = conn.query_row(&sql, [key], |r| r.get(0)).optional()?;
    Ok(limit.flatten().map(|n| n as u64))
}

#[cfg(test)]
mod tests {
    use crate::prelude::*;
    use crate::tests::setup;
    use postern_store::StoreError;

    const A: &str = "alice@example.org";

    #[test]
    fn user_limit_else_domain_limit_else_none() {
        let (_d, store, alice, bob) = setup();
        assert_eq!(store.max_message_size_of(A).unwrap(), None);
        store
            .domain_set_max_message_size("example.org", Some(2 << 20))
            .unwrap();
        assert_eq!(store.max_message_size_of(A).unwrap(), Some(2 << 20));
        store.user_set_max_message_size(A, Some(512 << 10)).unwrap();
        assert_eq!(
            store.max_message_size_of("ALICE@example.org").unwrap(),
            Some(512 << 10)
        );
        assert_eq!(
            store.max_message_size_of_id(alice).unwrap(),
            Some(512 << 10)
        );
        assert_eq!(store.max_message_size_of_id(bob).unwrap(), Some(2 << 20));
        assert_eq!(
            store
                .user_max_message_sizes()
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>(),
            [(alice, 512 << 10)]
        );
        assert_eq!(
            store
                .domain_max_message_sizes()
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>(),
            [("example.org".to_string(), 2 << 20)]
        );
        store.user_set_max_message_size(A, None).unwrap();
        store
            .domain_set_max_message_size("EXAMPLE.org", None)
            .unwrap();
        assert_eq!(store.max_message_size_of(A).unwrap(), None);
        assert_eq!(
            store.max_message_size_of("nobody@example.org").unwrap(),
            None
        );
    }

    #[test]
    fn zero_and_unknown_names_are_refused() {
        let (_d, store, _, _) = setup();
        let e = store.user_set_max_message_size(A, Some(0)).unwrap_err();
        assert!(e.to_string().contains("none to clear"), "{e}");
        let e = store
            .user_set_max_message_size("nobody@example.org", Some(1))
            .unwrap_err();
        assert!(matches!(e, StoreError::NotFound(_)), "{e}");
        let e = store
            .domain_set_max_message_size("elsewhere.test", Some(1))
            .unwrap_err();
        assert_eq!(e.to_string(), "domain elsewhere.test does not exist");
        assert!(store.user_set_max_message_size(A, Some(u64::MAX)).is_err());
    }
}
