//! [`MailStore`] for the SQLite backend: each call runs the synchronous
//! method of the same name on tokio's blocking pool, so no SQLite call and
//! no blocking file read happens on the runtime's threads. The reader pool
//! (readers.rs) and the group commits work as before underneath.

use crate::api::{AppendResult, Body, BodyFiles, MailStore, ScanJob, StoreFuture};
use crate::append::Upload;
use crate::crypt::{AsyncBodyFile, BodyFile};
use crate::mailbox::MessageInfo;
use crate::{
    BlobId, BlobWriter, Change, Changes, Committed, Copied, Delivery, FlagOp, FlagUpdate, Folder,
    InboxRenamed, MailboxId, SpamTraining, Store, StoreError, UserId,
};
use std::io::ErrorKind;
use std::path::PathBuf;
use tokio::sync::broadcast;

impl Store {
    /// Runs `f` on the blocking pool; a panic there is `Unavailable`.
    pub(crate) fn blocking<'a, T, F>(&self, f: F) -> StoreFuture<'a, T>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || f(&store))
                .await
                .map_err(|_| StoreError::Unavailable)?
        })
    }

    /// Runs the bounded read or relaxed write `f` here, on the calling
    /// thread, when a connection is free at once (quick.rs); else on the
    /// blocking pool.
    pub(crate) fn quick_call<'a, T, F>(&self, f: F) -> StoreFuture<'a, T>
    where
        T: Send + 'static,
        F: Fn(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.clone();
        Box::pin(async move {
            match crate::quick::attempt(|| f(&store)) {
                Err(StoreError::WouldWait) => store.blocking(f).await,
                done => done,
            }
        })
    }

    /// Opens a committed body's file: from `blobs/`, or from
    /// `queue/incoming/` in the instant between a commit and the move into
    /// place (blob.rs). Encrypted or not, it reads as plaintext
    /// (crypt/body_file.rs). In quick mode, also the file's bytes as the
    /// page-cache check read them (quick.rs `cached`), stored form.
    #[allow(clippy::type_complexity)]
    fn open_blob_file(
        &self,
        id: &BlobId,
    ) -> Result<Option<(BodyFile, PathBuf, Option<Vec<u8>>)>, StoreError> {
        let placed = self.blob_path(id);
        // Expunged, its unlink waiting for the fsync (lazy_sync.rs): gone.
        if self.inner.lazy.get().is_some_and(|l| l.doomed(&placed)) {
            return Ok(None);
        }
        let spool = self.root().join("queue").join("incoming");
        let [incoming, legacy] = crate::spool::paths(&spool, id);
        for path in [placed, incoming, legacy] {
            match std::fs::File::open(&path) {
                Ok(f) => {
                    // A quick read (quick.rs) reads only a file the page cache holds.
                    let bytes = crate::quick::cached(&f)?;
                    let body = BodyFile::new(f, self.body_forms())
                        .map_err(|e| StoreError::io(&path, e))?;
                    return Ok(Some((body, path, bytes)));
                }
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(StoreError::io(&path, e)),
            }
        }
        Ok(None)
    }
}

/// A body found: its file (with, in quick mode, the bytes the page-cache
/// check read), or its bytes kept in the database (inline.rs).
enum Found {
    File(BodyFile, PathBuf, Option<Vec<u8>>),
    Inline(Vec<u8>),
}

impl Store {
    /// Looks for body `id` as a file, then in the database, then as a file
    /// again: a spill (spill.rs) places the file before it deletes the
    /// row, so a body moving meanwhile is seen by one of the three looks.
    fn find_body(&self, id: &BlobId) -> Result<Option<Found>, StoreError> {
        if let Some((file, path, bytes)) = self.open_blob_file(id)? {
            return Ok(Some(Found::File(file, path, bytes)));
        }
        if let Some(bytes) = crate::inline::read(&*self.reader()?, id.as_str())? {
            return Ok(Some(Found::Inline(bytes)));
        }
        Ok(self
            .open_blob_file(id)?
            .map(|(file, path, bytes)| Found::File(file, path, bytes)))
    }
}

impl BodyFiles for Store {
    fn read(&self, id: &BlobId) -> Result<Option<Vec<u8>>, StoreError> {
        let (mut file, path) = match self.find_body(id)? {
            None => return Ok(None),
            Some(Found::Inline(bytes)) => return Ok(Some(bytes)),
            // A plaintext body the quick check read already: not read twice.
            Some(Found::File(BodyFile::Plain(_), _, Some(bytes))) => return Ok(Some(bytes)),
            Some(Found::File(file, path, _)) => (file, path),
        };
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut buf).map_err(|e| StoreError::io(&path, e))?;
        Ok(Some(buf))
    }

    fn open(&self, id: &BlobId) -> Result<Option<Box<dyn std::io::Read + Send>>, StoreError> {
        Ok(self.find_body(id)?.map(|found| match found {
            Found::File(file, ..) => Box::new(file) as Box<dyn std::io::Read + Send>,
            Found::Inline(bytes) => Box::new(std::io::Cursor::new(bytes)),
        }))
    }
}

/// A body [`MailStore::open_body`] found: a file and its length, or bytes
/// kept inline.
enum Opened {
    File(BodyFile, u64),
    Inline(Vec<u8>),
}

fn owned(uids: &[u32]) -> Vec<u32> {
    uids.to_vec()
}

impl MailStore for Store {
    fn open_body<'a>(&'a self, id: &'a BlobId) -> StoreFuture<'a, Option<Body>> {
        let id = id.clone();
        let opened = self.blocking(move |s| {
            Ok(match s.find_body(&id)? {
                None => None,
                Some(Found::Inline(bytes)) => Some(Opened::Inline(bytes)),
                Some(Found::File(file, path, _)) => {
                    let len = file.len().map_err(|e| StoreError::io(&path, e))?;
                    Some(Opened::File(file, len))
                }
            })
        });
        Box::pin(async move {
            Ok(opened.await?.map(|opened| match opened {
                Opened::File(BodyFile::Plain(f), len) => {
                    Body::new(Box::new(tokio::fs::File::from_std(f)), len)
                }
                Opened::File(encrypted, len) => {
                    Body::new(Box::new(AsyncBodyFile::new(encrypted, len)), len)
                }
                Opened::Inline(bytes) => {
                    let len = bytes.len() as u64;
                    Body::new(Box::new(std::io::Cursor::new(bytes)), len)
                }
            }))
        })
    }

    fn read_body<'a>(&'a self, id: &'a BlobId) -> StoreFuture<'a, Option<Vec<u8>>> {
        let id = id.clone();
        self.quick_call(move |s| BodyFiles::read(s, &id))
    }

    fn scan(&self, job: ScanJob) -> StoreFuture<'_, ()> {
        self.blocking(move |s| {
            job(s);
            Ok(())
        })
    }

    fn create_blob(&self) -> StoreFuture<'_, BlobWriter> {
        Box::pin(Store::create_blob(self))
    }

    /// The group committer (commit.rs) already keeps its fsyncs and SQLite
    /// work off the runtime's threads.
    fn commit(&self, delivery: Delivery) -> StoreFuture<'_, Committed> {
        Box::pin(Store::commit(self, delivery))
    }

    fn commit_archived(
        &self,
        delivery: Delivery,
        archive: Option<crate::archive::ArchiveEnvelope>,
    ) -> StoreFuture<'_, Committed> {
        Box::pin(Store::commit_archived(self, delivery, archive))
    }

    fn append_batch(
        &self,
        commands: Vec<(MailboxId, Vec<Upload>)>,
    ) -> StoreFuture<'_, Vec<AppendResult>> {
        self.blocking(move |s| Store::append_batch(s, commands))
    }

    fn mailbox<'a>(&'a self, user: UserId, name: &'a str) -> StoreFuture<'a, Option<MailboxId>> {
        let name = name.to_string();
        self.quick_call(move |s| Store::mailbox(s, user, &name))
    }

    fn mailbox_state(&self, mailbox: MailboxId) -> StoreFuture<'_, (u32, u32, u64)> {
        self.quick_call(move |s| Store::mailbox_state(s, mailbox))
    }

    fn messages(&self, mailbox: MailboxId) -> StoreFuture<'_, Vec<MessageInfo>> {
        self.quick_call(move |s| Store::messages(s, mailbox))
    }

    fn mailbox_counts(&self, mailbox: MailboxId) -> StoreFuture<'_, crate::MailboxCounts> {
        self.quick_call(move |s| Store::mailbox_counts(s, mailbox))
    }

    fn snapshot(&self, mailbox: MailboxId) -> StoreFuture<'_, (Vec<MessageInfo>, u64)> {
        self.quick_call(move |s| Store::snapshot(s, mailbox))
    }

    fn changes_since(&self, mailbox: MailboxId, modseq: u64) -> StoreFuture<'_, Changes> {
        self.quick_call(move |s| Store::changes_since(s, mailbox, modseq))
    }

    fn usage(&self, user: UserId) -> StoreFuture<'_, (u64, u64)> {
        self.quick_call(move |s| Store::usage(s, user))
    }

    fn subscribe(&self) -> broadcast::Receiver<Change> {
        Store::subscribe(self)
    }

    fn folders(&self, user: UserId) -> StoreFuture<'_, Vec<Folder>> {
        self.quick_call(move |s| Store::folders(s, user))
    }

    fn create_folder<'a>(&'a self, user: UserId, name: &'a str) -> StoreFuture<'a, MailboxId> {
        let name = name.to_string();
        self.blocking(move |s| Store::create_folder(s, user, &name))
    }

    fn delete_folder<'a>(&'a self, user: UserId, name: &'a str) -> StoreFuture<'a, ()> {
        let name = name.to_string();
        self.blocking(move |s| Store::delete_folder(s, user, &name))
    }

    fn rename_folder<'a>(
        &'a self,
        user: UserId,
        from: &'a str,
        to: &'a str,
    ) -> StoreFuture<'a, ()> {
        let (from, to) = (from.to_string(), to.to_string());
        self.blocking(move |s| Store::rename_folder(s, user, &from, &to))
    }

    fn rename_inbox<'a>(&'a self, user: UserId, to: &'a str) -> StoreFuture<'a, InboxRenamed> {
        let to = to.to_string();
        self.blocking(move |s| Store::rename_inbox(s, user, &to))
    }

    fn subscriptions(&self, user: UserId) -> StoreFuture<'_, Vec<String>> {
        self.quick_call(move |s| Store::subscriptions(s, user))
    }

    fn set_subscribed<'a>(&'a self, user: UserId, name: &'a str, on: bool) -> StoreFuture<'a, ()> {
        let name = name.to_string();
        self.blocking(move |s| Store::set_subscribed(s, user, &name, on))
    }

    fn store_flags<'a>(
        &'a self,
        mailbox: MailboxId,
        uids: &'a [u32],
        op: FlagOp,
        given: &'a [String],
        unchanged_since: Option<u64>,
    ) -> StoreFuture<'a, (Vec<FlagUpdate>, Vec<u32>)> {
        let (uids, given) = (owned(uids), given.to_vec());
        self.quick_call(move |s| Store::store_flags(s, mailbox, &uids, op, &given, unchanged_since))
    }

    fn copy<'a>(
        &'a self,
        src: MailboxId,
        dst: MailboxId,
        uids: &'a [u32],
    ) -> StoreFuture<'a, Copied> {
        let uids = owned(uids);
        self.blocking(move |s| Store::copy(s, src, dst, &uids))
    }

    fn move_messages<'a>(
        &'a self,
        src: MailboxId,
        dst: MailboxId,
        uids: &'a [u32],
    ) -> StoreFuture<'a, Copied> {
        let uids = owned(uids);
        self.blocking(move |s| Store::move_messages(s, src, dst, &uids))
    }

    fn expunge<'a>(&'a self, mailbox: MailboxId, uids: &'a [u32]) -> StoreFuture<'a, Vec<u32>> {
        let uids = owned(uids);
        self.quick_call(move |s| Store::expunge(s, mailbox, &uids))
    }

    fn recent_from(&self, mailbox: MailboxId) -> StoreFuture<'_, u32> {
        self.quick_call(move |s| Store::recent_from(s, mailbox))
    }

    fn claim_recent(&self, mailbox: MailboxId, upto: u32) -> StoreFuture<'_, u32> {
        self.quick_call(move |s| Store::claim_recent(s, mailbox, upto))
    }

    fn recent_count(&self, mailbox: MailboxId) -> StoreFuture<'_, u32> {
        self.quick_call(move |s| Store::recent_count(s, mailbox))
    }

    fn spam_train(&self, training: SpamTraining) -> StoreFuture<'_, ()> {
        self.blocking(move |s| Store::spam_train(s, &training))
    }
}

#[cfg(test)]
mod tests {
    use crate::{MailStore, Store};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    /// How long another thread holds the database in the test below.
    const HELD: Duration = Duration::from_millis(400);

    /// A call that must wait for the database waits on the blocking pool:
    /// the runtime's one thread goes on running the other tasks meanwhile.
    #[tokio::test(flavor = "current_thread")]
    async fn a_waiting_call_leaves_the_runtime_free() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let user = crate::tests::add_user(&store, "alice@example.org", 0);
        let (taken, is_taken) = std::sync::mpsc::channel();
        let holder = store.clone();
        let thread = std::thread::spawn(move || {
            let _conn = holder.conn();
            taken.send(()).unwrap();
            std::thread::sleep(HELD);
        });
        is_taken.recv().unwrap();
        let ticks = Arc::new(AtomicU32::new(0));
        let counter = ticks.clone();
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        let mail: &dyn MailStore = &store;
        mail.create_folder(user, "Later").await.unwrap();
        let n = ticks.load(Ordering::SeqCst);
        ticker.abort();
        thread.join().unwrap();
        assert!(n >= 10, "the runtime stalled: {n} ticks in {HELD:?}");
    }
}
