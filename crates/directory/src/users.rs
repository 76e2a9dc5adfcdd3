//! Users: accounts with a password, a display name, a quota, and the
//! mailboxes the store keeps for them.

use crate::address::valid_mailbox;
use crate::db::{now, Db};
use crate::domains::require_domain;
use crate::mech_secrets::{self, SecretSpec};
use crate::password::{hash_password, verify_password};
use postern_store::shared_db::{close_account, open_account};
use postern_store::{Secret, StoreError, UserId};
use rusqlite::{params, Connection, OptionalExtension};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    pub id: UserId,
    pub address: String,
    pub name: String,
    pub quota: u64,
    pub used: u64,
    pub enabled: bool,
}

/// True when a user or a group already has `address`.
pub(crate) fn address_taken(conn: &Connection, address: &str) -> Result<bool, StoreError> {
    let n: i64 = conn.query_row(
        "SELECT (SELECT COUNT(*) FROM users WHERE address = ?1) + (SELECT COUNT(*) FROM groups WHERE address = ?1)",
        [address],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// The id of the user with `address`, or NotFound naming it.
pub(crate) fn user_id(conn: &Connection, address: &str) -> Result<UserId, StoreError> {
    postern_store::shared_db::account_id(conn, address)?
        .ok_or_else(|| StoreError::NotFound(format!("user {address}")))
}

fn users_where(conn: &Connection, filter: &str, arg: &[&str]) -> Result<Vec<UserInfo>, StoreError> {
    let mut st = conn.prepare(&format!(
        "SELECT id, address, name, quota, used, enabled FROM users {filter}"
    ))?;
    let rows = st
        .query_map(rusqlite::params_from_iter(arg), |r| {
            Ok(UserInfo {
                id: UserId(r.get(0)?),
                address: r.get(1)?,
                name: r.get(2)?,
                quota: r.get::<_, i64>(3)? as u64,
                used: r.get::<_, i64>(4)? as u64,
                enabled: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub trait Users: Db {
    /// Creates a user with INBOX and the special-use folders. `quota` 0 is
    /// unlimited. Only SCRAM-SHA-256 keys are made besides the hash: the
    /// server uses [`Users::user_add_with`] with the configured mechanisms.
    fn user_add(
        &self,
        address: &str,
        password: &Secret<String>,
        name: &str,
        quota: u64,
    ) -> Result<UserId, StoreError> {
        self.user_add_with(address, password, name, quota, &SecretSpec::default())
    }

    /// [`Users::user_add`], making the mechanism secrets `spec` asks for.
    fn user_add_with(
        &self,
        address: &str,
        password: &Secret<String>,
        name: &str,
        quota: u64,
        spec: &SecretSpec,
    ) -> Result<UserId, StoreError> {
        if !valid_mailbox(address) {
            return Err(StoreError::Invalid(format!(
                "`{address}` is not a valid mailbox address"
            )));
        }
        let hash = hash_password(password)?;
        let secrets = mech_secrets::derive(address, password.expose(), spec);
        let sealed = mech_secrets::seal_all(self.store(), address, &secrets)?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let domain = require_domain(&tx, address)?;
        if address_taken(&tx, address)? {
            return Err(StoreError::Exists(format!("address {address}")));
        }
        tx.execute(
            "INSERT INTO users (address, domain_id, name, password_hash, quota, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![address, domain, name, hash, quota as i64, now()],
        )?;
        let id = UserId(tx.last_insert_rowid());
        open_account(&tx, id)?;
        mech_secrets::replace(&tx, id, &sealed)?;
        tx.commit()?;
        Ok(id)
    }

    /// Sets a password (and SCRAM-SHA-256 keys; see [`Users::user_passwd_with`]).
    fn user_passwd(&self, address: &str, password: &Secret<String>) -> Result<(), StoreError> {
        self.user_passwd_with(address, password, &SecretSpec::default())
    }

    /// Sets a password and replaces the user's mechanism secrets with those
    /// `spec` asks for (secrets of mechanisms no longer enabled go).
    fn user_passwd_with(
        &self,
        address: &str,
        password: &Secret<String>,
        spec: &SecretSpec,
    ) -> Result<(), StoreError> {
        let not_found = || StoreError::NotFound(format!("user {address}"));
        // DIGEST-MD5's secret binds the name as stored.
        let stored = self
            .user_by_address(address)?
            .ok_or_else(not_found)?
            .address;
        let hash = hash_password(password)?;
        let secrets = mech_secrets::derive(&stored, password.expose(), spec);
        let sealed = mech_secrets::seal_all(self.store(), &stored, &secrets)?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let id = user_id(&tx, &stored)?;
        tx.execute(
            "UPDATE users SET password_hash = ?2 WHERE id = ?1",
            params![id.0, hash],
        )?;
        mech_secrets::replace(&tx, id, &sealed)?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes a user, their mailboxes and messages; bodies no longer referenced are removed.
    fn user_del(&self, address: &str) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let id = user_id(&tx, address)?;
        let dead = close_account(&tx, id)?;
        tx.execute("DELETE FROM group_members WHERE member = ?1", [address])?;
        tx.execute("DELETE FROM users WHERE id = ?1", [id.0])?;
        tx.commit()?;
        drop(conn);
        self.store().remove_dead(dead);
        Ok(())
    }

    fn user_list(&self) -> Result<Vec<UserInfo>, StoreError> {
        users_where(&*self.reader()?, "ORDER BY address", &[])
    }

    fn user_by_address(&self, address: &str) -> Result<Option<UserInfo>, StoreError> {
        Ok(
            users_where(&*self.reader()?, "WHERE address = ?1", &[address])?
                .into_iter()
                .next(),
        )
    }

    /// Checks a login. Unknown users and wrong passwords cost the same time and
    /// give the same `None`. Blocking (Argon2): call from a blocking thread.
    fn authenticate(
        &self,
        address: &str,
        password: &Secret<String>,
    ) -> Result<Option<UserInfo>, StoreError> {
        let row: Option<(i64, String, bool)> = self
            .reader()?
            .query_row(
                "SELECT id, password_hash, enabled FROM users WHERE address = ?1",
                [address],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let ok = verify_password(row.as_ref().map(|(_, h, _)| h.as_str()), password);
        match row {
            Some((_, _, true)) if ok => self.user_by_address(address),
            _ => Ok(None),
        }
    }
}

impl Users for postern_store::Store {}
