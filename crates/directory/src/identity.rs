//! Sender identity (SPEC X8, seed 003): the addresses an authenticated user
//! may send as — their own, aliases that deliver to them, and groups they are
//! a member of, and the own address of users who delegated to them
//! (delegation.rs; not those users' aliases or groups).

use crate::db::Db;
use postern_store::StoreError;
use rusqlite::OptionalExtension;

pub trait Identity: Db {
    /// Whether `user` (their address) may use `sender` as envelope sender or From:.
    fn may_send_as(&self, user: &str, sender: &str) -> Result<bool, StoreError> {
        if sender.eq_ignore_ascii_case(user) {
            return Ok(true);
        }
        let conn = self.reader()?;
        let alias: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM aliases WHERE address = ?1 AND target = ?2",
                [sender, user],
                |r| r.get(0),
            )
            .optional()?;
        if alias.is_some() {
            return Ok(true);
        }
        let group: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM groups g JOIN group_members m ON m.group_id = g.id WHERE g.address = ?1 AND m.member = ?2",
                [sender, user],
                |r| r.get(0),
            )
            .optional()?;
        if group.is_some() {
            return Ok(true);
        }
        crate::delegation::delegated(&conn, sender, user)
    }

    /// Every address `address` may send as by the rule above (the webmail's
    /// From selector): their own first, then aliases, groups and the own
    /// addresses of users who delegated to them.
    fn send_as_identities(&self, address: &str) -> Result<Vec<String>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT address FROM aliases WHERE target = ?1
             UNION SELECT g.address FROM groups g JOIN group_members m ON m.group_id = g.id WHERE m.member = ?1
             UNION SELECT o.address FROM delegations dl JOIN users o ON o.id = dl.owner_id
                 JOIN users d ON d.id = dl.delegate_id WHERE d.address = ?1
             ORDER BY 1",
        )?;
        let rows = stmt.query_map([address], |r| r.get::<_, String>(0))?;
        let mut out = vec![address.to_string()];
        for a in rows {
            let a = a?;
            if !out.iter().any(|o| o.eq_ignore_ascii_case(&a)) {
                out.push(a);
            }
        }
        Ok(out)
    }
}

impl Identity for postern_store::Store {}

#[cfg(test)]
mod tests {
    use crate::prelude::*;
    use crate::tests::setup;
    use postern_store::Store;

    /// info@ an alias of alice's; team@ a group of `members`.
    fn info_alias_and_team_group(store: &Store, members: &[&str]) {
        store
            .alias_add("info@example.org", &["alice@example.org".into()])
            .unwrap();
        let members: Vec<String> = members.iter().map(|m| m.to_string()).collect();
        store.group_add("team@example.org", &members).unwrap();
    }

    #[test]
    fn own_address_aliases_and_groups_only() {
        let (_d, store, _, _) = setup();
        info_alias_and_team_group(&store, &["alice@example.org", "bob@example.org"]);
        let may = |u: &str, s: &str| store.may_send_as(u, s).unwrap();
        assert!(may("alice@example.org", "ALICE@example.org"));
        assert!(may("alice@example.org", "info@example.org"));
        assert!(may("alice@example.org", "team@example.org"));
        assert!(may("bob@example.org", "team@example.org"));
        assert!(!may("bob@example.org", "info@example.org"));
        assert!(!may("bob@example.org", "alice@example.org"));
        assert!(!may("alice@example.org", "ceo@bank.example"));
    }

    #[test]
    fn delegation_covers_the_owners_own_address_only() {
        let (_d, store, _, _) = setup();
        info_alias_and_team_group(&store, &["alice@example.org"]);
        let may = |u: &str, s: &str| store.may_send_as(u, s).unwrap();
        assert!(!may("bob@example.org", "alice@example.org"));
        store
            .delegate("alice@example.org", "bob@example.org")
            .unwrap();
        assert!(may("bob@example.org", "alice@example.org"));
        assert!(may("BOB@example.org", "Alice@Example.ORG"));
        assert!(!may("bob@example.org", "info@example.org"));
        assert!(!may("bob@example.org", "team@example.org"));
        assert!(!may("alice@example.org", "bob@example.org"), "one way");
        store
            .undelegate("alice@example.org", "bob@example.org")
            .unwrap();
        assert!(!may("bob@example.org", "alice@example.org"));
    }

    #[test]
    fn the_webmails_identities_all_pass_the_rule_and_nothing_more_does() {
        // The webmail's From selector lists send_as_identities; the
        // sessions enforce may_send_as: the two must agree.
        let (_d, store, _, _) = setup();
        info_alias_and_team_group(&store, &["alice@example.org"]);
        store
            .delegate("bob@example.org", "alice@example.org")
            .unwrap();
        store
            .alias_add("sales@example.org", &["bob@example.org".into()])
            .unwrap();
        let ids = store.send_as_identities("alice@example.org").unwrap();
        assert_eq!(
            ids,
            [
                "alice@example.org",
                "bob@example.org",
                "info@example.org",
                "team@example.org"
            ]
        );
        for id in &ids {
            assert!(store.may_send_as("alice@example.org", id).unwrap(), "{id}");
        }
        assert!(!ids.iter().any(|i| i == "sales@example.org"));
        assert!(!store
            .may_send_as("alice@example.org", "sales@example.org")
            .unwrap());
        assert_eq!(
            store.send_as_identities("carol@example.org").unwrap(),
            ["carol@example.org"]
        );
    }
}
