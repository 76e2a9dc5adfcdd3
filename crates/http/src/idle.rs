//! Connections that say nothing are closed: the first request must arrive
//! within [`HEADER_READ_TIMEOUT`] of the handshake (hyper's own header
//! timeout covers a request that trickles in, not a client that sends
//! nothing, nor the HTTP/2 preface wait), and later ones within
//! [`IDLE_TIMEOUT`] of the previous one. With the per-IP connection cap this
//! bounds what slow clients can hold.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A client must send a request's headers within this (slowloris).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// A kept-alive connection with no new request for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Requests begun on one connection.
#[derive(Clone, Default)]
pub struct Activity(Arc<AtomicU64>);

impl Activity {
    pub fn request(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Returns when a whole period passes without a new request.
    pub async fn idle(&self) {
        let mut seen = self.0.load(Ordering::Relaxed);
        loop {
            let wait = if seen == 0 {
                HEADER_READ_TIMEOUT
            } else {
                IDLE_TIMEOUT
            };
            tokio::time::sleep(wait).await;
            let now = self.0.load(Ordering::Relaxed);
            if now == seen {
                return;
            }
            seen = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn silence_is_cut_and_requests_keep_it_open() {
        let a = Activity::default();
        let start = tokio::time::Instant::now();
        a.idle().await;
        assert_eq!(start.elapsed(), HEADER_READ_TIMEOUT, "nothing sent");
        a.request();
        let start = tokio::time::Instant::now();
        a.idle().await;
        assert_eq!(start.elapsed(), IDLE_TIMEOUT, "after a request");
        // A request during the wait starts another period.
        let start = tokio::time::Instant::now();
        let b = a.clone();
        tokio::spawn(async move {
            tokio::time::sleep(IDLE_TIMEOUT / 2).await;
            b.request();
        });
        a.idle().await;
        assert_eq!(start.elapsed(), 2 * IDLE_TIMEOUT);
    }
}
