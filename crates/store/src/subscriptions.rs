//! Subscriptions (RFC 3501 §6.3.6–6.3.9): names a user asked to see in LSUB
//! and LIST (SUBSCRIBED), kept apart from the folders. A name may be
//! subscribed before its folder exists and stays subscribed after the
//! folder is deleted (RFC 3501 §6.3.6: the server must not remove it on its
//! own); RENAME carries the subscriptions of the folder and its children.

use crate::folders::validate_name;
use crate::{Store, StoreError, UserId};
use rusqlite::{params, Connection};

/// Subscriptions one user may have.
pub const MAX_SUBSCRIPTIONS: i64 = 4000;

impl Store {
    /// Subscribes (`on`) or unsubscribes a name (RFC 3501 §6.3.6, §6.3.7).
    /// Unsubscribing a name that is not subscribed is [`StoreError::NotFound`].
    pub fn set_subscribed(&self, user: UserId, name: &str, on: bool) -> Result<(), StoreError> {
        let name = validate_name(name)?;
        let conn = self.conn();
        if !on {
            let n = conn.execute(
                "DELETE FROM subscriptions WHERE user_id = ?1 AND name = ?2",
                params![user.0, name],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("subscription {name}")));
            }
            return Ok(());
        }
        let count: i64 = conn.query_row(
            "SELECT COUNT(*) FROM subscriptions WHERE user_id = ?1",
            [user.0],
            |r| r.get(0),
        )?;
        if count >= MAX_SUBSCRIPTIONS {
            return Err(StoreError::Invalid("too many subscriptions".into()));
        }
        subscribe(&conn, user, &name)
    }

    /// The names a user is subscribed to, sorted.
    pub fn subscriptions(&self, user: UserId) -> Result<Vec<String>, StoreError> {
        let conn = self.reader()?;
        let mut st =
            conn.prepare_cached("SELECT name FROM subscriptions WHERE user_id = ?1 ORDER BY name")?;
        let rows = st
            .query_map([user.0], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(rows)
    }
}

pub(crate) fn subscribe(conn: &Connection, user: UserId, name: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR IGNORE INTO subscriptions (user_id, name) VALUES (?1, ?2)",
        params![user.0, name],
    )?;
    Ok(())
}

/// RENAME: the subscriptions of `from` and of its children follow it.
pub(crate) fn rename(
    conn: &Connection,
    user: UserId,
    from: &str,
    to: &str,
) -> Result<(), StoreError> {
    let prefix_len = from.len() as i64 + 1;
    conn.execute(
        "UPDATE OR IGNORE subscriptions SET name = ?3 || substr(name, ?4) WHERE user_id = ?1 AND (name = ?2 OR substr(name, 1, ?4) = ?2 || '/')",
        params![user.0, from, to, prefix_len],
    )?;
    // Those whose new name was already subscribed were left behind: drop them.
    conn.execute(
        "DELETE FROM subscriptions WHERE user_id = ?1 AND (name = ?2 OR substr(name, 1, ?3) = ?2 || '/')",
        params![user.0, from, prefix_len],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::*;

    #[test]
    fn subscriptions_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let a = crate::tests::add_user(&store, "alice@example.org", 0);
        let have = store.subscriptions(a).unwrap().len() as i64;
        {
            let conn = store.conn();
            conn.execute_batch("BEGIN").unwrap();
            for i in have..super::MAX_SUBSCRIPTIONS {
                super::subscribe(&conn, a, &format!("f{i}")).unwrap();
            }
            conn.execute_batch("COMMIT").unwrap();
        }
        assert!(matches!(
            store.set_subscribed(a, "one-too-many", true),
            Err(StoreError::Invalid(_))
        ));
        // Unsubscribing still works at the limit, and makes room again.
        store.set_subscribed(a, "f10", false).unwrap();
        store.set_subscribed(a, "one-too-many", true).unwrap();
    }
}
