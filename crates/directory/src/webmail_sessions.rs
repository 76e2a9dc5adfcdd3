//! Webmail sign-in sessions (issue 20 item 2), apart from the admin
//! console's: a webmail session never carries an administrative role. Only
//! the SHA-256 of the random id is kept, with the user, the CSRF token, a
//! tag of the password hash (so a password change ends every session), and
//! the expiry ("remember me" sessions simply expire later).

use crate::db::now;
use crate::db::Db;
use postern_store::{StoreError, UserId};
use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};

/// A live webmail session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebmailSession {
    pub user: UserId,
    pub address: String,
    pub csrf: String,
}

/// SHA-256 of the stored password hash: changes whenever the password does.
fn password_tag(hash: &str) -> Vec<u8> {
    Sha256::digest(hash.as_bytes()).to_vec()
}

pub trait WebmailSessions: Db {
    /// Records a session of `address` whose id hashes to `digest`; expired
    /// ones are dropped on the way.
    fn webmail_session_create(
        &self,
        digest: &[u8],
        address: &str,
        csrf: &str,
        expires: i64,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        let (id, hash): (i64, String) = conn
            .query_row(
                "SELECT id, password_hash FROM users WHERE address = ?1",
                [address],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("user {address}")))?;
        conn.execute("DELETE FROM webmail_sessions WHERE expires <= ?1", [now()])?;
        conn.execute(
            "INSERT INTO webmail_sessions (digest, user_id, csrf, password_tag, expires) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![digest, id, csrf, password_tag(&hash), expires],
        )?;
        Ok(())
    }

    /// The session whose id hashes to `digest` at time `at`, unless it
    /// expired, its user is disabled, or the password changed since.
    fn webmail_session_get(
        &self,
        digest: &[u8],
        at: i64,
    ) -> Result<Option<WebmailSession>, StoreError> {
        type Row = (i64, String, String, Vec<u8>, String);
        let row: Option<Row> = self
            .reader()?
            .query_row(
                "SELECT u.id, u.address, s.csrf, s.password_tag, u.password_hash FROM webmail_sessions s
                 JOIN users u ON u.id = s.user_id WHERE s.digest = ?1 AND s.expires > ?2 AND u.enabled",
                params![digest, at],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        Ok(row
            .filter(|(_, _, _, tag, hash)| *tag == password_tag(hash))
            .map(|(id, address, csrf, _, _)| WebmailSession {
                user: UserId(id),
                address,
                csrf,
            }))
    }

    /// Ends the session whose id hashes to `digest` (logout).
    fn webmail_session_delete(&self, digest: &[u8]) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM webmail_sessions WHERE digest = ?1", [digest])?;
        Ok(())
    }
}

impl WebmailSessions for postern_store::Store {}

#[cfg(test)]
mod tests {
    use crate::prelude::*;
    use postern_store::{Secret, Store};

    #[test]
    fn sessions_end_at_expiry_logout_and_password_change() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.domain_add("example.org").unwrap();
        let pw = Secret::new("Old-Password-1".to_string());
        store.user_add("a@example.org", &pw, "", 0).unwrap();
        store
            .webmail_session_create(b"d1", "a@example.org", "c1", 100)
            .unwrap();
        let s = store.webmail_session_get(b"d1", 99).unwrap().unwrap();
        assert_eq!(
            (s.address.as_str(), s.csrf.as_str()),
            ("a@example.org", "c1")
        );
        assert_eq!(
            store.webmail_session_get(b"d1", 100).unwrap(),
            None,
            "expired"
        );
        assert_eq!(store.webmail_session_get(b"zz", 0).unwrap(), None);
        store.webmail_session_delete(b"d1").unwrap();
        assert_eq!(
            store.webmail_session_get(b"d1", 0).unwrap(),
            None,
            "logged out"
        );
        store
            .webmail_session_create(b"d2", "a@example.org", "c2", 100)
            .unwrap();
        let new = Secret::new("New-Password-2".to_string());
        store.user_passwd("a@example.org", &new).unwrap();
        assert_eq!(
            store.webmail_session_get(b"d2", 0).unwrap(),
            None,
            "password changed"
        );
    }
}
