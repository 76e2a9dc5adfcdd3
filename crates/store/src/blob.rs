//! Message bodies: one file per accepted message under `blobs/XX/ID`, written
//! as the message arrives (memory per session stays bounded), fsync'd before
//! the commit that references it.

use crate::{Store, StoreError};
use rusqlite::Transaction;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncWriteExt, BufWriter};

/// Buffer between the session and the body file.
const WRITE_BUFFER: usize = 64 * 1024;

/// A body's id (also the queue id of the message that brought it).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BlobId(String);

impl BlobId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn from_db(s: String) -> BlobId {
        BlobId(s)
    }

    /// Parses an id given by a user (e.g. `queue show ID`): hex only, so it is a safe file name.
    pub fn parse(s: &str) -> Option<BlobId> {
        (s.len() >= 4 && s.len() <= 64 && s.bytes().all(|c| c.is_ascii_hexdigit())).then(|| BlobId(s.to_ascii_lowercase()))
    }

    /// The shard directory: the last two hex digits (random, so shards fill evenly).
    fn shard(&self) -> &str {
        &self.0[self.0.len() - 2..]
    }
}

impl std::fmt::Display for BlobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A body being received. Dropping it without [`BlobWriter::finish`] deletes the file.
pub struct BlobWriter {
    id: BlobId,
    path: PathBuf,
    file: Option<BufWriter<tokio::fs::File>>,
    written: u64,
}

impl BlobWriter {
    pub fn id(&self) -> &BlobId {
        &self.id
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        let file = self.file.as_mut().ok_or(StoreError::Unavailable)?;
        file.write_all(bytes).await.map_err(|e| StoreError::io(&self.path, e))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Flushes and fsyncs the body. Its directory is fsync'd by the committer.
    pub async fn finish(mut self) -> Result<FinishedBlob, StoreError> {
        let mut file = self.file.take().ok_or(StoreError::Unavailable)?;
        file.flush().await.map_err(|e| StoreError::io(&self.path, e))?;
        file.get_mut().sync_all().await.map_err(|e| StoreError::io(&self.path, e))?;
        Ok(FinishedBlob { id: self.id.clone(), path: std::mem::take(&mut self.path), size: self.written })
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A body on disk, fsync'd, not yet referenced by any row. Dropping it deletes the file.
#[derive(Debug)]
pub struct FinishedBlob {
    pub(crate) id: BlobId,
    pub(crate) path: PathBuf,
    pub(crate) size: u64,
}

impl FinishedBlob {
    pub fn id(&self) -> &BlobId {
        &self.id
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub(crate) fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// Called once a commit references the file: it must now outlive this handle.
    pub(crate) fn keep(mut self) {
        self.path = PathBuf::new();
    }
}

impl Drop for FinishedBlob {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Ids of blobs no longer referenced; their rows are deleted in `tx`, files after commit.
pub(crate) fn take_dead(tx: &Transaction<'_>) -> Result<Vec<BlobId>, StoreError> {
    let mut st = tx.prepare("DELETE FROM blobs WHERE refs <= 0 RETURNING id")?;
    let ids = st.query_map([], |r| r.get::<_, String>(0))?.map(|r| r.map(BlobId)).collect::<Result<Vec<_>, _>>()?;
    Ok(ids)
}

impl Store {
    /// Starts a new body file.
    pub async fn create_blob(&self) -> Result<BlobWriter, StoreError> {
        let id = BlobId(crate::ids::new_id());
        let dir = self.root().join("blobs").join(id.shard());
        tokio::fs::create_dir_all(&dir).await.map_err(|e| StoreError::io(&dir, e))?;
        let path = dir.join(id.as_str());
        let file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&path).await.map_err(|e| StoreError::io(&path, e))?;
        Ok(BlobWriter { id, path, file: Some(BufWriter::with_capacity(WRITE_BUFFER, file)), written: 0 })
    }

    /// Where a body lives on disk.
    pub fn blob_path(&self, id: &BlobId) -> PathBuf {
        self.root().join("blobs").join(id.shard()).join(id.as_str())
    }

    pub(crate) fn remove_blob_files(&self, ids: &[BlobId]) {
        for id in ids {
            let _ = std::fs::remove_file(self.blob_path(id));
        }
    }
}

/// Fsyncs a directory so a new file's entry in it is durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| StoreError::io(dir, e))
}
