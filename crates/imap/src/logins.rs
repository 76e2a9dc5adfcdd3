//! Password checks on a few dedicated threads ([`crate::MAX_CONCURRENT_LOGINS`]).
//!
//! An Argon2id check takes about 19 MiB. Run on the blocking pool, each
//! check may land on another thread and so in another allocator arena,
//! which keeps the memory once freed: ten logins at once left some 190 MiB
//! behind, and more with every burst. A fixed pair of threads bounds both
//! the checks in flight and the memory they leave. The hash is unchanged.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// The threads and their queue; logins beyond the threads wait in line.
pub struct Logins {
    jobs: Mutex<mpsc::Sender<Job>>,
}

impl Logins {
    /// Starts `threads` workers; they end when this is dropped.
    pub fn new(threads: usize) -> Logins {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let _ = std::thread::Builder::new()
                .name(format!("postern-login-{i}"))
                .spawn(move || loop {
                    let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    match next {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                });
        }
        Logins {
            jobs: Mutex::new(tx),
        }
    }

    /// Runs `check` on a login thread; None if the threads are gone.
    pub async fn run<T: Send + 'static>(
        &self,
        check: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(check());
        });
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(job)
            .ok()?;
        rx.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// More checks than threads: all are answered, never more than the
    /// threads at once.
    #[tokio::test]
    async fn checks_beyond_the_threads_wait_their_turn() {
        let logins = Arc::new(Logins::new(2));
        let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut all = Vec::new();
        for i in 0..10 {
            let (l, now, peak) = (logins.clone(), now.clone(), peak.clone());
            all.push(tokio::spawn(async move {
                l.run(move || {
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(n, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    now.fetch_sub(1, Ordering::SeqCst);
                    i
                })
                .await
            }));
        }
        let mut got = Vec::new();
        for h in all {
            got.push(h.await.unwrap().unwrap());
        }
        got.sort();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }
}
