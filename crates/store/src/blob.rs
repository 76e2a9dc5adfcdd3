//! Message bodies: one file per accepted message under `blobs/XX/ID`.
//!
//! A body is written as it arrives (memory per session stays bounded) into
//! `queue/incoming/ID` and fsync'd. The committer fsyncs `queue/incoming`,
//! commits the rows, and then renames the file into `blobs/XX/`. After a
//! crash, [`Store::recover`] finishes what was interrupted: files in
//! `incoming` whose rows were committed are moved into place, the others
//! (never acknowledged) are removed. So no body is lost and none leaks.

use crate::crypt::stream::Sealer;
use crate::crypt::AtRestKeys;
use crate::{Store, StoreError};
use rusqlite::Transaction;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncWriteExt, BufWriter};

/// Buffer between the session and the body file.
const WRITE_BUFFER: usize = 64 * 1024;

/// A body up to this size stays in memory until [`BlobWriter::finish`]:
/// the filter's read of the whole message ([`BlobWriter::contents`]) and its
/// rewrite with the added header fields ([`BlobWriter::rewrite`]) then touch
/// no file (issue 15: they were most of what the checks cost per message).
/// One encryption chunk, so an encrypted store still holds at most one chunk
/// of a body's plaintext per session in memory, and none on disk.
pub const HOLD: usize = crate::crypt::stream::CHUNK;

/// A body's id (also the queue id of the message that brought it).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BlobId(pub(crate) String);

impl BlobId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn from_db(s: String) -> BlobId {
        BlobId(s)
    }

    /// Parses an id given by a user (e.g. `queue show ID`): hex only, so it is a safe file name.
    pub fn parse(s: &str) -> Option<BlobId> {
        (s.len() >= 4 && s.len() <= 64 && s.bytes().all(|c| c.is_ascii_hexdigit()))
            .then(|| BlobId(s.to_ascii_lowercase()))
    }

    /// The shard directory: the last two hex digits (random, so shards fill evenly).
    fn shard(&self) -> &str {
        &self.0[self.0.len() - 2..]
    }

    /// The spool's subdirectory (spool.rs): the last hex digit.
    pub(crate) fn spool_dir(&self) -> &str {
        &self.0[self.0.len() - 1..]
    }
}

impl std::fmt::Display for BlobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A body being received. Dropping it without [`BlobWriter::finish`] deletes the file.
/// The file is created only when the body outgrows [`HOLD`], or at `finish`:
/// a held body is then created, written and fsync'd in one trip to the
/// blocking pool instead of five (issue 18: each APPEND made them).
/// In an encrypted store the bytes are sealed as they arrive (crypt/stream.rs):
/// at most one chunk of plaintext is held in memory, and none reaches the disk.
pub struct BlobWriter {
    id: BlobId,
    path: PathBuf,
    file: Option<BufWriter<tokio::fs::File>>,
    written: u64,
    keys: Option<Arc<AtRestKeys>>,
    sealer: Option<Sealer>,
    /// The body so far while it fits in [`HOLD`]; None once it went to the file.
    held: Option<Vec<u8>>,
}

impl BlobWriter {
    pub fn id(&self) -> &BlobId {
        &self.id
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        if let Some(held) = self.held.as_mut() {
            if held.len() + bytes.len() <= HOLD {
                held.extend_from_slice(bytes);
                self.written += bytes.len() as u64;
                return Ok(());
            }
            self.spill().await?;
        }
        self.write_through(bytes).await
    }

    /// Whether the body so far is still in memory (tests).
    pub fn is_held(&self) -> bool {
        self.held.is_some()
    }

    /// The held body goes to the file; from now on every write does.
    async fn spill(&mut self) -> Result<(), StoreError> {
        if let Some(held) = self.held.take() {
            self.open_file().await?;
            self.written -= held.len() as u64;
            self.write_through(&held).await?;
        }
        Ok(())
    }

    /// Creates the file in the spool (and starts sealing it).
    async fn open_file(&mut self) -> Result<(), StoreError> {
        let io = |e| StoreError::io(&self.path, e);
        let path = self.path.clone();
        let file = tokio::task::spawn_blocking(move || {
            in_dir(&path, |p| {
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(p)
            })
        })
        .await
        .map_err(|_| StoreError::Unavailable)?
        .map_err(io)?;
        let file = tokio::fs::File::from_std(file);
        self.file = Some(BufWriter::with_capacity(WRITE_BUFFER, file));
        self.start_sealing().await
    }

    async fn write_through(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        let file = self.file.as_mut().ok_or(StoreError::Unavailable)?;
        let io = |e| StoreError::io(&self.path, e);
        match self.sealer.as_mut() {
            None => file.write_all(bytes).await.map_err(io)?,
            Some(sealer) => {
                let mut sealed = Vec::new();
                sealer.update(bytes, &mut sealed).map_err(io)?;
                file.write_all(&sealed).await.map_err(io)?;
            }
        }
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// A new sealer for the file from its start, its header written; a
    /// rewrite takes a fresh nonce prefix, so no nonce is used twice.
    async fn start_sealing(&mut self) -> Result<(), StoreError> {
        let Some(keys) = self.keys.as_ref() else {
            return Ok(());
        };
        let sealer = Sealer::new(keys.blobs.expose());
        let file = self.file.as_mut().ok_or(StoreError::Unavailable)?;
        file.write_all(sealer.header())
            .await
            .map_err(|e| StoreError::io(&self.path, e))?;
        self.sealer = Some(sealer);
        Ok(())
    }

    /// Everything written so far, read back (flushed, not fsync'd): the
    /// filter reads the whole message once after the end of data.
    pub async fn contents(&mut self) -> Result<Vec<u8>, StoreError> {
        if let Some(held) = &self.held {
            return Ok(held.clone());
        }
        let file = self.file.as_mut().ok_or(StoreError::Unavailable)?;
        file.flush()
            .await
            .map_err(|e| StoreError::io(&self.path, e))?;
        let on_disk = tokio::fs::read(&self.path)
            .await
            .map_err(|e| StoreError::io(&self.path, e))?;
        match (&self.sealer, &self.keys) {
            (Some(sealer), Some(keys)) => {
                crate::crypt::convert::open_unfinished(keys, &on_disk, sealer.pending())
                    .map_err(|e| StoreError::io(&self.path, e))
            }
            _ => Ok(on_disk),
        }
    }

    /// Replaces everything written so far with `parts` one after the other,
    /// keeping the id (the filter's added and removed header fields).
    pub async fn rewrite(&mut self, parts: &[&[u8]]) -> Result<(), StoreError> {
        use tokio::io::AsyncSeekExt;
        if let Some(held) = self.held.as_mut() {
            // Nothing of the body is in the file (nor in the sealer) yet.
            held.clear();
            self.written = 0;
            for p in parts {
                self.write(p).await?;
            }
            return Ok(());
        }
        let file = self.file.as_mut().ok_or(StoreError::Unavailable)?;
        let io = |e| StoreError::io(&self.path, e);
        file.flush().await.map_err(io)?;
        file.get_mut().set_len(0).await.map_err(io)?;
        file.seek(std::io::SeekFrom::Start(0)).await.map_err(io)?;
        self.written = 0;
        self.start_sealing().await?;
        for p in parts {
            self.write(p).await?;
        }
        Ok(())
    }

    /// Flushes and fsyncs the body. Its directory is fsync'd by the committer.
    pub async fn finish(mut self) -> Result<FinishedBlob, StoreError> {
        if let Some(held) = self.held.take() {
            let (path, keys) = (self.path.clone(), self.keys.clone());
            tokio::task::spawn_blocking(move || write_whole(&path, keys.as_deref(), &held))
                .await
                .map_err(|_| StoreError::Unavailable)?
                .map_err(|e| StoreError::io(&self.path, e))?;
            return Ok(self.finished());
        }
        if let Some(sealer) = self.sealer.take() {
            let mut last = Vec::new();
            sealer
                .finish(&mut last)
                .map_err(|e| StoreError::io(&self.path, e))?;
            let file = self.file.as_mut().ok_or(StoreError::Unavailable)?;
            file.write_all(&last)
                .await
                .map_err(|e| StoreError::io(&self.path, e))?;
        }
        let mut file = self.file.take().ok_or(StoreError::Unavailable)?;
        file.flush()
            .await
            .map_err(|e| StoreError::io(&self.path, e))?;
        file.get_mut()
            .sync_all()
            .await
            .map_err(|e| StoreError::io(&self.path, e))?;
        Ok(self.finished())
    }

    /// Like [`BlobWriter::finish`], but a body still held in memory (at
    /// most [`HOLD`] octets) is kept in the database with its message row
    /// (inline.rs) instead of a file: no file, no fsync of its own. For
    /// bodies committed with [`Store::append_batch`] (IMAP APPEND).
    pub async fn finish_inline(mut self) -> Result<FinishedBlob, StoreError> {
        let Some(held) = self.held.take() else {
            return self.finish().await;
        };
        let mut blob = self.finished();
        blob.path = PathBuf::new();
        blob.inline = Some(held);
        Ok(blob)
    }

    /// The finished body; the writer no longer deletes the file.
    fn finished(&mut self) -> FinishedBlob {
        self.file = None;
        FinishedBlob {
            id: self.id.clone(),
            path: std::mem::take(&mut self.path),
            size: self.written,
            keys: self.keys.clone(),
            inline: None,
        }
    }
}

/// A held body's file created, written (sealed when `keys` are given) and
/// fsync'd in one go, on a blocking thread; removed again if any step fails.
pub(crate) fn write_whole(
    path: &Path,
    keys: Option<&AtRestKeys>,
    body: &[u8],
) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = in_dir(path, |p| {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(p)
    })?;
    let written = (|| {
        match keys {
            None => file.write_all(body)?,
            Some(keys) => {
                let mut sealer = Sealer::new(keys.blobs.expose());
                let mut out = sealer.header().to_vec();
                sealer.update(body, &mut out)?;
                sealer.finish(&mut out)?;
                file.write_all(&out)?;
            }
        }
        file.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(path);
    }
    written
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        // No file yet while the body is held (finish writes it whole).
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A body on disk, fsync'd, not yet referenced by any row. Dropping it deletes the file.
/// Or a body kept inline (inline.rs): its bytes, written with its row.
pub struct FinishedBlob {
    pub(crate) id: BlobId,
    /// Empty for an inline body.
    pub(crate) path: PathBuf,
    pub(crate) size: u64,
    keys: Option<Arc<AtRestKeys>>,
    inline: Option<Vec<u8>>,
}

impl std::fmt::Debug for FinishedBlob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the bytes of an inline body (a message).
        f.debug_struct("FinishedBlob")
            .field("id", &self.id)
            .field("path", &self.path)
            .field("size", &self.size)
            .field("inline", &self.inline.is_some())
            .finish()
    }
}

impl FinishedBlob {
    pub fn id(&self) -> &BlobId {
        &self.id
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The body read back as plaintext, encrypted or not (DKIM signing);
    /// blocking, so call it on a blocking thread.
    pub fn reader(&self) -> std::io::Result<Box<dyn std::io::Read + Send>> {
        if let Some(bytes) = &self.inline {
            return Ok(Box::new(std::io::Cursor::new(bytes.clone())));
        }
        let file = std::fs::File::open(&self.path)?;
        // Sealed exactly when it was written with keys (BlobWriter).
        let forms = match self.keys.as_deref() {
            Some(k) => crate::crypt::Forms::Sealed(k),
            None => crate::crypt::Forms::Plain,
        };
        Ok(Box::new(crate::crypt::BodyFile::new(file, forms)?))
    }

    /// The spool directory to fsync before the commit; None for an inline
    /// body, which has no file.
    pub(crate) fn dir(&self) -> Option<&Path> {
        match self.inline {
            Some(_) => None,
            None => Some(self.path.parent().unwrap_or(Path::new("."))),
        }
    }

    /// The bytes of a body kept inline (inline.rs).
    pub(crate) fn inline_bytes(&self) -> Option<&[u8]> {
        self.inline.as_deref()
    }

    /// Called once a commit references the file: moves it to its place in
    /// `blobs/`. A failure here is repaired by [`Store::recover`] at next start.
    /// An inline body is in its row already.
    pub(crate) fn keep(mut self, blobs: &Path) {
        let incoming = std::mem::take(&mut self.path);
        if self.inline.is_none() {
            let _ = place(&incoming, blobs, &self.id);
        }
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
    let ids = st
        .query_map([], |r| r.get::<_, String>(0))?
        .map(|r| r.map(BlobId))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ids)
}

/// The one blob `id` if nothing references it any more (its row deleted in
/// `tx`, its file after commit) — without scanning the whole table.
pub(crate) fn take_if_dead(tx: &Transaction<'_>, id: &str) -> Result<Vec<BlobId>, StoreError> {
    let mut st = tx.prepare_cached("DELETE FROM blobs WHERE id = ?1 AND refs <= 0 RETURNING id")?;
    let ids = st
        .query_map([id], |r| r.get::<_, String>(0))?
        .map(|r| r.map(BlobId))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ids)
}

/// Moves a committed body from `incoming` to `blobs/XX/ID`.
pub(crate) fn place(incoming: &Path, blobs: &Path, id: &BlobId) -> std::io::Result<()> {
    let to = blobs.join(id.shard()).join(id.as_str());
    in_dir(&to, |to| std::fs::rename(incoming, to))
}

/// `make(path)`, and once more after creating `path`'s directory if that
/// was missing: directories exist but for a store's first bodies, so this
/// spares two system calls per body over `create_dir_all` every time.
fn in_dir<T>(path: &Path, make: impl Fn(&Path) -> std::io::Result<T>) -> std::io::Result<T> {
    match make(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
            make(path)
        }
        done => done,
    }
}

impl Store {
    fn incoming_dir(&self) -> PathBuf {
        self.root().join("queue").join("incoming")
    }

    /// Starts a new body file.
    pub async fn create_blob(&self) -> Result<BlobWriter, StoreError> {
        let id = BlobId(crate::ids::new_id());
        let path = crate::spool::path(&self.incoming_dir(), &id);
        Ok(BlobWriter {
            id,
            path,
            file: None,
            written: 0,
            keys: self.blob_key_arc(),
            sealer: None,
            held: Some(Vec::new()),
        })
    }

    /// Where a body lives on disk. Inside the store only: everyone else
    /// opens bodies by id ([`crate::MailStore::open_body`]).
    pub(crate) fn blob_path(&self, id: &BlobId) -> PathBuf {
        self.root().join("blobs").join(id.shard()).join(id.as_str())
    }

    /// Finishes what a crash interrupted (see the module docs). Call before
    /// serving, while no session writes bodies. Returns (placed, removed).
    pub fn recover(&self) -> Result<(usize, usize), StoreError> {
        let (mut placed, mut removed) = (0, 0);
        let blobs = self.root().join("blobs");
        for path in crate::spool::files(&self.incoming_dir())? {
            let Some(id) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(BlobId::parse)
            else {
                continue;
            };
            let committed: i64 = self.conn().query_row(
                "SELECT COUNT(*) FROM blobs WHERE id = ?1",
                [id.as_str()],
                |r| r.get(0),
            )?;
            if committed > 0 {
                place(&path, &blobs, &id).map_err(|e| StoreError::io(&path, e))?;
                placed += 1;
            } else {
                std::fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
                removed += 1;
            }
        }
        // Bodies a previous run kept inline still get their files (spill.rs).
        let inline: i64 =
            self.conn()
                .query_row("SELECT EXISTS (SELECT 1 FROM inline_bodies)", [], |r| {
                    r.get(0)
                })?;
        if inline != 0 {
            self.start_spiller();
        }
        Ok((placed, removed))
    }

    pub(crate) fn remove_blob_files(&self, ids: &[BlobId]) {
        for id in ids {
            let _ = std::fs::remove_file(self.blob_path(id));
        }
    }
}

/// Fsyncs a directory so a new file's entry in it is durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(dir, e))
}

#[cfg(test)]
#[path = "blob_hold_tests.rs"]
mod hold_tests;
