//! Addresses the webmail offers while an address is typed (issue 20 item 3):
//! users and aliases of the user's own domain, never another domain's.

use crate::db::Db;
use postern_store::contacts::like_pattern;
use postern_store::{StoreError, UserId};
use rusqlite::{params, OptionalExtension};

pub trait Suggest: Db {
    /// Up to `limit` users and aliases of `user`'s own domain whose address
    /// or name contains `text` (`%` and `_` literal): (address, name).
    fn directory_matching(
        &self,
        user: UserId,
        text: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let conn = self.reader()?;
        let domain: i64 = conn
            .query_row("SELECT domain_id FROM users WHERE id = ?1", [user.0], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("user {}", user.0)))?;
        let mut stmt = conn.prepare_cached(
            "SELECT address, name FROM users
             WHERE domain_id = ?1 AND enabled AND (address LIKE ?2 ESCAPE '\\' OR name LIKE ?2 ESCAPE '\\')
             UNION
             SELECT DISTINCT address, '' FROM aliases
             WHERE domain_id = ?1 AND address LIKE ?2 ESCAPE '\\'
             ORDER BY 1 LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![domain, like_pattern(text), limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl Suggest for postern_store::Store {}

#[cfg(test)]
mod tests {
    use crate::prelude::*;
    use crate::tests::setup;
    use postern_store::Secret;

    #[test]
    fn the_directory_offers_one_domain_only() {
        let (_d, store, alice, _) = setup();
        store.domain_add("other.test").unwrap();
        let pw = Secret::new("x-pass-1234".to_string());
        store.user_add("albert@other.test", &pw, "Al", 0).unwrap();
        store
            .alias_add("all@example.org", &["alice@example.org".into()])
            .unwrap();
        let found = store.directory_matching(alice, "al", 10).unwrap();
        let addrs: Vec<&str> = found.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(addrs, ["alice@example.org", "all@example.org"]);
        assert!(store.directory_matching(alice, "%", 10).unwrap().is_empty());
        assert_eq!(store.directory_matching(alice, "a", 1).unwrap().len(), 1);
    }
}
