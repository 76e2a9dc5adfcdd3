//! Measurement, not a check (ignored by default): read latency beside a
//! continuous stream of commits, with the reader pool and with it switched
//! off (reads then share the write connection). Run:
//!
//! cargo test -p postern-store --release -- --ignored read_latency_beside_commits --nocapture

use crate::tests_readers::{deliver, setup};
use crate::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Messages in the mailbox read (a SELECT reads them all).
const MAILBOX_SIZE: usize = 200;
/// Reads timed per round.
const READS: usize = 2000;
/// Rounds per mode, alternating.
const ROUNDS: usize = 3;

#[test]
#[ignore]
fn read_latency_beside_commits() {
    let (_dir, store, a, inbox) = setup();
    let rt = tokio::runtime::Runtime::new().unwrap();
    for _ in 0..MAILBOX_SIZE {
        rt.block_on(deliver(&store, a));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writers = [
        flag_writer(&store, inbox, &stop),
        deliverer(&store, a, &stop),
    ];
    // Alternate the modes so both see the same (shared, noisy) host.
    let (mut pool, mut shared) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS * 2 {
        let on = round % 2 == 0;
        store.set_read_pool(on);
        let took = timed_reads(&store, inbox);
        if on { &mut pool } else { &mut shared }.extend(took);
    }
    stop.store(true, Ordering::Relaxed);
    let commits: Vec<usize> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    println!(
        "commits beside: {} STORE 1:*, {} deliveries",
        commits[0], commits[1]
    );
    let p99 = report("pool", &mut pool);
    let p99_shared = report("shared", &mut shared);
    println!("p99 shared / pool: {:.1}", p99_shared / p99);
}

/// IMAP STORE traffic: `STORE 1:* +FLAGS (\Seen)` and back, each a
/// transaction with its fsync on the shared connection.
fn flag_writer(
    store: &Store,
    inbox: MailboxId,
    stop: &Arc<AtomicBool>,
) -> std::thread::JoinHandle<usize> {
    let (store, stop) = (store.clone(), stop.clone());
    std::thread::spawn(move || {
        let uids: Vec<u32> = store
            .messages(inbox)
            .unwrap()
            .iter()
            .map(|m| m.uid)
            .collect();
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let op = if n % 2 == 0 {
                FlagOp::Add
            } else {
                FlagOp::Remove
            };
            store
                .store_flags(inbox, &uids, op, &["\\Seen".into()], None)
                .unwrap();
            n += 1;
        }
        n
    })
}

/// Incoming mail: deliveries through the group committer's connection.
fn deliverer(
    store: &Store,
    user: UserId,
    stop: &Arc<AtomicBool>,
) -> std::thread::JoinHandle<usize> {
    let (store, stop) = (store.clone(), stop.clone());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            rt.block_on(deliver(&store, user));
            n += 1;
        }
        n
    })
}

/// What an IMAP client does at SELECT and STATUS, and a login lookup.
fn timed_reads(store: &Store, inbox: MailboxId) -> Vec<Duration> {
    (0..READS)
        .map(|i| {
            let t = Instant::now();
            match i % 3 {
                0 => drop(store.snapshot(inbox).unwrap()),
                1 => drop(store.mailbox_state(inbox).unwrap()),
                _ => drop(store.account_id("alice@example.org").unwrap()),
            }
            t.elapsed()
        })
        .collect()
}

/// Prints the percentiles; returns p99 in ms.
fn report(mode: &str, took: &mut [Duration]) -> f64 {
    took.sort();
    let at = |q: f64| took[((took.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3;
    println!(
        "{mode:>6}: {} reads  p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
        took.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
    at(0.99)
}
