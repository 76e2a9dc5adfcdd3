//! How the directory reaches its tables: through the store's database
//! (`postern_store::shared_db`). Every directory trait is implemented for
//! [`Store`] alone, over this sealed trait, so the moved SQL reads as it
//! did inside the store: `self.conn()` to write, `self.reader()` to read.

use postern_store::shared_db::DbReader;
use postern_store::{Store, StoreError};
use rusqlite::Connection;
use std::sync::MutexGuard;
use std::time::{SystemTime, UNIX_EPOCH};

/// The store under a directory trait; not for implementing elsewhere.
pub trait Db {
    /// The store itself, for what the store does (accounts, sealing).
    fn store(&self) -> &Store;

    /// The shared write connection.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.store().db_write()
    }

    /// A pooled read-only connection: leaf methods only (the store's readers.rs rules).
    fn reader(&self) -> Result<DbReader<'_>, StoreError> {
        self.store().db_read()
    }
}

impl Db for Store {
    fn store(&self) -> &Store {
        self
    }
}

/// Unix seconds now.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
