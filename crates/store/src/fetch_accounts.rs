//! POP3 download (SPEC M7, issue 21 item 5): the remote POP3 accounts each
//! local user fetches from, and, per account, the UIDLs (RFC 1939 §7) of the
//! messages already delivered here, so leave-on-server never fetches one
//! twice, across restarts. The password is sealed with the server key
//! (seal.rs, the account's owner, host and user as associated data).
//!
//! A UIDL is recorded only after the local delivery of its message is
//! durable (the 250 of the server's own SMTP session); the fetcher deletes a
//! message on the remote only once its UIDL is recorded here.

use crate::ids::now;
use crate::{Secret, Store, StoreError};
use rusqlite::{params, OptionalExtension, Row};

/// Migration v17: remote POP3 accounts and their fetched UIDLs.
pub(crate) const SCHEMA_V17: &str = r#"
BEGIN;
CREATE TABLE IF NOT EXISTS fetch_accounts (
    id INTEGER PRIMARY KEY,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    tls TEXT NOT NULL,
    tls_verify INTEGER NOT NULL,
    ca_file TEXT,
    username TEXT NOT NULL,
    sealed BLOB NOT NULL,
    apop INTEGER NOT NULL,
    keep INTEGER NOT NULL,
    delete_after_days INTEGER,
    interval_secs INTEGER,
    fallback TEXT,
    created INTEGER NOT NULL,
    last_run INTEGER,
    last_result TEXT,
    run_requested INTEGER NOT NULL DEFAULT 0,
    run_done INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS fetch_seen (
    account INTEGER NOT NULL REFERENCES fetch_accounts(id) ON DELETE CASCADE,
    uidl TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    PRIMARY KEY (account, uidl)
);
PRAGMA user_version = 17;
COMMIT;
"#;

/// How the connection to the remote is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchTls {
    /// TLS from the first octet (POP3S, RFC 8314).
    Implicit,
    /// STLS after the greeting (RFC 2595 §4).
    Starttls,
    /// None: the password crosses in the clear unless APOP.
    None,
}

impl FetchTls {
    pub fn as_str(self) -> &'static str {
        match self {
            FetchTls::Implicit => "implicit",
            FetchTls::Starttls => "starttls",
            FetchTls::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<FetchTls> {
        match s {
            "implicit" => Some(FetchTls::Implicit),
            "starttls" => Some(FetchTls::Starttls),
            "none" => Some(FetchTls::None),
            _ => None,
        }
    }
}

/// One remote account as stored (the password stays sealed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchAccount {
    pub id: i64,
    /// The local address mail goes to (in domain-mailbox mode: the owner).
    pub owner: String,
    pub host: String,
    pub port: u16,
    pub tls: FetchTls,
    pub tls_verify: bool,
    pub ca_file: Option<String>,
    pub username: String,
    pub apop: bool,
    /// Leave messages on the server (UIDL tracking).
    pub keep: bool,
    /// With `keep`: delete a message this many days after it was fetched.
    pub delete_after_days: Option<u32>,
    /// Overrides `fetch.interval`.
    pub interval_secs: Option<u64>,
    /// Domain-mailbox mode: sort by recipient headers, else to this address.
    pub fallback: Option<String>,
    pub last_run: Option<i64>,
    pub last_result: Option<String>,
    /// `postern fetch run` requests, counted; a run that started after the
    /// n-th request sets `run_done` to n, so the CLI knows its run is done.
    pub run_requested: i64,
    pub run_done: i64,
}

impl FetchAccount {
    /// A `fetch run` is waiting for this account.
    pub fn run_pending(&self) -> bool {
        self.run_requested > self.run_done
    }
}

/// A new account for [`Store::fetch_add`].
pub struct NewFetchAccount<'a> {
    pub owner: &'a str,
    pub host: &'a str,
    pub port: u16,
    pub tls: FetchTls,
    pub tls_verify: bool,
    pub ca_file: Option<&'a str>,
    pub username: &'a str,
    pub password: &'a [u8],
    pub apop: bool,
    pub keep: bool,
    pub delete_after_days: Option<u32>,
    pub interval_secs: Option<u64>,
    pub fallback: Option<&'a str>,
}

/// Binds a sealed password to its account's owner, host and user name.
fn aad(owner: &str, host: &str, username: &str) -> Vec<u8> {
    format!("postern-fetch-password-v1\0{owner}\0{host}\0{username}").into_bytes()
}

const COLUMNS: &str = "id, owner, host, port, tls, tls_verify, ca_file, username, apop, keep, \
     delete_after_days, interval_secs, fallback, last_run, last_result, run_requested, run_done";

fn account(r: &Row<'_>) -> rusqlite::Result<FetchAccount> {
    let tls: String = r.get(4)?;
    Ok(FetchAccount {
        id: r.get(0)?,
        owner: r.get(1)?,
        host: r.get(2)?,
        port: r.get(3)?,
        tls: FetchTls::parse(&tls).unwrap_or(FetchTls::Implicit),
        tls_verify: r.get(5)?,
        ca_file: r.get(6)?,
        username: r.get(7)?,
        apop: r.get(8)?,
        keep: r.get(9)?,
        delete_after_days: r.get(10)?,
        interval_secs: r.get::<_, Option<i64>>(11)?.map(|s| s.max(0) as u64),
        fallback: r.get(12)?,
        last_run: r.get(13)?,
        last_result: r.get(14)?,
        run_requested: r.get(15)?,
        run_done: r.get(16)?,
    })
}

impl Store {
    /// Stores an account for a local user; returns its id.
    pub fn fetch_add(&self, a: &NewFetchAccount<'_>) -> Result<i64, StoreError> {
        let owner = a.owner.to_ascii_lowercase();
        for user in std::iter::once(owner.as_str()).chain(a.fallback) {
            if self.account_id(user)?.is_none() {
                return Err(StoreError::NotFound(format!("user {user}")));
            }
        }
        let sealed = crate::seal::seal(
            self.server_keys()?,
            &aad(&owner, a.host, a.username),
            a.password,
        )?;
        let conn = self.conn();
        conn.execute(
            "INSERT INTO fetch_accounts (owner, host, port, tls, tls_verify, ca_file, username, \
             sealed, apop, keep, delete_after_days, interval_secs, fallback, created) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                owner,
                a.host,
                a.port,
                a.tls.as_str(),
                a.tls_verify,
                a.ca_file,
                a.username,
                sealed,
                a.apop,
                a.keep,
                a.delete_after_days,
                a.interval_secs.map(|s| s.min(i64::MAX as u64) as i64),
                a.fallback.map(|f| f.to_ascii_lowercase()),
                now()
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Every account, by id.
    pub fn fetch_accounts(&self) -> Result<Vec<FetchAccount>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare(&format!("SELECT {COLUMNS} FROM fetch_accounts ORDER BY id"))?;
        let rows = st.query_map([], account)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn fetch_account(&self, id: i64) -> Result<Option<FetchAccount>, StoreError> {
        let conn = self.reader()?;
        Ok(conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM fetch_accounts WHERE id = ?1"),
                [id],
                account,
            )
            .optional()?)
    }

    /// The account's password, opened; an error when the seal does not open.
    pub fn fetch_password(&self, a: &FetchAccount) -> Result<Secret<Vec<u8>>, StoreError> {
        let conn = self.reader()?;
        let sealed: Vec<u8> = conn
            .query_row(
                "SELECT sealed FROM fetch_accounts WHERE id = ?1",
                [a.id],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("fetch account {}", a.id)))?;
        let plain = crate::seal::open(
            self.server_keys()?,
            &aad(&a.owner, &a.host, &a.username),
            &sealed,
        )
        .ok_or_else(|| {
            StoreError::Invalid(format!(
                "the password of fetch account {} does not open with keys/server.key",
                a.id
            ))
        })?;
        Ok(Secret::new(plain.to_vec()))
    }

    /// Deletes an account and its UIDL records.
    pub fn fetch_del(&self, id: i64) -> Result<(), StoreError> {
        let conn = self.conn();
        conn.execute("DELETE FROM fetch_seen WHERE account = ?1", [id])?;
        match conn.execute("DELETE FROM fetch_accounts WHERE id = ?1", [id])? {
            0 => Err(StoreError::NotFound(format!("fetch account {id}"))),
            _ => Ok(()),
        }
    }

    /// Asks the running server to fetch now (`postern fetch run`); `None`:
    /// all. Returns the accounts asked, whose `run_done` reaches their
    /// `run_requested` once a run that started after this request ends.
    pub fn fetch_request_run(&self, id: Option<i64>) -> Result<Vec<FetchAccount>, StoreError> {
        let n = self.conn().execute(
            "UPDATE fetch_accounts SET run_requested = run_requested + 1 \
             WHERE ?1 IS NULL OR id = ?1",
            [id],
        )?;
        if n == 0 && id.is_some() {
            return Err(StoreError::NotFound(format!(
                "fetch account {}",
                id.unwrap_or(0)
            )));
        }
        let all = self.fetch_accounts()?;
        Ok(all
            .into_iter()
            .filter(|a| id.is_none_or(|i| i == a.id))
            .collect())
    }

    /// Records a run's end; `requested`: the account's `run_requested` when
    /// the run started (the requests it answers).
    pub fn fetch_finished(
        &self,
        id: i64,
        at: i64,
        requested: i64,
        result: &str,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE fetch_accounts SET last_run = ?2, last_result = ?3, \
             run_done = max(run_done, ?4) WHERE id = ?1",
            params![id, at, result, requested],
        )?;
        Ok(())
    }

    /// The UIDLs delivered from this account, with when each was first fetched.
    pub fn fetch_seen(&self, account: i64) -> Result<Vec<(String, i64)>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare("SELECT uidl, first_seen FROM fetch_seen WHERE account = ?1")?;
        let rows = st.query_map([account], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records a UIDL as delivered (durably: the commit is synchronous).
    pub fn fetch_mark_seen(&self, account: i64, uidl: &str, at: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT OR IGNORE INTO fetch_seen (account, uidl, first_seen) VALUES (?1, ?2, ?3)",
            params![account, uidl, at],
        )?;
        Ok(())
    }

    /// Forgets the UIDLs the remote no longer lists (deleted there).
    pub fn fetch_forget(&self, account: i64, uidls: &[String]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for u in uidls {
            tx.execute(
                "DELETE FROM fetch_seen WHERE account = ?1 AND uidl = ?2",
                params![account, u],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new<'a>(owner: &'a str, fallback: Option<&'a str>) -> NewFetchAccount<'a> {
        NewFetchAccount {
            owner,
            host: "pop.remote.test",
            port: 995,
            tls: FetchTls::Implicit,
            tls_verify: true,
            ca_file: None,
            username: "alice",
            password: b"remote-secret-9",
            apop: false,
            keep: true,
            delete_after_days: Some(7),
            interval_secs: None,
            fallback,
        }
    }

    #[test]
    fn accounts_seal_their_password_and_track_uidls() {
        let (_dir, store, _, _) = crate::tests::setup();
        let id = store.fetch_add(&new("Alice@example.org", None)).unwrap();
        let a = store.fetch_account(id).unwrap().unwrap();
        assert_eq!(
            (a.owner.as_str(), a.tls, a.delete_after_days),
            ("alice@example.org", FetchTls::Implicit, Some(7))
        );
        assert_eq!(
            store.fetch_password(&a).unwrap().expose().as_slice(),
            b"remote-secret-9"
        );
        let sealed: Vec<u8> = store
            .conn()
            .query_row(
                "SELECT sealed FROM fetch_accounts WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap();
        assert!(!sealed.windows(15).any(|w| w == b"remote-secret-9"));
        store.fetch_mark_seen(id, "u1", 100).unwrap();
        store.fetch_mark_seen(id, "u1", 200).unwrap();
        store.fetch_mark_seen(id, "u2", 300).unwrap();
        store.fetch_forget(id, &["u2".into()]).unwrap();
        assert_eq!(store.fetch_seen(id).unwrap(), vec![("u1".to_string(), 100)]);
        store.fetch_del(id).unwrap();
        assert!(store.fetch_seen(id).unwrap().is_empty());
        assert!(matches!(store.fetch_del(id), Err(StoreError::NotFound(_))));
    }

    #[test]
    fn unknown_owner_or_fallback_is_refused() {
        let (_dir, store, _, _) = crate::tests::setup();
        assert!(store.fetch_add(&new("nobody@example.org", None)).is_err());
        assert!(store
            .fetch_add(&new("alice@example.org", Some("nobody@example.org")))
            .is_err());
        assert!(store
            .fetch_add(&new("alice@example.org", Some("bob@example.org")))
            .is_ok());
    }

    #[test]
    fn a_run_request_is_answered_by_a_run_that_started_after_it() {
        let (_dir, store, _, _) = crate::tests::setup();
        let id = store.fetch_add(&new("alice@example.org", None)).unwrap();
        let asked = store.fetch_request_run(Some(id)).unwrap();
        assert!(asked[0].run_pending());
        // A run that started before the request does not answer it.
        store.fetch_finished(id, 10, 0, "ok").unwrap();
        assert!(store.fetch_account(id).unwrap().unwrap().run_pending());
        store
            .fetch_finished(id, 11, asked[0].run_requested, "ok")
            .unwrap();
        let a = store.fetch_account(id).unwrap().unwrap();
        assert!(!a.run_pending());
        assert_eq!(
            (a.last_run, a.last_result.as_deref()),
            (Some(11), Some("ok"))
        );
        assert!(store.fetch_request_run(Some(id + 1)).is_err());
    }
}
