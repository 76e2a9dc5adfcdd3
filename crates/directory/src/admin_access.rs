//! Who may administer through the admin API (issue 19 item 2): a role per
//! user, server-side sessions and API tokens (schema v16). Session ids and
//! tokens arrive here as SHA-256 digests; the secrets themselves are never
//! stored. A session remembers a digest of the password hash it began under,
//! so changing the password ends it.

use crate::db::now;
use crate::db::Db;
use crate::users::user_id;
use postern_store::StoreError;
use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};

/// A user's administrative role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// Everything.
    Admin,
    /// The users, aliases and groups of these domains only.
    DomainAdmin(Vec<String>),
    /// Read-only, everything.
    Auditor,
}

impl Role {
    /// `admin`, `auditor` or `domain-admin:DOMAIN[,DOMAIN]` (as the CLI takes it).
    pub fn parse(text: &str) -> Result<Role, StoreError> {
        let bad = || {
            StoreError::Invalid(format!(
                "`{text}` is not a role (admin, domain-admin:DOMAIN[,DOMAIN], auditor, none)"
            ))
        };
        match text.split_once(':') {
            None if text == "admin" => Ok(Role::Admin),
            None if text == "auditor" => Ok(Role::Auditor),
            Some(("domain-admin", list)) => {
                let domains: Vec<String> = list
                    .split(',')
                    .map(|d| d.trim().to_ascii_lowercase())
                    .filter(|d| !d.is_empty())
                    .collect();
                if domains.is_empty() {
                    return Err(bad());
                }
                Ok(Role::DomainAdmin(domains))
            }
            _ => Err(bad()),
        }
    }

    /// The text [`Role::parse`] reads back.
    pub fn to_text(&self) -> String {
        match self {
            Role::Admin => "admin".into(),
            Role::Auditor => "auditor".into(),
            Role::DomainAdmin(d) => format!("domain-admin:{}", d.join(",")),
        }
    }

    fn columns(&self) -> (&'static str, String) {
        match self {
            Role::Admin => ("admin", String::new()),
            Role::Auditor => ("auditor", String::new()),
            Role::DomainAdmin(d) => ("domain-admin", d.join(",")),
        }
    }

    fn from_columns(role: &str, domains: &str) -> Option<Role> {
        match role {
            "admin" => Some(Role::Admin),
            "auditor" => Some(Role::Auditor),
            "domain-admin" => Some(Role::DomainAdmin(
                domains
                    .split(',')
                    .filter(|d| !d.is_empty())
                    .map(String::from)
                    .collect(),
            )),
            _ => None,
        }
    }
}

/// One API token as `token list` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: i64,
    pub user: String,
    pub created: i64,
    pub expires: Option<i64>,
    pub last_used: Option<i64>,
}

/// A live session: who, and the CSRF token its state changes must carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    pub user: String,
    pub csrf: String,
}

/// SHA-256 of the stored password hash: changes whenever the password does.
fn password_tag(hash: &str) -> Vec<u8> {
    Sha256::digest(hash.as_bytes()).to_vec()
}

pub trait AdminAccess: Db {
    /// Sets (or with `None` removes) the role of user `address`.
    fn role_set(&self, address: &str, role: Option<&Role>) -> Result<(), StoreError> {
        let conn = self.conn();
        let id = user_id(&conn, address)?.0;
        match role {
            None => conn.execute("DELETE FROM admin_roles WHERE user_id = ?1", [id])?,
            Some(role) => {
                let (name, domains) = role.columns();
                conn.execute(
                    "INSERT INTO admin_roles (user_id, role, domains) VALUES (?1, ?2, ?3)
                     ON CONFLICT(user_id) DO UPDATE SET role = ?2, domains = ?3",
                    params![id, name, domains],
                )?
            }
        };
        Ok(())
    }

    /// The role of user `address`, if any.
    fn role_of(&self, address: &str) -> Result<Option<Role>, StoreError> {
        let row: Option<(String, String)> = self
            .reader()?
            .query_row(
                "SELECT r.role, r.domains FROM admin_roles r JOIN users u ON u.id = r.user_id WHERE u.address = ?1",
                [address],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.and_then(|(r, d)| Role::from_columns(&r, &d)))
    }

    /// Records a session of `address` whose id hashes to `digest`.
    fn session_create(
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
        conn.execute("DELETE FROM admin_sessions WHERE expires <= ?1", [now()])?;
        conn.execute(
            "INSERT INTO admin_sessions (digest, user_id, csrf, password_tag, expires) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![digest, id, csrf, password_tag(&hash), expires],
        )?;
        Ok(())
    }

    /// The session whose id hashes to `digest`, unless it expired, its user
    /// is disabled, or the password changed since it began.
    fn session_get(&self, digest: &[u8], at: i64) -> Result<Option<SessionInfo>, StoreError> {
        let row: Option<(String, String, Vec<u8>, String)> = self
            .reader()?
            .query_row(
                "SELECT u.address, s.csrf, s.password_tag, u.password_hash FROM admin_sessions s
                 JOIN users u ON u.id = s.user_id WHERE s.digest = ?1 AND s.expires > ?2 AND u.enabled",
                params![digest, at],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        Ok(row
            .filter(|(_, _, tag, hash)| *tag == password_tag(hash))
            .map(|(user, csrf, _, _)| SessionInfo { user, csrf }))
    }

    /// Ends the session whose id hashes to `digest` (logout).
    fn session_delete(&self, digest: &[u8]) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM admin_sessions WHERE digest = ?1", [digest])?;
        Ok(())
    }

    /// Records an API token of `address` whose text hashes to `digest`; its id.
    fn token_create(
        &self,
        digest: &[u8],
        address: &str,
        expires: Option<i64>,
    ) -> Result<i64, StoreError> {
        let conn = self.conn();
        let id = user_id(&conn, address)?.0;
        conn.execute(
            "INSERT INTO api_tokens (digest, user_id, created, expires) VALUES (?1, ?2, ?3, ?4)",
            params![digest, id, now(), expires],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Every token, oldest first.
    fn token_list(&self) -> Result<Vec<TokenInfo>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare(
            "SELECT t.id, u.address, t.created, t.expires, t.last_used FROM api_tokens t
             JOIN users u ON u.id = t.user_id ORDER BY t.id",
        )?;
        let rows = st
            .query_map([], |r| {
                Ok(TokenInfo {
                    id: r.get(0)?,
                    user: r.get(1)?,
                    created: r.get(2)?,
                    expires: r.get(3)?,
                    last_used: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Revokes token `id`.
    fn token_revoke(&self, id: i64) -> Result<(), StoreError> {
        let n = self
            .conn()
            .execute("DELETE FROM api_tokens WHERE id = ?1", [id])?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("token {id}")));
        }
        Ok(())
    }

    /// The user of the unexpired token whose text hashes to `digest`. Its
    /// last use becomes `at` when the recorded one is [`LAST_USED_EVERY`]
    /// or more older: not one synced write per API call.
    fn token_user(&self, digest: &[u8], at: i64) -> Result<Option<String>, StoreError> {
        let conn = self.conn();
        let found: Option<(String, Option<i64>)> = conn
            .query_row(
                "SELECT u.address, t.last_used FROM api_tokens t JOIN users u ON u.id = t.user_id
                 WHERE t.digest = ?1 AND (t.expires IS NULL OR t.expires > ?2) AND u.enabled",
                params![digest, at],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((user, last_used)) = found else {
            return Ok(None);
        };
        if last_used.is_none_or(|t| at - t >= LAST_USED_EVERY) {
            conn.execute(
                "UPDATE api_tokens SET last_used = ?2 WHERE digest = ?1",
                params![digest, at],
            )?;
        }
        Ok(Some(user))
    }
}

impl AdminAccess for postern_store::Store {}

/// Seconds between two writes of a token's last use (`token list` is exact to this).
pub const LAST_USED_EVERY: i64 = 60;

#[cfg(test)]
mod tests {
    use super::Role;
    use crate::prelude::*;
    use postern_store::{Secret, Store};

    fn store() -> (tempfile::TempDir, Store) {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        s.domain_add("a.test").unwrap();
        s.user_add("x@a.test", &Secret::new("pw-one-1".into()), "", 0)
            .unwrap();
        (d, s)
    }

    #[test]
    fn roles_parse_and_round_trip() {
        let (_d, s) = store();
        let role = Role::parse("domain-admin:A.test,b.test").unwrap();
        assert_eq!(role.to_text(), "domain-admin:a.test,b.test");
        s.role_set("x@a.test", Some(&role)).unwrap();
        assert_eq!(s.role_of("x@a.test").unwrap(), Some(role));
        s.role_set("x@a.test", None).unwrap();
        assert_eq!(s.role_of("x@a.test").unwrap(), None);
        assert!(Role::parse("root").is_err());
        assert!(Role::parse("domain-admin:").is_err());
    }

    #[test]
    fn a_password_change_ends_sessions() {
        let (_d, s) = store();
        s.session_create(b"d1", "x@a.test", "c", i64::MAX).unwrap();
        assert_eq!(s.session_get(b"d1", 0).unwrap().unwrap().csrf, "c");
        assert!(s.session_get(b"d1", i64::MAX).unwrap().is_none(), "expired");
        s.user_passwd("x@a.test", &Secret::new("pw-two-2".into()))
            .unwrap();
        assert!(s.session_get(b"d1", 0).unwrap().is_none());
    }

    #[test]
    fn tokens_expire_and_revoke() {
        let (_d, s) = store();
        let id = s.token_create(b"t1", "x@a.test", Some(100)).unwrap();
        assert_eq!(
            s.token_user(b"t1", 99).unwrap().as_deref(),
            Some("x@a.test")
        );
        assert_eq!(s.token_list().unwrap()[0].last_used, Some(99));
        assert!(s.token_user(b"t1", 100).unwrap().is_none());
        s.token_revoke(id).unwrap();
        // The last use is written at most once a LAST_USED_EVERY.
        s.token_create(b"t1", "x@a.test", None).unwrap();
        s.token_user(b"t1", 1000).unwrap();
        s.token_user(b"t1", 1000 + super::LAST_USED_EVERY - 1)
            .unwrap();
        assert_eq!(s.token_list().unwrap()[0].last_used, Some(1000));
        s.token_user(b"t1", 1000 + super::LAST_USED_EVERY).unwrap();
        assert_eq!(
            s.token_list().unwrap()[0].last_used,
            Some(1000 + super::LAST_USED_EVERY)
        );
        s.token_revoke(id).unwrap();
        assert!(s.token_list().unwrap().is_empty());
        assert!(s.token_revoke(id).is_err());
    }
}
