//! Group commit for APPEND, shared by all sessions. Each message body is
//! fsync'd by its own session; what remains — the spool directory's fsync
//! and the transaction's — is done once for every APPEND waiting
//! ([`postern_store::MailStore::append_batch`]). A session queues its command
//! and either finds it committed by the one before, or commits the queue
//! itself: under load, one pair of fsyncs covers many APPENDs, and alone an
//! APPEND costs what it did.

use postern_store::append::Upload;
use postern_store::{MailStore, MailboxId, StoreError};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

type Answer = Result<(u32, Vec<u32>), StoreError>;

struct Job {
    mailbox: MailboxId,
    uploads: Vec<Upload>,
    reply: oneshot::Sender<Answer>,
}

/// The queue of APPENDs waiting to be committed.
#[derive(Default)]
pub struct Appends {
    queue: Mutex<Vec<Job>>,
    /// Held by the session committing a batch.
    leader: tokio::sync::Mutex<()>,
}

impl Appends {
    /// Commits one APPEND command's messages (all or none); its UIDVALIDITY and UIDs.
    pub async fn commit(
        &self,
        store: &Arc<dyn MailStore>,
        mailbox: MailboxId,
        uploads: Vec<Upload>,
    ) -> Answer {
        let (reply, mut answer) = oneshot::channel();
        self.lock().push(Job {
            mailbox,
            uploads,
            reply,
        });
        loop {
            tokio::select! {
                biased;
                r = &mut answer => return r.unwrap_or(Err(StoreError::Unavailable)),
                _guard = self.leader.lock() => {
                    let batch = std::mem::take(&mut *self.lock());
                    if batch.is_empty() {
                        // Ours went with the batch before: its answer is there.
                        continue;
                    }
                    let store = store.clone();
                    // The answers are sent from a task of its own, so they
                    // arrive even if this session is dropped meanwhile.
                    let _ = tokio::spawn(commit_batch(store, batch)).await;
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Job>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn commit_batch(store: Arc<dyn MailStore>, batch: Vec<Job>) {
    let (commands, replies): (Vec<_>, Vec<_>) = batch
        .into_iter()
        .map(|j| ((j.mailbox, j.uploads), j.reply))
        .unzip();
    match store.append_batch(commands).await {
        Ok(results) => {
            for (reply, r) in replies.into_iter().zip(results) {
                let _ = reply.send(r);
            }
        }
        Err(e) => {
            for reply in replies {
                let _ = reply.send(Err(StoreError::Commit(e.to_string())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_directory::prelude::*;
    use postern_store::{Secret, Store};

    async fn upload(store: &Store, text: &str) -> Upload {
        let mut w = store.create_blob().await.unwrap();
        w.write(text.as_bytes()).await.unwrap();
        Upload {
            body: w.finish().await.unwrap(),
            flags: vec![],
            internal_date: 1,
        }
    }

    /// Concurrent APPENDs are committed together, each on its own: one that
    /// fails (its folder is gone) leaves the others kept, with distinct UIDs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_appends_commit_together_and_apart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.domain_add("example.org").unwrap();
        let pw = Secret::new("Pass-Word-Long-1".to_string());
        let a = store.user_add("alice@example.org", &pw, "", 0).unwrap();
        let inbox = store.mailbox(a, "INBOX").unwrap().unwrap();
        let appends = Arc::new(Appends::default());
        let mail: Arc<dyn MailStore> = Arc::new(store.clone());
        let mut all = Vec::new();
        for i in 0..12 {
            let (mail, appends) = (mail.clone(), appends.clone());
            let target = if i == 5 { MailboxId(9999) } else { inbox };
            let u = upload(&store, &format!("Subject: {i}\r\n\r\nx\r\n")).await;
            all.push(tokio::spawn(async move {
                appends.commit(&mail, target, vec![u]).await
            }));
        }
        let mut uids = Vec::new();
        for (i, h) in all.into_iter().enumerate() {
            match h.await.unwrap() {
                Ok((_, u)) => uids.extend(u),
                Err(e) => assert_eq!(i, 5, "{e}"),
            }
        }
        uids.sort();
        assert_eq!(uids, (1..=11).collect::<Vec<u32>>());
        assert_eq!(store.messages(inbox).unwrap().len(), 11);
    }
}
