//! The delivery runs in progress: which recipients and domains they hold (so
//! the scheduler starts nothing twice and keeps the per-domain limit), and, at
//! shutdown, waiting for them to finish until a deadline.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::Instant;

/// A run the scheduler started and has not yet seen finish.
struct Run {
    domain: String,
    recipients: Vec<i64>,
    abort: AbortHandle,
}

/// A run still going when the shutdown deadline came: it was stopped, and what
/// it had not recorded is tried again after restart.
#[derive(Debug, PartialEq, Eq)]
pub struct Abandoned {
    pub domain: String,
    pub recipients: usize,
}

#[derive(Default)]
pub struct InFlight {
    live: HashMap<u64, Run>,
    recipients: HashSet<i64>,
    per_domain: HashMap<String, u32>,
    next: u64,
    /// Which domain goes first at the next dispatch (rotates, so no domain waits behind others).
    pub turn: usize,
}

impl InFlight {
    pub fn runs(&self) -> u32 {
        self.live.len() as u32
    }

    pub fn holds(&self, recipient: i64) -> bool {
        self.recipients.contains(&recipient)
    }

    pub fn running(&self, domain: &str) -> u32 {
        self.per_domain.get(domain).copied().unwrap_or(0)
    }

    /// Spawns `run` for `domain`; its id goes to `done` when it ends.
    pub fn spawn(
        &mut self,
        domain: &str,
        recipients: Vec<i64>,
        done: mpsc::UnboundedSender<u64>,
        run: impl Future<Output = ()> + Send + 'static,
    ) {
        let id = self.next;
        self.next += 1;
        let task = tokio::spawn(async move {
            run.await;
            let _ = done.send(id);
        });
        *self.per_domain.entry(domain.to_string()).or_default() += 1;
        self.recipients.extend(recipients.iter().copied());
        self.live.insert(
            id,
            Run {
                domain: domain.to_string(),
                recipients,
                abort: task.abort_handle(),
            },
        );
    }

    pub fn finish(&mut self, id: u64) {
        let Some(run) = self.live.remove(&id) else {
            return;
        };
        if let Some(n) = self.per_domain.get_mut(&run.domain) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_domain.remove(&run.domain);
            }
        }
        for r in run.recipients {
            self.recipients.remove(&r);
        }
    }

    /// Waits for every run to finish, or for `deadline`; the runs still going
    /// then are aborted and returned.
    pub async fn drain(
        &mut self,
        done: &mut mpsc::UnboundedReceiver<u64>,
        deadline: Instant,
    ) -> Vec<Abandoned> {
        while !self.live.is_empty() {
            match tokio::time::timeout_at(deadline, done.recv()).await {
                Ok(Some(id)) => self.finish(id),
                Ok(None) | Err(_) => break,
            }
        }
        let mut left: Vec<Abandoned> = self
            .live
            .drain()
            .map(|(_, run)| {
                run.abort.abort();
                Abandoned {
                    domain: run.domain,
                    recipients: run.recipients.len(),
                }
            })
            .collect();
        left.sort_by(|a, b| a.domain.cmp(&b.domain));
        self.recipients.clear();
        self.per_domain.clear();
        left
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    async fn sleeper(secs: u64, finished: Arc<AtomicBool>) {
        tokio::time::sleep(Duration::from_secs(secs)).await;
        finished.store(true, Ordering::SeqCst);
    }

    #[tokio::test(start_paused = true)]
    async fn drain_waits_for_runs_that_finish_in_time() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut busy = InFlight::default();
        let done = Arc::new(AtomicBool::new(false));
        busy.spawn(
            "a.example",
            vec![1, 2],
            tx.clone(),
            sleeper(2, done.clone()),
        );
        assert_eq!((busy.runs(), busy.running("a.example")), (1, 1));
        assert!(busy.holds(2));
        let start = Instant::now();
        let left = busy.drain(&mut rx, start + Duration::from_secs(10)).await;
        assert!(left.is_empty());
        assert!(done.load(Ordering::SeqCst), "the run finished its work");
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(2),
            "no waiting past the last run"
        );
        assert_eq!(busy.runs(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn drain_abandons_runs_at_the_deadline() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut busy = InFlight::default();
        let quick = Arc::new(AtomicBool::new(false));
        let slow = Arc::new(AtomicBool::new(false));
        busy.spawn(
            "quick.example",
            vec![1],
            tx.clone(),
            sleeper(2, quick.clone()),
        );
        busy.spawn(
            "slow.example",
            vec![2, 3, 4],
            tx.clone(),
            sleeper(30, slow.clone()),
        );
        let start = Instant::now();
        let left = busy.drain(&mut rx, start + Duration::from_secs(10)).await;
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(10),
            "one deadline, no more"
        );
        assert_eq!(
            left,
            [Abandoned {
                domain: "slow.example".into(),
                recipients: 3
            }]
        );
        assert!(quick.load(Ordering::SeqCst));
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(
            !slow.load(Ordering::SeqCst),
            "the abandoned run was stopped"
        );
        assert!(!busy.holds(2) && busy.runs() == 0);
    }

    #[tokio::test(start_paused = true)]
    async fn drain_with_nothing_in_flight_returns_at_once() {
        let (_tx, mut rx) = mpsc::unbounded_channel::<u64>();
        let mut busy = InFlight::default();
        let start = Instant::now();
        assert!(busy
            .drain(&mut rx, start + Duration::from_secs(10))
            .await
            .is_empty());
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}
