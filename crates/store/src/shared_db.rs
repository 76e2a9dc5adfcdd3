//! The store's database, lent to the crate whose tables share it:
//! postern-directory keeps domains, users, aliases, groups, roles and
//! secrets in this same SQLite file, under the same migrations (db.rs),
//! the same write lock and the same reader pool, so a directory change and
//! a delivery are ordered like any two store writes. The directory sits
//! above the store and the store knows nothing of it: the store reads
//! `users` only as the owners of mailboxes (id, quota, bytes used).
//!
//! What a user's life means for their mail stays here: [`open_account`]
//! and [`close_account`], which the directory runs inside its own
//! transaction, so a user never exists without an INBOX, nor mail without
//! a user. The server key (server_key.rs) stays here too, since it also
//! seals the store's own secrets (fetch accounts): other crates seal and
//! open through [`Store::seal`] and [`Store::unseal`], never see the key.

use crate::blob::{take_dead, BlobId};
use crate::mailbox::create_default_folders;
use crate::readers::ReadConn;
use crate::{Store, StoreError, UserId};
use ring::hmac;
use rusqlite::{Connection, OptionalExtension, Transaction};
use std::ops::{Deref, DerefMut};
use std::sync::MutexGuard;
use zeroize::Zeroizing;

/// A read-only connection from the store's reader pool. The pool's rules
/// hold (readers.rs): take it in a leaf method, drop it before calling
/// anything else, and never write through it.
pub struct DbReader<'a>(ReadConn<'a>);

impl Deref for DbReader<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.0
    }
}

impl DerefMut for DbReader<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.0
    }
}

/// Bodies no account references any more after [`close_account`]: their
/// files go with [`Store::remove_dead`] once the transaction is committed.
#[must_use = "the files stay on disk until Store::remove_dead"]
pub struct DeadBlobs(Vec<BlobId>);

impl Store {
    /// The shared write connection (one writer at a time, as for the
    /// store's own writes). Hold it briefly: deliveries wait behind it.
    pub fn db_write(&self) -> MutexGuard<'_, Connection> {
        self.conn()
    }

    /// A connection for reads only (see [`DbReader`]).
    pub fn db_read(&self) -> Result<DbReader<'_>, StoreError> {
        Ok(DbReader(self.reader()?))
    }

    /// Seals `plain` with the server key, bound to `aad` (seal.rs).
    pub fn seal(&self, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        crate::seal::seal(self.server_keys()?, aad, plain)
    }

    /// Opens what [`Store::seal`] sealed with the same `aad`; `None` when it
    /// does not open (another key file, a row moved to another owner).
    pub fn unseal(
        &self,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        Ok(crate::seal::open(self.server_keys()?, aad, sealed))
    }

    /// A 32-byte key for one purpose, named by `label`, derived from the
    /// server key (HMAC-SHA256): stable across restarts, and learning it
    /// reveals neither the server key nor any other purpose's key.
    pub fn derived_key(&self, label: &[u8]) -> Result<[u8; 32], StoreError> {
        let key = hmac::Key::new(hmac::HMAC_SHA256, self.server_keys()?.seal.expose());
        let tag = hmac::sign(&key, label);
        Ok(tag.as_ref().try_into().expect("32 bytes"))
    }

    /// The 32-byte secret postern-sasl derives unknown users' stand-in
    /// secrets from (`ServerConfig::server_secret`); stable across restarts.
    pub fn sasl_server_secret(&self) -> Result<[u8; 32], StoreError> {
        Ok(*self.server_keys()?.sasl.expose())
    }

    /// The id of the account (mailbox owner) with `address`, if any.
    pub fn account_id(&self, address: &str) -> Result<Option<UserId>, StoreError> {
        account_id(&*self.db_read()?, address)
    }

    /// Removes the files of bodies [`close_account`] left unreferenced.
    pub fn remove_dead(&self, dead: DeadBlobs) {
        self.remove_blob_files(&dead.0);
    }
}

/// [`Store::account_id`] inside the caller's transaction.
pub fn account_id(conn: &Connection, address: &str) -> Result<Option<UserId>, StoreError> {
    Ok(conn
        .query_row("SELECT id FROM users WHERE address = ?1", [address], |r| {
            r.get(0).map(UserId)
        })
        .optional()?)
}

/// Gives a new account its INBOX and special-use folders, inside the
/// transaction that creates the account.
pub fn open_account(tx: &Transaction<'_>, user: UserId) -> Result<(), StoreError> {
    create_default_folders(tx, user)
}

/// Deletes an account's mailboxes and messages inside the transaction that
/// deletes the account; the bodies nobody else holds are returned, for
/// [`Store::remove_dead`] after the commit.
pub fn close_account(tx: &Transaction<'_>, user: UserId) -> Result<DeadBlobs, StoreError> {
    tx.execute(
        "UPDATE blobs SET refs = refs - (SELECT COUNT(*) FROM messages m JOIN mailboxes b ON m.mailbox_id = b.id WHERE b.user_id = ?1 AND m.blob_id = blobs.id)
         WHERE id IN (SELECT m.blob_id FROM messages m JOIN mailboxes b ON m.mailbox_id = b.id WHERE b.user_id = ?1)",
        [user.0],
    )?;
    tx.execute(
        "DELETE FROM messages WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE user_id = ?1)",
        [user.0],
    )?;
    tx.execute("DELETE FROM mailboxes WHERE user_id = ?1", [user.0])?;
    Ok(DeadBlobs(take_dead(tx)?))
}
