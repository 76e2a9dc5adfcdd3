//! The scheduler: finds due recipients, groups them by destination domain,
//! and starts delivery runs within the concurrency limits (overall and per
//! domain). It wakes when the store queues something, when a run ends, and
//! once a second (to see what the CLI changed: retry, release, delete).
//! At shutdown it starts nothing more and waits for the runs in flight to
//! record their results, until the shutdown deadline; then it closes the
//! connections left open between runs.

use crate::deliver::{self, Job};
use crate::inflight::InFlight;
use crate::{Outbound, Stop};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Longest sleep between looks at the queue.
const POLL: Duration = Duration::from_secs(1);
/// Due recipients read per look.
const BATCH: usize = 5000;

impl Outbound {
    /// Runs until `stop` holds a deadline, then lets the runs in flight finish
    /// until that deadline. Runs still going then are stopped (one
    /// `delivery-abandoned` line each): what they had not recorded is tried
    /// again after restart.
    pub async fn run(self, mut stop: Stop) {
        let wake = self.queue.queue_wakeup();
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<u64>();
        let mut busy = InFlight::default();
        let deadline = loop {
            if let Some(deadline) = *stop.borrow() {
                break deadline;
            }
            if let Err(e) = self.dispatch(&mut busy, &done_tx, &stop).await {
                self.logs.mail(&[("event", "queue-error"), ("reason", &e)]);
            }
            tokio::select! {
                _ = wake.notified() => {}
                Some(id) = done_rx.recv() => busy.finish(id),
                _ = tokio::time::sleep(POLL) => {}
                changed = stop.changed() => if changed.is_err() {
                    // No one can tell us the deadline any more: stop now.
                    break Instant::now();
                },
            }
            while let Ok(id) = done_rx.try_recv() {
                busy.finish(id);
            }
        };
        for run in busy.drain(&mut done_rx, deadline).await {
            self.logs.mail(&[
                ("event", "delivery-abandoned"),
                ("domain", &run.domain),
                ("recipients", &run.recipients.to_string()),
            ]);
        }
        self.conns.close_all(deadline).await;
    }

    async fn dispatch(
        &self,
        busy: &mut InFlight,
        done: &mpsc::UnboundedSender<u64>,
        stop: &Stop,
    ) -> Result<(), String> {
        let cfg = self.config.borrow().clone();
        let d = &cfg.delivery;
        if busy.runs() >= d.max_connections {
            return Ok(());
        }
        let shared = Arc::new(self.shared(cfg.clone(), stop.clone())?);
        let now = self.clock.now();
        let due = self
            .queue
            .queue_due(now, BATCH)
            .await
            .map_err(|e| e.to_string())?;
        if stop.borrow().is_some() {
            return Ok(());
        }
        let groups = group(due.into_iter().filter(|r| !busy.holds(r.id)));
        // An even share of the connections per domain first; the rest go to
        // whoever still has work at the next dispatch.
        let fair = (d.max_connections / groups.len().max(1) as u32).max(1);
        let mut groups: Vec<(String, Vec<Job>)> = groups.into_iter().collect();
        let first = busy.turn % groups.len().max(1);
        groups.rotate_left(first);
        busy.turn = busy.turn.wrapping_add(1);
        for (domain, jobs) in groups {
            let running = busy.running(&domain);
            let slots = d
                .max_per_domain
                .min(fair.max(running + 1))
                .saturating_sub(running)
                .min(d.max_connections.saturating_sub(busy.runs()));
            for chunk in split(jobs, slots as usize, d.max_messages_per_connection as usize) {
                let recipients = chunk.iter().flat_map(|j| j.recipients.clone()).collect();
                let run = deliver::run(shared.clone(), domain.clone(), chunk);
                busy.spawn(&domain, recipients, done.clone(), run);
            }
            if busy.runs() >= d.max_connections {
                break;
            }
        }
        Ok(())
    }
}

/// Due recipients by domain, then by message, in the order they came.
fn group(due: impl Iterator<Item = postern_store::DueRecipient>) -> BTreeMap<String, Vec<Job>> {
    let mut by_domain: BTreeMap<String, Vec<Job>> = BTreeMap::new();
    // (domain, message) → its job's place, so grouping stays linear.
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    for r in due {
        let jobs = by_domain.entry(r.domain.clone()).or_default();
        match index.get(&(r.domain.clone(), r.queue_id.clone())) {
            Some(&i) => jobs[i].recipients.push(r.id),
            None => {
                index.insert((r.domain, r.queue_id.clone()), jobs.len());
                jobs.push(Job {
                    queue_id: r.queue_id,
                    recipients: vec![r.id],
                });
            }
        }
    }
    by_domain
}

/// At most `slots` runs of at most `per_run` messages each, spread evenly; the rest waits.
fn split(jobs: Vec<Job>, slots: usize, per_run: usize) -> Vec<Vec<Job>> {
    if slots == 0 || jobs.is_empty() {
        return vec![];
    }
    let per_run = per_run.max(1);
    // As many connections as allowed (parallelism first), each carrying its share.
    let runs = jobs.len().min(slots);
    let size = jobs.len().div_ceil(runs).min(per_run);
    let mut out: Vec<Vec<Job>> = Vec::with_capacity(runs);
    for job in jobs {
        match out.last_mut() {
            Some(run) if run.len() < size => {
                run.push(job);
                continue;
            }
            _ => {}
        }
        if out.len() < runs {
            out.push(vec![job]);
        } else {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jobs(n: usize) -> Vec<Job> {
        (0..n)
            .map(|i| Job {
                queue_id: format!("q{i}"),
                recipients: vec![i as i64],
            })
            .collect()
    }

    #[test]
    fn split_spreads_within_limits() {
        let sizes = |v: Vec<Vec<Job>>| v.iter().map(Vec::len).collect::<Vec<_>>();
        assert_eq!(sizes(split(jobs(10), 4, 100)), [3, 3, 3, 1]);
        assert_eq!(
            sizes(split(jobs(10), 2, 3)),
            [3, 3],
            "the rest waits for a free slot"
        );
        assert_eq!(sizes(split(jobs(1), 8, 100)), [1]);
        assert!(split(jobs(5), 0, 10).is_empty());
    }

    #[test]
    fn grouping_by_domain_and_message() {
        let due = [
            ("a.org", "m1", 1),
            ("b.org", "m1", 2),
            ("a.org", "m1", 3),
            ("a.org", "m2", 4),
        ]
        .map(|(d, q, id)| postern_store::DueRecipient {
            id,
            queue_id: q.into(),
            domain: d.into(),
        });
        let g = group(due.into_iter());
        assert_eq!(
            g["a.org"],
            vec![
                Job {
                    queue_id: "m1".into(),
                    recipients: vec![1, 3]
                },
                Job {
                    queue_id: "m2".into(),
                    recipients: vec![4]
                }
            ]
        );
        assert_eq!(g["b.org"].len(), 1);
    }
}
