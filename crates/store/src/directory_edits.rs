//! Smaller directory changes the admin API makes (issue 19: API gaps): one
//! member out of a group, a user's quota changed after creation. Kept apart
//! from directory.rs, which is moving to its own crate.

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

    /// Sets a user's mailbox quota in bytes (0: unlimited). Mail already
    /// stored stays; the new quota applies to the next delivery or APPEND.
    pub fn user_set_quota(&self, address: &str, quota: u64) -> Result<(), StoreError> {
        let quota = i64::try_from(quota)
            .map_err(|_| StoreError::Invalid(format!("quota {quota} is too large")))?;
        let n = self.conn().execute(
            "UPDATE users SET quota = ?2 WHERE address = ?1",
            params![address, quota],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user {address}")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{Secret, Store, StoreError};

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

    #[test]
    fn a_quota_changes_after_creation() {
        let (_d, s) = store();
        s.user_add("u@a.test", &Secret::new("Some-9-Password".into()), "", 0)
            .unwrap();
        s.user_set_quota("u@a.test", 5_000_000).unwrap();
        assert_eq!(
            s.user_by_address("u@a.test").unwrap().unwrap().quota,
            5_000_000
        );
        assert!(matches!(
            s.user_set_quota("v@a.test", 1),
            Err(StoreError::NotFound(_))
        ));
    }
}
