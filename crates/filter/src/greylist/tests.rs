use super::*;

const POLICY: Policy = Policy {
    delay: 300,
    window: 4 * 3600,
    auto_whitelist: 36 * 86400,
};
const T0: i64 = 1_800_000_000;

fn seen(first: i64) -> Known {
    Known {
        first_seen: Some(first),
        whitelisted_until: None,
    }
}

#[test]
fn first_attempt_is_deferred_and_remembered() {
    let d = decide(&POLICY, Known::default(), T0);
    let Decision::Defer(r, Update::FirstSeen(t)) = d else {
        panic!("{d:?}")
    };
    assert_eq!((r.code, r.enhanced, t), (451, "4.7.1", T0));
    assert_eq!(r.text, "Greylisted, try again in 300 seconds");
}

#[test]
fn delay_is_crossed_at_its_last_second() {
    // One second short: deferred, told how long is left, nothing written.
    let d = decide(&POLICY, seen(T0), T0 + POLICY.delay - 1);
    let Decision::Defer(r, Update::None) = d else {
        panic!("{d:?}")
    };
    assert_eq!(r.text, "Greylisted, try again in 1 seconds");
    // At the delay: passes, and the network is whitelisted.
    let d = decide(&POLICY, seen(T0), T0 + POLICY.delay);
    let want = Update::Whitelist(T0 + POLICY.delay + POLICY.auto_whitelist);
    assert_eq!(d, Decision::Pass(want));
}

#[test]
fn window_is_crossed_and_the_triplet_starts_over() {
    let last = T0 + POLICY.window;
    assert!(matches!(decide(&POLICY, seen(T0), last), Decision::Pass(_)));
    let d = decide(&POLICY, seen(T0), last + 1);
    assert_eq!(
        d,
        Decision::Defer(deferral(POLICY.delay), Update::FirstSeen(last + 1))
    );
}

#[test]
fn whitelisted_network_passes_until_it_expires() {
    let until = T0 + POLICY.auto_whitelist;
    let wl = |at| Known {
        first_seen: None,
        whitelisted_until: Some(at),
    };
    // Just whitelisted: passes without a write.
    assert_eq!(
        decide(&POLICY, wl(until), T0 + 60),
        Decision::Pass(Update::None)
    );
    // A second short of a day: still no write; a day on: renewed.
    let d = decide(&POLICY, wl(until), T0 + WHITELIST_REFRESH - 1);
    assert_eq!(d, Decision::Pass(Update::None));
    let later = T0 + WHITELIST_REFRESH;
    let d = decide(&POLICY, wl(until), later);
    assert_eq!(
        d,
        Decision::Pass(Update::Whitelist(later + POLICY.auto_whitelist))
    );
    // Expired (36 days without mail): greylisted again.
    let d = decide(&POLICY, wl(until), until);
    assert!(matches!(d, Decision::Defer(_, Update::FirstSeen(t)) if t == until));
}

#[test]
fn networks_are_slash_24_and_slash_64() {
    let key = |s: &str| network_key(s.parse().unwrap());
    assert_eq!(key("192.0.2.77"), "192.0.2.0/24");
    assert_eq!(key("192.0.2.255"), key("192.0.2.1"));
    assert_ne!(key("192.0.3.1"), key("192.0.2.1"));
    assert_eq!(key("::ffff:192.0.2.9"), "192.0.2.0/24");
    assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
    assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
}

#[test]
fn triplet_lower_cases_and_keeps_the_null_sender() {
    let t = Triplet::new(
        "10.1.2.3".parse().unwrap(),
        "Bob@Example.NET",
        "Alice@Example.org",
    );
    assert_eq!(
        (t.network.as_str(), t.sender.as_str(), t.recipient.as_str()),
        ("10.1.2.0/24", "bob@example.net", "alice@example.org")
    );
    assert_eq!(
        Triplet::new("10.1.2.3".parse().unwrap(), "", "a@b").sender,
        ""
    );
}
