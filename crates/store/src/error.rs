use std::path::Path;

/// What can go wrong in the store. Protocol code maps these to its own replies
/// (`Unavailable` to a temporary failure, the directory errors to the user).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0} does not exist")]
    NotFound(String),
    #[error("{0} already exists")]
    Exists(String),
    #[error("{0}")]
    Invalid(String),
    #[error("store is shutting down")]
    Unavailable,
    #[error("commit failed: {0}")]
    Commit(String),
    /// The user's mailboxes would exceed their quota (IMAP OVERQUOTA, RFC 9208 §4.3).
    #[error("over quota")]
    OverQuota,
    /// Not this user's to change (the archive, archive_view.rs; IMAP NOPERM, RFC 5530).
    #[error("not permitted: {0}")]
    NoPerm(String),
    /// A quick read (quick.rs) found no connection free at once; it is run
    /// again on the blocking pool, so it never reaches a caller of the store.
    #[error("no connection free at once")]
    WouldWait,
}

impl StoreError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// True for failures a client should retry later (4xx), false for its own mistakes.
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            StoreError::Db(_)
                | StoreError::Io { .. }
                | StoreError::Unavailable
                | StoreError::Commit(_)
                | StoreError::WouldWait
        )
    }
}
