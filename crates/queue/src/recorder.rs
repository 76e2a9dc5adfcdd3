//! Group commit of delivery results. Every run waits until its message's
//! result is durable before it goes on (else a crash could send it again),
//! and each commit costs an fsync under the store's one connection. So the
//! results that arrive while a commit is running wait for the next one,
//! which takes them all in one transaction (up to [`MAX_BATCH`]): as many
//! fsyncs as before when runs come one at a time, far fewer when 40 runs
//! finish messages at once. A failed commit fails every result in it, as
//! a failed commit of each alone would have (they stay queued).

use postern_store::{QueueReport, QueueStore};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Results committed in one transaction at most.
pub const MAX_BATCH: usize = 64;

const GONE: &str = "the result recorder stopped";

type Committing = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
type Commit = Arc<dyn Fn(Vec<QueueReport>) -> Committing + Send + Sync>;

struct Waiting {
    report: QueueReport,
    done: oneshot::Sender<Result<(), String>>,
}

/// Hands results to the committing task; cheap to clone.
#[derive(Clone)]
pub struct Recorder(mpsc::UnboundedSender<Waiting>);

impl Recorder {
    /// Commits into `store` (`QueueStore::queue_record`).
    pub fn new(store: Arc<dyn QueueStore>) -> Recorder {
        Recorder::with(Arc::new(move |reports| {
            let store = store.clone();
            Box::pin(async move {
                store
                    .queue_record(reports)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
        }))
    }

    fn with(commit: Commit) -> Recorder {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(committer(commit, rx));
        Recorder(tx)
    }

    /// Returns once `report` is committed, or why it could not be.
    pub async fn record(&self, report: QueueReport) -> Result<(), String> {
        self.submit(report).await.map_err(|_| GONE.to_string())?
    }

    /// Queues `report` for the next commit; the receiver gets its result.
    fn submit(&self, report: QueueReport) -> oneshot::Receiver<Result<(), String>> {
        let (done, wait) = oneshot::channel();
        // A stopped committer drops `done`, and the receiver says so.
        let _ = self.0.send(Waiting { report, done });
        wait
    }
}

async fn committer(commit: Commit, mut rx: mpsc::UnboundedReceiver<Waiting>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        let (reports, dones): (Vec<_>, Vec<_>) =
            batch.into_iter().map(|w| (w.report, w.done)).unzip();
        let result = commit(reports).await;
        for done in dones {
            let _ = done.send(result.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn report(i: usize) -> QueueReport {
        QueueReport {
            queue_id: format!("q{i}"),
            updates: vec![],
            notice: None,
            archive: None,
        }
    }

    /// A commit that records batch sizes and holds the first one until told.
    fn slow_commit(
        sizes: Arc<Mutex<Vec<usize>>>,
        gate: Arc<std::sync::Barrier>,
        fail: bool,
    ) -> Commit {
        Arc::new(move |reports: Vec<QueueReport>| {
            let (sizes, gate) = (sizes.clone(), gate.clone());
            // Held at the gate as a blocking commit would be, off the runtime.
            Box::pin(async move {
                let held = tokio::task::spawn_blocking(move || {
                    let first = sizes.lock().unwrap().is_empty();
                    sizes.lock().unwrap().push(reports.len());
                    if first {
                        gate.wait();
                    }
                });
                held.await.unwrap();
                match fail {
                    true => Err("disk full".into()),
                    false => Ok(()),
                }
            })
        })
    }

    async fn results(waits: Vec<oneshot::Receiver<Result<(), String>>>) -> Vec<Result<(), String>> {
        let mut out = vec![];
        for w in waits {
            out.push(w.await.unwrap());
        }
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn results_waiting_for_a_commit_share_the_next_one() {
        let sizes = Arc::new(Mutex::new(vec![]));
        let gate = Arc::new(std::sync::Barrier::new(2));
        let rec = Recorder::with(slow_commit(sizes.clone(), gate.clone(), false));
        let first = tokio::spawn({
            let rec = rec.clone();
            async move { rec.record(report(0)).await }
        });
        // The first commit is running (held at the gate) once its size is in.
        while sizes.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        // These queue up behind the running commit.
        let others = (1..=MAX_BATCH + 6).map(|i| rec.submit(report(i))).collect();
        gate.wait();
        assert_eq!(first.await.unwrap(), Ok(()));
        assert!(results(others).await.iter().all(Result::is_ok));
        assert_eq!(
            *sizes.lock().unwrap(),
            [1, MAX_BATCH, 6],
            "at most MAX_BATCH per commit"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_commit_fails_each_result_in_it() {
        let sizes = Arc::new(Mutex::new(vec![]));
        let gate = Arc::new(std::sync::Barrier::new(1));
        let rec = Recorder::with(slow_commit(sizes, gate, true));
        let waits = (1..=3).map(|i| rec.submit(report(i))).collect();
        assert_eq!(results(waits).await, vec![Err("disk full".to_string()); 3]);
        assert_eq!(rec.record(report(4)).await, Err("disk full".to_string()));
    }
}
