//! The directory: domains, users, aliases (catch-all included), groups, and the
//! expansion of a recipient address into local users and external addresses.

use crate::ids::now;
use crate::mailbox::create_default_folders;
use crate::mech_secrets::{self, SecretSpec};
use crate::{hash_password, verify_password, Secret, Store, StoreError, UserId};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::BTreeSet;

/// Alias and group nesting deeper than this is a loop or a mistake.
pub const MAX_EXPANSION_DEPTH: usize = 8;
/// An expansion naming more addresses than this is refused.
pub const MAX_EXPANSION_SIZE: usize = 1000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    pub id: UserId,
    pub address: String,
    pub name: String,
    pub quota: u64,
    pub used: u64,
    pub enabled: bool,
}

/// Who a recipient address reaches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expansion {
    pub local: BTreeSet<UserId>,
    pub remote: BTreeSet<String>,
}

impl Expansion {
    pub fn is_empty(&self) -> bool {
        self.local.is_empty() && self.remote.is_empty()
    }
}

/// Splits `local@domain`, lowercasing the domain. `None` if there is no `@` or either side is empty.
pub fn split_address(address: &str) -> Option<(&str, String)> {
    let at = address.rfind('@')?;
    let (local, domain) = (&address[..at], &address[at + 1..]);
    if domain.is_empty() {
        return None;
    }
    Some((local, domain.to_ascii_lowercase()))
}

pub(crate) fn valid_domain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

fn valid_mailbox(address: &str) -> bool {
    match split_address(address) {
        Some((local, domain)) => {
            !local.is_empty()
                && local.len() <= 64
                && !local.contains(|c: char| {
                    c.is_whitespace() || c.is_control() || "<>()[],;:\\\"".contains(c)
                })
                && valid_domain(&domain)
        }
        None => false,
    }
}

/// Refuses the first of `addresses` that is not a mailbox address, naming its role.
fn all_mailboxes(addresses: &[String], role: &str) -> Result<(), StoreError> {
    match addresses.iter().find(|a| !valid_mailbox(a)) {
        Some(a) => Err(StoreError::Invalid(format!(
            "{role} `{a}` is not an address"
        ))),
        None => Ok(()),
    }
}

pub(crate) fn domain_id(conn: &Connection, domain: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .query_row("SELECT id FROM domains WHERE name = ?1", [domain], |r| {
            r.get(0)
        })
        .optional()?)
}

fn require_domain(conn: &Connection, address: &str) -> Result<i64, StoreError> {
    let (_, domain) = split_address(address).ok_or_else(|| {
        StoreError::Invalid(format!("`{address}` is not an address (local@domain)"))
    })?;
    domain_id(conn, &domain)?.ok_or_else(|| StoreError::Invalid(format!("domain {domain} is not a local domain: add it first with `postern domain add {domain}`")))
}

fn address_taken(conn: &Connection, address: &str) -> Result<bool, StoreError> {
    let n: i64 = conn.query_row(
        "SELECT (SELECT COUNT(*) FROM users WHERE address = ?1) + (SELECT COUNT(*) FROM groups WHERE address = ?1)",
        [address],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

impl Store {
    // ---- domains ----

    pub fn domain_add(&self, name: &str) -> Result<(), StoreError> {
        let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
        if !valid_domain(&name) {
            return Err(StoreError::Invalid(format!(
                "`{name}` is not a domain name"
            )));
        }
        let conn = self.conn();
        if domain_id(&conn, &name)?.is_some() {
            return Err(StoreError::Exists(format!("domain {name}")));
        }
        conn.execute(
            "INSERT INTO domains (name, created) VALUES (?1, ?2)",
            params![name, now()],
        )?;
        Ok(())
    }

    /// Removes a domain that no longer has users, aliases or groups.
    pub fn domain_del(&self, name: &str) -> Result<(), StoreError> {
        let conn = self.conn();
        let id = domain_id(&conn, &name.to_ascii_lowercase())?
            .ok_or_else(|| StoreError::NotFound(format!("domain {name}")))?;
        let used: i64 = conn.query_row(
            "SELECT (SELECT COUNT(*) FROM users WHERE domain_id = ?1) + (SELECT COUNT(*) FROM aliases WHERE domain_id = ?1) + (SELECT COUNT(*) FROM groups WHERE domain_id = ?1)",
            [id],
            |r| r.get(0),
        )?;
        if used > 0 {
            return Err(StoreError::Invalid(format!(
                "domain {name} still has {used} users, aliases or groups: delete them first"
            )));
        }
        conn.execute("DELETE FROM domains WHERE id = ?1", [id])?;
        Ok(())
    }

    pub fn domain_list(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare("SELECT name FROM domains ORDER BY name")?;
        let rows = st
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(rows)
    }

    /// True if `domain` is one of ours.
    pub fn is_local_domain(&self, domain: &str) -> Result<bool, StoreError> {
        Ok(domain_id(&*self.reader()?, &domain.to_ascii_lowercase())?.is_some())
    }

    // ---- users ----

    /// Creates a user with INBOX and the special-use folders. `quota` 0 is
    /// unlimited. Only SCRAM-SHA-256 keys are made besides the hash: the
    /// server uses [`Store::user_add_with`] with the configured mechanisms.
    pub fn user_add(
        &self,
        address: &str,
        password: &Secret<String>,
        name: &str,
        quota: u64,
    ) -> Result<UserId, StoreError> {
        self.user_add_with(address, password, name, quota, &SecretSpec::default())
    }

    /// [`Store::user_add`], making the mechanism secrets `spec` asks for.
    pub fn user_add_with(
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
        let keys = self.server_keys()?;
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
        create_default_folders(&tx, id)?;
        mech_secrets::replace(&tx, keys, id, address, &secrets)?;
        tx.commit()?;
        Ok(id)
    }

    /// Sets a password (and SCRAM-SHA-256 keys; see [`Store::user_passwd_with`]).
    pub fn user_passwd(&self, address: &str, password: &Secret<String>) -> Result<(), StoreError> {
        self.user_passwd_with(address, password, &SecretSpec::default())
    }

    /// Sets a password and replaces the user's mechanism secrets with those
    /// `spec` asks for (secrets of mechanisms no longer enabled go).
    pub fn user_passwd_with(
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
        let keys = self.server_keys()?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let id = mech_secrets::user_id(&tx, &stored)?.ok_or_else(not_found)?;
        tx.execute(
            "UPDATE users SET password_hash = ?2 WHERE id = ?1",
            params![id.0, hash],
        )?;
        mech_secrets::replace(&tx, keys, id, &stored, &secrets)?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes a user, their mailboxes and messages; bodies no longer referenced are removed.
    pub fn user_del(&self, address: &str) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let id: i64 = tx
            .query_row("SELECT id FROM users WHERE address = ?1", [address], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("user {address}")))?;
        tx.execute(
            "UPDATE blobs SET refs = refs - (SELECT COUNT(*) FROM messages m JOIN mailboxes b ON m.mailbox_id = b.id WHERE b.user_id = ?1 AND m.blob_id = blobs.id)
             WHERE id IN (SELECT m.blob_id FROM messages m JOIN mailboxes b ON m.mailbox_id = b.id WHERE b.user_id = ?1)",
            [id],
        )?;
        tx.execute("DELETE FROM messages WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE user_id = ?1)", [id])?;
        tx.execute("DELETE FROM mailboxes WHERE user_id = ?1", [id])?;
        tx.execute("DELETE FROM group_members WHERE member = ?1", [address])?;
        tx.execute("DELETE FROM users WHERE id = ?1", [id])?;
        let dead = crate::blob::take_dead(&tx)?;
        tx.commit()?;
        drop(conn);
        self.remove_blob_files(&dead);
        Ok(())
    }

    pub fn user_list(&self) -> Result<Vec<UserInfo>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare(
            "SELECT id, address, name, quota, used, enabled FROM users ORDER BY address",
        )?;
        let rows = st
            .query_map([], |r| {
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

    pub fn user_by_address(&self, address: &str) -> Result<Option<UserInfo>, StoreError> {
        Ok(self.user_list_where(address)?.into_iter().next())
    }

    fn user_list_where(&self, address: &str) -> Result<Vec<UserInfo>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare(
            "SELECT id, address, name, quota, used, enabled FROM users WHERE address = ?1",
        )?;
        let rows = st
            .query_map([address], |r| {
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

    /// Checks a login. Unknown users and wrong passwords cost the same time and
    /// give the same `None`. Blocking (Argon2): call from a blocking thread.
    pub fn authenticate(
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

    // ---- aliases ----

    /// Adds targets to an alias. `@domain` is that domain's catch-all.
    pub fn alias_add(&self, address: &str, targets: &[String]) -> Result<(), StoreError> {
        if targets.is_empty() {
            return Err(StoreError::Invalid(
                "an alias needs at least one target".into(),
            ));
        }
        let catch_all = address.starts_with('@');
        if !catch_all && !valid_mailbox(address) {
            return Err(StoreError::Invalid(format!(
                "`{address}` is not an address (local@domain, or @domain for a catch-all)"
            )));
        }
        all_mailboxes(targets, "alias target")?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let probe = if catch_all {
            format!("postmaster{address}")
        } else {
            address.to_string()
        };
        let domain = require_domain(&tx, &probe)?;
        if !catch_all && address_taken(&tx, address)? {
            return Err(StoreError::Exists(format!(
                "address {address} (a user or group)"
            )));
        }
        for t in targets {
            tx.execute(
                "INSERT OR IGNORE INTO aliases (address, domain_id, target) VALUES (?1, ?2, ?3)",
                params![address, domain, t],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Removes an alias (all its targets, or only those named).
    pub fn alias_del(&self, address: &str, targets: &[String]) -> Result<(), StoreError> {
        let conn = self.conn();
        let n = if targets.is_empty() {
            conn.execute("DELETE FROM aliases WHERE address = ?1", [address])?
        } else {
            targets
                .iter()
                .map(|t| {
                    conn.execute(
                        "DELETE FROM aliases WHERE address = ?1 AND target = ?2",
                        [address, t.as_str()],
                    )
                })
                .sum::<Result<usize, _>>()?
        };
        if n == 0 {
            return Err(StoreError::NotFound(format!("alias {address}")));
        }
        Ok(())
    }

    /// Every alias with its targets, sorted.
    pub fn alias_list(&self) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        self.grouped("SELECT address, target FROM aliases ORDER BY address, target")
    }

    // ---- groups ----

    pub fn group_add(&self, address: &str, members: &[String]) -> Result<(), StoreError> {
        if !valid_mailbox(address) {
            return Err(StoreError::Invalid(format!(
                "`{address}` is not an address"
            )));
        }
        all_mailboxes(members, "group member")?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let domain = require_domain(&tx, address)?;
        let existing: Option<i64> = tx
            .query_row("SELECT id FROM groups WHERE address = ?1", [address], |r| {
                r.get(0)
            })
            .optional()?;
        let id = match existing {
            Some(id) => id,
            None => {
                if address_taken(&tx, address)? {
                    return Err(StoreError::Exists(format!("address {address} (a user)")));
                }
                tx.execute(
                    "INSERT INTO groups (address, domain_id) VALUES (?1, ?2)",
                    params![address, domain],
                )?;
                tx.last_insert_rowid()
            }
        };
        for m in members {
            tx.execute(
                "INSERT OR IGNORE INTO group_members (group_id, member) VALUES (?1, ?2)",
                params![id, m],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn group_del(&self, address: &str) -> Result<(), StoreError> {
        let n = self
            .conn()
            .execute("DELETE FROM groups WHERE address = ?1", [address])?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("group {address}")));
        }
        Ok(())
    }

    /// Every group with its members, sorted.
    pub fn group_list(&self) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        let mut out = self.grouped("SELECT g.address, m.member FROM groups g LEFT JOIN group_members m ON m.group_id = g.id ORDER BY g.address, m.member")?;
        for (_, members) in &mut out {
            members.retain(|m| !m.is_empty());
        }
        Ok(out)
    }

    fn grouped(&self, sql: &str) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare(sql)?;
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            ))
        })?;
        for row in rows {
            let (k, v) = row?;
            match out.last_mut() {
                Some((last, vs)) if *last == k => vs.push(v),
                _ => out.push((k, vec![v])),
            }
        }
        Ok(out)
    }

    // ---- resolution ----

    /// Expands a recipient address into local users and external addresses.
    /// Non-local domains expand to themselves as remote; unknown local
    /// addresses expand to nothing. Loops and over-deep nesting stop expansion.
    pub fn expand(&self, address: &str) -> Result<Expansion, StoreError> {
        // An SRS address of ours (srs.rs) goes back to its original sender, or nowhere.
        if let Some(reversed) = self.srs_expansion(address)? {
            return Ok(reversed);
        }
        let mut conn = self.reader()?;
        // One snapshot: an alias changed half-way must not mix old and new.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let mut out = Expansion::default();
        let mut seen = BTreeSet::new();
        expand_into(&tx, address, 0, &mut seen, &mut out)?;
        tx.commit()?;
        Ok(out)
    }
}

fn expand_into(
    conn: &Connection,
    address: &str,
    depth: usize,
    seen: &mut BTreeSet<String>,
    out: &mut Expansion,
) -> Result<(), StoreError> {
    let key = address.to_lowercase();
    if depth > MAX_EXPANSION_DEPTH || !seen.insert(key) || seen.len() > MAX_EXPANSION_SIZE {
        return Ok(());
    }
    let Some((_, domain)) = split_address(address) else {
        return Ok(());
    };
    if domain_id(conn, &domain)?.is_none() {
        out.remote.insert(address.to_string());
        return Ok(());
    }
    let user: Option<(i64, bool)> = conn
        .query_row(
            "SELECT id, enabled FROM users WHERE address = ?1",
            [address],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((id, enabled)) = user {
        if enabled {
            out.local.insert(UserId(id));
        }
        return Ok(());
    }
    let members = strings(conn, "SELECT m.member FROM group_members m JOIN groups g ON g.id = m.group_id WHERE g.address = ?1", address)?;
    let is_group: bool = conn.query_row(
        "SELECT COUNT(*) FROM groups WHERE address = ?1",
        [address],
        |r| r.get::<_, i64>(0),
    )? > 0;
    if is_group {
        for m in members {
            expand_into(conn, &m, depth + 1, seen, out)?;
        }
        return Ok(());
    }
    let mut targets = strings(
        conn,
        "SELECT target FROM aliases WHERE address = ?1",
        address,
    )?;
    if targets.is_empty() {
        targets = strings(
            conn,
            "SELECT target FROM aliases WHERE address = ?1",
            &format!("@{domain}"),
        )?;
    }
    for t in targets {
        expand_into(conn, &t, depth + 1, seen, out)?;
    }
    Ok(())
}

fn strings(conn: &Connection, sql: &str, arg: &str) -> Result<Vec<String>, StoreError> {
    let mut st = conn.prepare_cached(sql)?;
    let rows = st
        .query_map([arg], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(rows)
}
