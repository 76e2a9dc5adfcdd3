//! `postern import ADDR (--maildir DIR | --mbox FILE) [--folder F]`: mail
//! from another server appended through the store's own API, so it is
//! stored, counted and searched exactly as delivered mail is. Flags and
//! dates are kept (flags.rs); bodies are streamed line by line, stored with
//! CRLF line ends, and committed in batches of [`BATCH`].

pub mod flags;
pub mod maildir;
pub mod mbox;
pub mod uidlist;

use crate::append::Upload;
use crate::{BlobWriter, MailboxId, Store, StoreError, UserId};
use std::io::BufRead;
use std::path::Path;

/// Messages committed together (one fsync for the batch).
pub const BATCH: usize = 200;
/// A line longer than this is cut into pieces of this size (RFC 5322 §2.1.1
/// allows 998 octets; this only bounds memory against a file without newlines).
pub const MAX_LINE: usize = 1 << 20;
/// How often (in messages) progress is reported.
pub const PROGRESS_EVERY: usize = 1000;

/// What an import did.
#[derive(Debug, Default)]
pub struct Imported {
    /// (folder, messages), in order.
    pub folders: Vec<(String, usize)>,
    pub messages: usize,
    /// mbox: line numbers of "From " lines kept as text (no separator).
    pub malformed: Vec<u64>,
}

/// Messages waiting for their batch's commit.
struct Batch<'a> {
    store: &'a Store,
    mailbox: MailboxId,
    pending: Vec<Upload>,
    count: usize,
}

impl<'a> Batch<'a> {
    fn new(store: &'a Store, mailbox: MailboxId) -> Self {
        Batch {
            store,
            mailbox,
            pending: Vec::new(),
            count: 0,
        }
    }

    async fn add(
        &mut self,
        w: BlobWriter,
        flags: Vec<String>,
        date: i64,
    ) -> Result<(), StoreError> {
        let body = w.finish().await?;
        self.pending.push(Upload {
            body,
            flags,
            internal_date: date,
        });
        self.count += 1;
        if self.pending.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        if !self.pending.is_empty() {
            self.store
                .append_all(self.mailbox, std::mem::take(&mut self.pending))?;
        }
        Ok(())
    }
}

/// A body written in [`CHUNK`]-sized pieces rather than a line at a time.
pub struct Chunked {
    w: BlobWriter,
    buf: Vec<u8>,
}

/// What [`Chunked`] gathers before a write.
pub const CHUNK: usize = 64 * 1024;

impl Chunked {
    pub fn new(w: BlobWriter) -> Chunked {
        Chunked {
            w,
            buf: Vec::with_capacity(CHUNK),
        }
    }

    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHUNK {
            self.w.write(&self.buf).await?;
            self.buf.clear();
        }
        Ok(())
    }

    /// The writer, everything written.
    pub async fn done(mut self) -> Result<BlobWriter, StoreError> {
        self.w.write(&self.buf).await?;
        Ok(self.w)
    }
}

/// The folder `name` of `user`, created when missing.
pub fn folder(store: &Store, user: UserId, name: &str) -> Result<MailboxId, StoreError> {
    match store.mailbox(user, name)? {
        Some(m) => Ok(m),
        None => store.create_folder(user, name),
    }
}

/// Reads one line (at most [`MAX_LINE`] octets) into `buf`; false at the end.
pub fn read_line(r: &mut impl BufRead, buf: &mut Vec<u8>, path: &Path) -> Result<bool, StoreError> {
    buf.clear();
    let n = std::io::Read::take(&mut *r, MAX_LINE as u64)
        .read_until(b'\n', buf)
        .map_err(|e| StoreError::io(path, e))?;
    Ok(n > 0)
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Imports the mbox `r` (read from `path`) into `folder_name`.
pub async fn import_mbox(
    store: &Store,
    user: UserId,
    folder_name: &str,
    mut r: impl BufRead,
    path: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Imported, StoreError> {
    let mut batch = Batch::new(store, folder(store, user, folder_name)?);
    let mut split = mbox::Splitter::default();
    let (mut line, mut out) = (Vec::new(), Vec::new());
    let mut current: Option<(Chunked, i64)> = None;
    loop {
        let more = read_line(&mut r, &mut line, path)?;
        match more {
            true => split.line(&line, &mut out),
            false => split.finish(&mut out),
        }
        for o in out.drain(..) {
            match o {
                mbox::Out::Begin { date } => {
                    if let Some((w, d)) = current.take() {
                        batch.add(w.done().await?, split.ended_flags(), d).await?;
                        if batch.count.is_multiple_of(PROGRESS_EVERY) {
                            progress(&format!("{folder_name}: {} messages", batch.count));
                        }
                    }
                    let w = Chunked::new(store.create_blob().await?);
                    current = Some((w, date.unwrap_or_else(now)));
                }
                mbox::Out::Bytes(b) => {
                    if let Some((w, _)) = current.as_mut() {
                        w.write(&b).await?;
                    }
                }
            }
        }
        if !more {
            break;
        }
    }
    if let Some((w, d)) = current.take() {
        batch.add(w.done().await?, split.flags(), d).await?;
    }
    batch.flush()?;
    Ok(Imported {
        folders: vec![(folder_name.to_string(), batch.count)],
        messages: batch.count,
        malformed: split.malformed,
    })
}
