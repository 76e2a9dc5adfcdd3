//! Smaller directory changes the admin API makes (issue 19: API gaps): one
//! member out of a group. Kept apart from directory.rs, which is moving to
//! its own crate. (A user's quota after creation: user_quota.rs.)

use crate::{Store, StoreError};
use rusqlite::params;

impl Store {
    /// Takes `member` out of group `address` (the group stays, maybe empty).
    pub fn group_remove_member(&self, address: &str, member: &str) -> Result<(), StoreError> {
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

#[cfg(test)]
mod tests {
    use crate::{Store, StoreError};

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
