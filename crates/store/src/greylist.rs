//! Greylisting's memory (issue 16 item 3): the triplets deferred once and
//! the networks auto-whitelisted, in the database so they survive restarts.
//! The decisions are postern_filter::greylist's; this file only keeps rows.
//!
//! Growth is bounded on insert: a new triplet purges those whose window has
//! passed, a new whitelisting purges the networks whose time is up (both by
//! index, so a purge costs what it removes).

use crate::{Store, StoreError};
use rusqlite::{params, OptionalExtension};

/// What the store knows of a triplet: (first_seen, whitelisted_until).
pub type GreylistRow = (Option<i64>, Option<i64>);

impl Store {
    /// When the triplet was first deferred and until when its network is whitelisted.
    pub fn greylist_known(
        &self,
        network: &str,
        sender: &str,
        recipient: &str,
    ) -> Result<GreylistRow, StoreError> {
        let conn = self.reader()?;
        let first: Option<i64> = conn
            .query_row(
                "SELECT first_seen FROM greylist_triplets
                 WHERE network = ?1 AND sender = ?2 AND recipient = ?3",
                params![network, sender, recipient],
                |r| r.get(0),
            )
            .optional()?;
        let until: Option<i64> = conn
            .query_row(
                "SELECT until FROM greylist_networks WHERE network = ?1",
                [network],
                |r| r.get(0),
            )
            .optional()?;
        Ok((first, until))
    }

    /// Records a triplet's first attempt at `now`; forgets the triplets
    /// first seen before `now - window` (their retry can no longer pass).
    pub fn greylist_first_seen(
        &self,
        network: &str,
        sender: &str,
        recipient: &str,
        now: i64,
        window: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM greylist_triplets WHERE first_seen < ?1",
            [now - window],
        )?;
        tx.execute(
            "INSERT OR REPLACE INTO greylist_triplets (network, sender, recipient, first_seen)
             VALUES (?1, ?2, ?3, ?4)",
            params![network, sender, recipient, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Whitelists `network` until `until` and forgets its triplet (it
    /// passed); forgets networks whose whitelisting ended before `now`.
    pub fn greylist_whitelist(
        &self,
        network: &str,
        sender: &str,
        recipient: &str,
        until: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM greylist_networks WHERE until <= ?1", [now])?;
        tx.execute(
            "INSERT OR REPLACE INTO greylist_networks (network, until) VALUES (?1, ?2)",
            params![network, until],
        )?;
        tx.execute(
            "DELETE FROM greylist_triplets
             WHERE network = ?1 AND sender = ?2 AND recipient = ?3",
            params![network, sender, recipient],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// (triplets waiting for their retry, networks whitelisted), for `spam stats`.
    pub fn greylist_sizes(&self) -> Result<(u64, u64), StoreError> {
        let conn = self.reader()?;
        let t: i64 = conn.query_row("SELECT COUNT(*) FROM greylist_triplets", [], |r| r.get(0))?;
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM greylist_networks", [], |r| r.get(0))?;
        Ok((t as u64, n as u64))
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;

    #[test]
    fn triplets_and_networks_are_kept_and_purged_on_insert() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        let net = "192.0.2.0/24";
        assert_eq!(s.greylist_known(net, "a@x", "b@y").unwrap(), (None, None));
        s.greylist_first_seen(net, "a@x", "b@y", 1000, 100).unwrap();
        assert_eq!(
            s.greylist_known(net, "a@x", "b@y").unwrap(),
            (Some(1000), None)
        );
        // Another triplet past the first one's window purges it; one second less does not.
        s.greylist_first_seen(net, "c@x", "b@y", 1100, 100).unwrap();
        assert_eq!(s.greylist_sizes().unwrap(), (2, 0));
        s.greylist_first_seen(net, "e@x", "b@y", 1101, 100).unwrap();
        assert_eq!(s.greylist_known(net, "a@x", "b@y").unwrap(), (None, None));
        // Passing whitelists the network and forgets the triplet.
        s.greylist_whitelist(net, "c@x", "b@y", 5000, 1200).unwrap();
        assert_eq!(
            s.greylist_known(net, "c@x", "b@y").unwrap(),
            (None, Some(5000))
        );
        assert_eq!(s.greylist_sizes().unwrap(), (1, 1));
        // Another network's whitelisting at the first one's end purges it.
        s.greylist_whitelist("10.0.0.0/24", "a@x", "b@y", 9000, 5000)
            .unwrap();
        assert_eq!(s.greylist_known(net, "c@x", "b@y").unwrap(), (None, None));
        assert_eq!(s.greylist_sizes().unwrap(), (1, 1));
    }
}
