//! Process-wide counters and latency histograms for `GET /metrics` (issue 19
//! item 5, SPEC A5). Everything is a relaxed atomic: a session's hot path
//! pays one `Instant::now()` and two `fetch_add`s per command, never a lock.
//! Counters start at zero with the process, as Prometheus expects of a
//! counter; what must survive a restart (the antispam counters) lives in the
//! store instead.

mod histogram;

pub use histogram::{Histogram, Snapshot, BUCKETS_MICROS};

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A protocol whose commands are timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Smtp,
    Imap,
    Pop3,
}

impl Protocol {
    pub const ALL: [Protocol; 3] = [Protocol::Smtp, Protocol::Imap, Protocol::Pop3];

    pub fn name(self) -> &'static str {
        match self {
            Protocol::Smtp => "smtp",
            Protocol::Imap => "imap",
            Protocol::Pop3 => "pop3",
        }
    }
}

/// A counted event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A message accepted with 250 at the end of DATA/BDAT.
    Received,
    /// A recipient's copy put into a local mailbox or accepted by the next hop.
    Delivered,
    /// An outbound attempt for a recipient that failed temporarily.
    Deferred,
    /// A recipient given up on (permanent refusal or `delivery.give_up`).
    Bounced,
    /// A failed login on any protocol (SMTP AUTH, IMAP, POP3, admin).
    AuthFailure,
}

impl Event {
    pub const ALL: [Event; 5] = [
        Event::Received,
        Event::Delivered,
        Event::Deferred,
        Event::Bounced,
        Event::AuthFailure,
    ];
}

static EVENTS: [AtomicU64; Event::ALL.len()] = [const { AtomicU64::new(0) }; Event::ALL.len()];
static COMMANDS: [Histogram; Protocol::ALL.len()] =
    [const { Histogram::new() }; Protocol::ALL.len()];

/// Adds `n` to `event`'s counter.
pub fn count(event: Event, n: u64) {
    EVENTS[event as usize].fetch_add(n, Ordering::Relaxed);
}

/// The counter of `event` since the process started.
pub fn counted(event: Event) -> u64 {
    EVENTS[event as usize].load(Ordering::Relaxed)
}

/// Records one command of `protocol` that took `took`.
pub fn observe(protocol: Protocol, took: Duration) {
    COMMANDS[protocol as usize].observe(took);
}

/// The command latency histogram of `protocol`.
pub fn commands(protocol: Protocol) -> Snapshot {
    COMMANDS[protocol as usize].snapshot()
}

/// Times a command from its creation to its drop: `let _t = timer(Smtp);`.
pub struct Timer(Protocol, Instant);

pub fn timer(protocol: Protocol) -> Timer {
    Timer(protocol, Instant::now())
}

impl Drop for Timer {
    fn drop(&mut self) {
        observe(self.0, self.1.elapsed());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up() {
        let before = counted(Event::Bounced);
        count(Event::Bounced, 2);
        count(Event::Bounced, 1);
        assert_eq!(counted(Event::Bounced) - before, 3);
    }

    #[test]
    fn a_timer_records_one_observation_when_dropped() {
        let before = commands(Protocol::Pop3).count;
        drop(timer(Protocol::Pop3));
        assert_eq!(commands(Protocol::Pop3).count - before, 1);
    }
}
