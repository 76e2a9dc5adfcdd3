use super::*;
use crate::clock::{Clock, ManualClock};
use std::net::IpAddr;

const P: Policy = Policy {
    threshold: 3,
    window: 60,
    block_for: 300,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn blocks(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::Block { .. }))
        .count()
}

#[test]
fn threshold_crossed_blocks_once_then_counts_afresh() {
    let clock = ManualClock::at(1_000);
    let mut t = Tracker::default();
    let a = ip("192.0.2.1");
    assert!(t
        .failed(clock.now(), a, "x@example.org", false, &P)
        .is_empty());
    clock.advance(1);
    assert!(t
        .failed(clock.now(), a, "y@example.org", false, &P)
        .is_empty());
    clock.advance(1);
    let events = t.failed(clock.now(), a, "z@example.org", false, &P);
    assert_eq!(
        events,
        [Event::Block {
            ip: a.into(),
            failures: 3,
            until: 1_302
        }]
    );
    assert_eq!(t.failures(a, clock.now(), P.window), 0);
    // Another address is counted apart.
    assert!(t
        .failed(clock.now(), ip("192.0.2.2"), "", false, &P)
        .is_empty());
}

#[test]
fn failures_older_than_the_window_expire() {
    let clock = ManualClock::at(1_000);
    let mut t = Tracker::default();
    let a = ip("2001:db8::1");
    t.failed(clock.now(), a, "", false, &P);
    t.failed(clock.now(), a, "", false, &P);
    clock.advance(60); // the first two are now exactly one window old
    assert!(t.failed(clock.now(), a, "", false, &P).is_empty());
    assert_eq!(t.failures(a, clock.now(), P.window), 1);
    clock.advance(59);
    assert!(t.failed(clock.now(), a, "", false, &P).is_empty());
    assert_eq!(blocks(&t.failed(clock.now(), a, "", false, &P)), 1);
}

#[test]
fn exempt_addresses_are_never_blocked() {
    let mut t = Tracker::default();
    let a = ip("127.0.0.1");
    for i in 0..20 {
        assert_eq!(blocks(&t.failed(1_000 + i, a, "", true, &P)), 0);
    }
}

#[test]
fn reset_forgets_an_address() {
    let mut t = Tracker::default();
    let a = ip("192.0.2.1");
    t.failed(1_000, a, "", false, &P);
    t.failed(1_000, a, "", false, &P);
    t.reset(a);
    assert!(t.failed(1_000, a, "", false, &P).is_empty());
}

#[test]
fn one_account_from_several_addresses_is_reported_once_a_window() {
    let clock = ManualClock::at(5_000);
    let mut t = Tracker::default();
    let mut reports = Vec::new();
    for i in 1..=4 {
        let from = ip(&format!("198.51.100.{i}"));
        for e in t.failed(clock.now(), from, "Alice@Example.org", false, &P) {
            reports.push(e);
        }
        clock.advance(1);
    }
    assert_eq!(
        reports,
        [Event::AccountTargeted {
            user: "alice@example.org".into(),
            failures: 3,
            ips: 3
        }]
    );
    clock.advance(60);
    for i in 1..=3 {
        let from = ip(&format!("198.51.100.{i}"));
        reports = t.failed(clock.now(), from, "alice@example.org", false, &P);
    }
    assert!(matches!(
        &reports[..],
        [Event::AccountTargeted { failures: 3, .. }]
    ));
}

#[test]
fn one_address_against_one_account_is_a_block_not_a_report() {
    let mut t = Tracker::default();
    let a = ip("192.0.2.9");
    let mut all = Vec::new();
    for _ in 0..3 {
        all.extend(t.failed(1_000, a, "bob@example.org", false, &P));
    }
    assert_eq!(blocks(&all), 1);
    assert_eq!(all.len(), 1, "{all:?}");
}

#[test]
fn idle_entries_are_pruned() {
    let mut t = Tracker::default();
    t.failed(1_000, ip("192.0.2.1"), "a@b.c", false, &P);
    t.failed(2_000, ip("192.0.2.2"), "", false, &P);
    assert_eq!(t.by_ip.len(), 1);
    assert!(t.by_account.is_empty());
}

#[test]
fn an_ipv6_slash_64_is_one_client() {
    let mut t = Tracker::default();
    t.failed(1_000, ip("2001:db8:1:2::1"), "", false, &P);
    t.failed(1_001, ip("2001:db8:1:2::2"), "", false, &P);
    // Another /64 is counted apart.
    assert!(t
        .failed(1_001, ip("2001:db8:1:3::1"), "", false, &P)
        .is_empty());
    let events = t.failed(1_002, ip("2001:db8:1:2:ffff::3"), "", false, &P);
    assert!(
        matches!(&events[..], [Event::Block { ip, failures: 3, .. }]
            if ip.to_string() == "2001:db8:1:2::/64"),
        "{events:?}"
    );
    // IPv4-mapped IPv6 counts as the IPv4 client.
    t.failed(1_000, ip("::ffff:192.0.2.7"), "", false, &P);
    assert_eq!(t.failures(ip("192.0.2.7"), 1_000, P.window), 1);
}
