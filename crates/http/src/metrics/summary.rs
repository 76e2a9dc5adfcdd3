//! What `/metrics` and `postern status` report, gathered in one place: the
//! store's facts (queue, blocks, antispam counters) always, the running
//! process's (connections, event counters, latency histograms) when there
//! is one.

use postern_directory::prelude::*;
use postern_net::metrics::{self, Event, Protocol, Snapshot};
use postern_net::security::Security;
use postern_store::{Store, StoreError};

/// The facts only a running server has.
pub struct Live {
    pub uptime_seconds: u64,
    /// Connections open now per listener name (every enabled listener).
    pub connections: Vec<(String, u32)>,
    /// [`Event::ALL`]'s counters in that order.
    pub events: Vec<(Event, u64)>,
    pub commands: Vec<(Protocol, Snapshot)>,
}

pub struct Summary {
    pub queue_messages: u64,
    /// Age of the oldest queued message (0 when the queue is empty).
    pub queue_oldest_seconds: u64,
    pub blocked: u64,
    /// The antispam counters kept in the store (`postern spam stats`).
    pub spam: Vec<(String, u64)>,
    pub live: Option<Live>,
}

impl Summary {
    /// The store's part, as of `now` (Unix seconds). Blocking: call off the
    /// async workers.
    pub fn from_store(store: &Store, now: i64) -> Result<Summary, StoreError> {
        let queue = store.queue_list()?;
        let oldest = queue.iter().map(|q| q.created).min();
        Ok(Summary {
            queue_messages: queue.len() as u64,
            queue_oldest_seconds: oldest.map_or(0, |t| (now - t).max(0) as u64),
            blocked: store.block_list(now)?.len() as u64,
            spam: store.counters()?,
            live: None,
        })
    }
}

impl Live {
    /// This process's counters, and the connections `security` admitted on
    /// each of `listeners`.
    pub fn now(security: Option<&Security>, listeners: &[String], uptime_seconds: u64) -> Live {
        let mut names: Vec<&String> = listeners.iter().collect();
        names.dedup();
        Live {
            uptime_seconds,
            connections: names
                .into_iter()
                .map(|n| (n.clone(), security.map_or(0, |s| s.connections(n, None))))
                .collect(),
            events: Event::ALL
                .iter()
                .map(|e| (*e, metrics::counted(*e)))
                .collect(),
            commands: Protocol::ALL
                .iter()
                .map(|p| (*p, metrics::commands(*p)))
                .collect(),
        }
    }
}
