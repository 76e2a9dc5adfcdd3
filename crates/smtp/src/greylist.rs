//! Greylisting's driver (issue 16 item 3): postern_filter::greylist decides,
//! this reads what the store knows of a triplet, asks at the clock's time,
//! and writes the decision's update back. Blocking (SQLite): the session
//! calls it off the async workers.

use postern_config::Greylist;
use postern_filter::greylist::{decide, Decision, Known, Policy, Triplet, Update};
use postern_net::clock::Clock;
use postern_store::{Store, StoreError};

/// The configured times in seconds.
pub fn policy(cfg: &Greylist) -> Policy {
    let secs = |d: postern_config::Duration| d.0.as_secs() as i64;
    Policy {
        delay: secs(cfg.delay),
        window: secs(cfg.window),
        auto_whitelist: secs(cfg.auto_whitelist),
    }
}

/// Decides for `t` now and records the outcome.
pub fn check(
    store: &Store,
    clock: &dyn Clock,
    policy: &Policy,
    t: &Triplet,
) -> Result<Decision, StoreError> {
    let (first_seen, whitelisted_until) =
        store.greylist_known(&t.network, &t.sender, &t.recipient)?;
    let now = clock.now();
    let known = Known {
        first_seen,
        whitelisted_until,
    };
    let decision = decide(policy, known, now);
    let update = match &decision {
        Decision::Pass(u) | Decision::Defer(_, u) => *u,
    };
    match update {
        Update::None => {}
        Update::FirstSeen(at) => {
            store.greylist_first_seen(&t.network, &t.sender, &t.recipient, at, policy.window)?
        }
        Update::Whitelist(until) => {
            store.greylist_whitelist(&t.network, &t.sender, &t.recipient, until, now)?
        }
    }
    Ok(decision)
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_net::clock::ManualClock;

    const DAY: i64 = 86400;

    fn triplet(ip: &str, from: &str) -> Triplet {
        Triplet::new(ip.parse().unwrap(), from, "alice@example.org")
    }

    fn passes(store: &Store, clock: &ManualClock, p: &Policy, t: &Triplet) -> bool {
        matches!(check(store, clock, p, t).unwrap(), Decision::Pass(_))
    }

    /// Issue 16: "the greylisting cycle (with an injectable clock)", through
    /// the store, with the default times.
    #[test]
    fn greylisting_cycle() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::open(d.path()).unwrap();
        let p = policy(&Greylist::default());
        let clock = ManualClock::at(1_800_000_000);
        let bob = triplet("192.0.2.10", "Bob@Example.NET");
        // First attempt and an immediate retry: deferred.
        assert!(!passes(&store, &clock, &p, &bob));
        clock.advance(60);
        assert!(!passes(&store, &clock, &p, &bob));
        // After the delay: accepted, and the /24 is whitelisted.
        clock.advance(p.delay - 60);
        assert!(passes(&store, &clock, &p, &bob));
        // Another sender from another address of the same /24: at once.
        assert!(passes(
            &store,
            &clock,
            &p,
            &triplet("192.0.2.99", "carol@example.net")
        ));
        // The store outlives the session: a new handle (a restart) remembers.
        drop(store);
        let store = Store::open(d.path()).unwrap();
        assert!(passes(
            &store,
            &clock,
            &p,
            &triplet("192.0.2.7", "dave@example.net")
        ));
        // 36 days without mail from it: whitelisting over, greylisted again.
        clock.advance(36 * DAY);
        assert!(!passes(&store, &clock, &p, &bob));
    }

    #[test]
    fn a_retry_after_the_window_starts_over() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::open(d.path()).unwrap();
        let p = policy(&Greylist::default());
        let clock = ManualClock::at(1_800_000_000);
        let t = triplet("2001:db8:1:2::5", "");
        assert!(!passes(&store, &clock, &p, &t));
        clock.advance(p.window + 1);
        // Too late: deferred as a first attempt, then passes after the delay.
        assert!(!passes(&store, &clock, &p, &t));
        clock.advance(p.delay - 1);
        assert!(!passes(&store, &clock, &p, &t));
        clock.advance(1);
        assert!(passes(&store, &clock, &p, &t));
        // The whole /64 is whitelisted, no other network.
        assert!(passes(
            &store,
            &clock,
            &p,
            &triplet("2001:db8:1:2::ff", "x@y")
        ));
        assert!(!passes(
            &store,
            &clock,
            &p,
            &triplet("2001:db8:1:3::5", "x@y")
        ));
    }

    #[test]
    fn a_busy_whitelisted_network_stays_whitelisted() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::open(d.path()).unwrap();
        let p = policy(&Greylist::default());
        let clock = ManualClock::at(1_800_000_000);
        let t = triplet("198.51.100.1", "a@b");
        assert!(!passes(&store, &clock, &p, &t));
        clock.advance(p.delay);
        assert!(passes(&store, &clock, &p, &t));
        // Mail every 20 days for 100 days: renewed each time, never deferred.
        for _ in 0..5 {
            clock.advance(20 * DAY);
            assert!(passes(&store, &clock, &p, &t));
        }
    }
}
