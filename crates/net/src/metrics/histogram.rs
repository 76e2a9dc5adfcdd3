//! A fixed-bucket latency histogram of atomics: `observe` finds its bucket
//! by a short linear scan and bumps three counters, without a lock, so every
//! session may record into the same one. Buckets are kept per bucket (not
//! cumulative) and summed when read, as Prometheus' `le` buckets want.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets in microseconds, from 100 µs to 10 s (the
/// `+Inf` bucket follows). A command slower than 10 s is waiting on the
/// client or the disk, and only its count matters.
pub const BUCKETS_MICROS: [u64; 14] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000,
    2_500_000, 10_000_000,
];

/// Observations per bucket, then the ones past the last bound.
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS_MICROS.len() + 1],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

/// What a histogram held when read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Cumulative counts for each bound of [`BUCKETS_MICROS`].
    pub cumulative: Vec<u64>,
    pub count: u64,
    pub sum_micros: u64,
}

impl Histogram {
    pub const fn new() -> Histogram {
        Histogram {
            buckets: [const { AtomicU64::new(0) }; BUCKETS_MICROS.len() + 1],
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let i = BUCKETS_MICROS
            .iter()
            .position(|b| micros <= *b)
            .unwrap_or(BUCKETS_MICROS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts now. Read without a lock, a snapshot taken while others
    /// record may be off by the commands in flight; `count` is read last so
    /// it is never below the `+Inf` bucket's sum.
    pub fn snapshot(&self) -> Snapshot {
        let mut total = 0;
        let cumulative = (0..BUCKETS_MICROS.len())
            .map(|i| {
                total += self.buckets[i].load(Ordering::Relaxed);
                total
            })
            .collect();
        let over = self.buckets[BUCKETS_MICROS.len()].load(Ordering::Relaxed);
        let sum_micros = self.sum_micros.load(Ordering::Relaxed);
        let count = self.count.load(Ordering::Relaxed).max(total + over);
        Snapshot {
            cumulative,
            count,
            sum_micros,
        }
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_bounds_inclusive() {
        let h = Histogram::new();
        h.observe(Duration::from_micros(100)); // on the first bound: in it
        h.observe(Duration::from_micros(101)); // just past it: the next
        h.observe(Duration::from_millis(3));
        let s = h.snapshot();
        assert_eq!(&s.cumulative[..6], &[1, 2, 2, 2, 2, 3]);
        assert_eq!(*s.cumulative.last().unwrap(), 3);
        assert_eq!((s.count, s.sum_micros), (3, 100 + 101 + 3_000));
    }

    #[test]
    fn past_the_last_bound_counts_only_in_inf() {
        let h = Histogram::new();
        h.observe(Duration::from_secs(11));
        let s = h.snapshot();
        assert_eq!(*s.cumulative.last().unwrap(), 0);
        assert_eq!(s.count, 1);
    }

    #[test]
    fn concurrent_observers_lose_nothing() {
        let h = std::sync::Arc::new(Histogram::new());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let h = h.clone();
                std::thread::spawn(move || {
                    for i in 0..10_000 {
                        h.observe(Duration::from_micros(i % 3_000));
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let s = h.snapshot();
        assert_eq!(s.count, 40_000);
        assert_eq!(*s.cumulative.last().unwrap(), 40_000);
    }
}
