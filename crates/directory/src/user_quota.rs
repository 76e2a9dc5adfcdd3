//! Changing a user's mailbox quota after the account exists (the console's
//! user page, issue 19 item 4; `user add --quota` sets it at creation).

use crate::db::Db;
use postern_store::StoreError;
use rusqlite::params;

pub trait Quotas: Db {
    /// Sets a user's quota in bytes; 0 is unlimited. Mail already stored
    /// stays even when it is now over: the next delivery is refused.
    fn user_set_quota(&self, address: &str, quota: u64) -> Result<(), StoreError> {
        let q = i64::try_from(quota)
            .map_err(|_| StoreError::Invalid(format!("quota {quota} is too large")))?;
        let n = self.conn().execute(
            "UPDATE users SET quota = ?2 WHERE address = ?1",
            params![address, q],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user {address}")));
        }
        Ok(())
    }
}

impl Quotas for postern_store::Store {}

#[cfg(test)]
mod tests {
    use crate::prelude::*;
    use postern_store::StoreError;

    #[test]
    fn quota_changes_and_unknown_users_are_named() {
        let (_d, store, _, _) = crate::tests::setup();
        let who = store.user_list().unwrap()[0].address.clone();
        store.user_set_quota(&who, 5_000_000).unwrap();
        assert_eq!(
            store.user_by_address(&who).unwrap().unwrap().quota,
            5_000_000
        );
        store.user_set_quota(&who, 0).unwrap();
        assert_eq!(store.user_by_address(&who).unwrap().unwrap().quota, 0);
        let err = store.user_set_quota("nobody@example.org", 1).unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
        let err = store.user_set_quota(&who, u64::MAX).unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    }
}
