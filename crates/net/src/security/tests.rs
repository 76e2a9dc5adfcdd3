use super::*;
use crate::clock::ManualClock;
use postern_directory::ipgroups::Block;
use postern_directory::prelude::*;

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    clock: ManualClock,
    config: watch::Sender<Arc<Config>>,
    security: Arc<Security>,
}

impl Fixture {
    async fn new(toml: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let logs = Logs::open(dir.path(), false).unwrap();
        let clock = ManualClock::at(1_000_000);
        let (config, rx) = watch::channel(Arc::new(Config::parse(toml).unwrap()));
        let security = Security::new(store.clone(), logs, rx, Arc::new(clock.clone()))
            .await
            .unwrap();
        Fixture {
            _dir: dir,
            store,
            clock,
            config,
            security,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("logs/security.log")).unwrap_or_default()
    }

    fn group(&self, name: &str, entries: &[&str]) {
        let entries: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
        self.store.ipgroup_add(name, &entries).unwrap();
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const LOCAL: &str = "127.0.0.1";

#[tokio::test]
async fn the_admin_listener_is_loopback_only_by_default() {
    let f = Fixture::new("").await;
    assert!(f.security.admit("admin", ip(LOCAL)).is_ok());
    assert!(f.security.admit("admin", ip("::1")).is_ok());
    assert!(f.security.admit("admin", ip("::ffff:127.0.0.3")).is_ok());
    let refused = f.security.admit("admin", ip("192.0.2.5")).err().unwrap();
    assert_eq!(
        refused,
        Refusal::NotAllowed {
            group: "loopback".into()
        }
    );
    // A group named `loopback` replaces the built-in one.
    f.group("loopback", &["192.0.2.0/24"]);
    f.security.refresh().await.unwrap();
    assert!(f.security.admit("admin", ip("192.0.2.5")).is_ok());
    assert!(f.security.admit("admin", ip(LOCAL)).is_err());
}

#[tokio::test]
async fn allow_group_is_read_on_refresh() {
    let f = Fixture::new("[access.imap]\nallow = \"office\"\n").await;
    let refused = f.security.admit("imap", ip(LOCAL)).err().unwrap();
    assert_eq!(
        refused,
        Refusal::NotAllowed {
            group: "office".into()
        }
    );
    assert!(
        f.security.admit("smtp", ip(LOCAL)).is_ok(),
        "other listeners open"
    );
    f.group("Office", &["127.0.0.0/8", "!127.0.0.9"]);
    assert!(
        f.security.admit("imap", ip(LOCAL)).is_err(),
        "not before a refresh"
    );
    f.security.refresh().await.unwrap();
    assert!(f.security.admit("imap", ip(LOCAL)).is_ok());
    assert!(f.security.admit("imap", ip("::ffff:127.0.0.2")).is_ok());
    assert!(f.security.admit("imap", ip("127.0.0.9")).is_err());
    let log = f.log();
    assert!(log.contains("event=connection-refused service=imap client=127.0.0.1 reason=\"not in IP group office\""), "{log}");
    assert!(log.contains("client=127.0.0.9"), "{log}");
}

#[tokio::test]
async fn per_ip_limit_crossed_and_freed() {
    let f = Fixture::new("[access.pop3]\nmax_per_ip = 2\n").await;
    let a = f.security.admit("pop3", ip(LOCAL)).unwrap();
    let _b = f.security.admit("pop3", ip(LOCAL)).unwrap();
    assert_eq!(
        f.security.admit("pop3", ip(LOCAL)).err(),
        Some(Refusal::TooManyFromIp { limit: 2 })
    );
    assert!(
        f.security.admit("pop3", ip("127.0.0.2")).is_ok(),
        "per address"
    );
    assert!(f.security.admit("pop3s", ip(LOCAL)).is_ok(), "per listener");
    drop(a);
    assert_eq!(f.security.connections("pop3", Some(ip(LOCAL))), 1);
    assert!(f.security.admit("pop3", ip(LOCAL)).is_ok());
}

#[tokio::test]
async fn listener_limit_crossed_and_freed() {
    let f = Fixture::new("[access.smtp]\nmax_connections = 2\n").await;
    let a = f.security.admit("smtp", ip(LOCAL)).unwrap();
    let _b = f.security.admit("smtp", ip("127.0.0.2")).unwrap();
    assert_eq!(
        f.security.admit("smtp", ip("127.0.0.3")).err(),
        Some(Refusal::TooMany { limit: 2 })
    );
    drop(a);
    assert_eq!(f.security.connections("smtp", None), 1);
    assert!(f.security.admit("smtp", ip("127.0.0.3")).is_ok());
}

#[tokio::test]
async fn live_config_changes_apply_to_the_next_connection() {
    let f = Fixture::new("").await;
    let _a = f.security.admit("imap", ip(LOCAL)).unwrap();
    f.config
        .send(Arc::new(
            Config::parse("[access.imap]\nmax_per_ip = 1\n").unwrap(),
        ))
        .unwrap();
    assert!(f.security.admit("imap", ip(LOCAL)).is_err());
}

const GUARD: &str = "[security]\nlogin_failures = 3\nlogin_window = \"60s\"\nblock_for = \"300s\"\nexempt = \"trusted\"\n";

#[tokio::test]
async fn failures_block_on_every_listener_until_unblocked() {
    let f = Fixture::new(GUARD).await;
    let a = ip("192.0.2.1");
    assert!(
        !f.security
            .failed_login("pop3", a, "alice@example.org")
            .await
    );
    assert!(
        !f.security
            .failed_login("imap", a, "alice@example.org")
            .await
    );
    assert!(f.security.failed_login("smtp", a, "bob@example.org").await);
    for listener in ["smtp", "imaps", "pop3"] {
        assert_eq!(
            f.security.admit(listener, a).err(),
            Some(Refusal::Blocked { until: 1_000_300 })
        );
    }
    assert!(f.security.admit("smtp", ip("192.0.2.2")).is_ok());
    let blocks = f.store.block_list(f.clock.now()).unwrap();
    assert_eq!(blocks.len(), 1);
    assert_eq!(
        (blocks[0].ip.as_str(), blocks[0].failures),
        ("192.0.2.1", 3)
    );
    assert!(f
        .log()
        .contains("event=blocked service=smtp client=192.0.2.1 user=bob@example.org failures=3"));
    // `postern security unblock` from another process: seen at the next refresh.
    assert!(f.store.block_del("192.0.2.1", f.clock.now()).unwrap());
    f.security.refresh().await.unwrap();
    assert!(f.security.admit("smtp", a).is_ok());
    assert!(
        !f.security.failed_login("pop3", a, "x").await,
        "counter reset"
    );
}

#[tokio::test]
async fn an_ipv6_client_is_its_slash_64() {
    let f = Fixture::new(&format!("{GUARD}[access.imap]\nmax_per_ip = 1\n")).await;
    let _a = f.security.admit("imap", ip("2001:db8:1:2::1")).unwrap();
    assert_eq!(
        f.security.admit("imap", ip("2001:db8:1:2::99")).err(),
        Some(Refusal::TooManyFromIp { limit: 1 }),
        "same /64"
    );
    assert!(f.security.admit("imap", ip("2001:db8:1:3::1")).is_ok());
    for i in 1..=3 {
        let from = ip(&format!("2001:db8:1:2::{i}"));
        f.security.failed_login("pop3", from, "").await;
    }
    assert!(f
        .security
        .blocked_until(ip("2001:db8:1:2:ffff::7"))
        .is_some());
    assert!(f.security.blocked_until(ip("2001:db8:1:3::1")).is_none());
    let blocks = f.store.block_list(f.clock.now()).unwrap();
    assert_eq!(blocks[0].ip, "2001:db8:1:2::/64");
    assert!(f.log().contains("blocked=2001:db8:1:2::/64"));
    // An IPv4-mapped client is its IPv4 address.
    let _m = f.security.admit("imap", ip("::ffff:192.0.2.8")).unwrap();
    assert!(f.security.admit("imap", ip("192.0.2.8")).is_err());
}

#[tokio::test]
async fn blocks_end_by_themselves() {
    let f = Fixture::new(GUARD).await;
    let a = ip("2001:db8::1");
    for _ in 0..3 {
        f.security.failed_login("imap", a, "").await;
    }
    assert!(f.security.blocked_until(a).is_some());
    let ended = "event=unblocked client=2001:db8::/64 since=1970-01-12T13:46:40Z until=1970-01-12T13:51:40Z blocked_for=\"3 failed logins within 60s\" reason=\"block ended\"";
    f.clock.advance(299);
    f.security.refresh().await.unwrap();
    assert!(f.security.blocked_until(a).is_some());
    assert!(!f.log().contains("event=unblocked"), "not before its end");
    f.clock.advance(1);
    assert!(f.security.blocked_until(a).is_none());
    f.security.refresh().await.unwrap();
    assert!(f.store.block_list(0).unwrap().is_empty(), "purged");
    assert!(f.log().contains(ended), "{}", f.log());
    f.security.refresh().await.unwrap();
    assert_eq!(f.log().matches("event=unblocked").count(), 1, "logged once");
}

#[tokio::test]
async fn a_block_lifted_by_an_admin_is_not_logged_as_ended() {
    let f = Fixture::new(GUARD).await;
    for _ in 0..3 {
        f.security.failed_login("imap", ip(LOCAL), "").await;
    }
    // `postern security unblock` logs its own line.
    assert!(f.store.block_del(LOCAL, f.clock.now()).unwrap());
    f.security.refresh().await.unwrap();
    f.clock.advance(300);
    f.security.refresh().await.unwrap();
    assert!(!f.log().contains("event=unblocked"), "{}", f.log());
}

#[tokio::test]
async fn a_block_that_ended_unseen_is_logged_at_the_next_refresh() {
    // As at a start after the server was down when the block ended.
    let f = Fixture::new(GUARD).await;
    let since = f.clock.now() - 7_200;
    let block = Block {
        ip: "192.0.2.7".into(),
        since,
        until: since + 3_600,
        failures: 0,
        reason: MANUAL_BLOCK.into(),
    };
    f.store.block_put(&block).unwrap();
    f.security.refresh().await.unwrap();
    let log = f.log();
    assert!(log.contains("event=unblocked client=192.0.2.7 "), "{log}");
    assert!(
        log.contains("blocked_for=manual reason=\"block ended\""),
        "{log}"
    );
}

#[tokio::test]
async fn blocks_made_elsewhere_are_read() {
    let f = Fixture::new(GUARD).await;
    let block = Block {
        ip: "192.0.2.7".into(),
        since: f.clock.now(),
        until: f.clock.now() + 10,
        failures: 9,
        reason: "test".into(),
    };
    f.store.block_put(&block).unwrap();
    f.security.refresh().await.unwrap();
    assert!(f.security.admit("smtp", ip("192.0.2.7")).is_err());
}

#[tokio::test]
async fn a_manual_block_is_refused_in_its_own_words_and_kept() {
    let f = Fixture::new(GUARD).await;
    let until = f.clock.now() + 3_600;
    let block = Block {
        ip: "2001:db8:5:6::/64".into(),
        since: f.clock.now(),
        until,
        failures: 0,
        reason: MANUAL_BLOCK.into(),
    };
    f.store.block_put(&block).unwrap();
    f.security.refresh().await.unwrap();
    let refused = f.security.admit("imap", ip("2001:db8:5:6::1")).err();
    assert_eq!(refused, Some(Refusal::BlockedByAdmin { until }));
    assert!(f.log().contains("reason=\"blocked by admin\""));
    // Failed logins from a session already open do not shorten it.
    for _ in 0..3 {
        f.security
            .failed_login("imap", ip("2001:db8:5:6::1"), "")
            .await;
    }
    assert_eq!(f.store.block_list(f.clock.now()).unwrap()[0].until, until);
}

#[tokio::test]
async fn exempt_group_is_never_blocked() {
    let f = Fixture::new(GUARD).await;
    f.group("trusted", &["127.0.0.0/8"]);
    f.security.refresh().await.unwrap();
    for _ in 0..10 {
        assert!(
            !f.security
                .failed_login("pop3", ip(LOCAL), "alice@example.org")
                .await
        );
    }
    assert!(f.security.admit("pop3", ip(LOCAL)).is_ok());
}

#[tokio::test]
async fn zero_threshold_never_blocks() {
    let f = Fixture::new("[security]\nlogin_failures = 0\n").await;
    for _ in 0..20 {
        assert!(!f.security.failed_login("pop3", ip(LOCAL), "").await);
    }
}

#[tokio::test]
async fn account_attacked_from_several_addresses_is_reported() {
    let f = Fixture::new(GUARD).await;
    for i in 1..=3 {
        let from = ip(&format!("198.51.100.{i}"));
        f.security
            .failed_login("imap", from, "alice@example.org")
            .await;
    }
    let log = f.log();
    assert!(
        log.contains("event=account-targeted service=imap client=198.51.100.3 user=alice@example.org failures=3 addresses=3"),
        "{log}"
    );
}

#[tokio::test(start_paused = true)]
async fn failed_logins_inside_a_connection_reach_the_guard() {
    // Two failures block: before the session's own limit of three.
    let f = Fixture::new("[security]\nlogin_failures = 2\n").await;
    let ticket = f.security.admit("pop3s", ip("192.0.2.5")).unwrap();
    ticket
        .serve(async {
            assert!(!crate::auth::after_failed_login(1, "alice@example.org").await);
            assert!(crate::auth::after_failed_login(2, "alice@example.org").await);
        })
        .await;
    assert!(f.security.blocked_until(ip("192.0.2.5")).is_some());
    assert_eq!(f.security.connections("pop3s", None), 0, "ticket released");
}

const PROBES: &str = "[security]\nunknown_recipients = 4\nunknown_recipients_window = \"1h\"\nblock_for = \"300s\"\nexempt = \"trusted\"\n";

#[tokio::test]
async fn unknown_recipients_slow_then_block_an_ipv6_slash_64() {
    use harvest::Probe;
    let f = Fixture::new(PROBES).await;
    let (a, b) = (ip("2001:db8:1:2::5"), ip("2001:db8:1:2::77"));
    assert_eq!(
        f.security
            .unknown_recipient("smtp", a, "x1@example.org")
            .await,
        Probe::Counted
    );
    // Half the allowance (2 of 4), from another address of the same /64.
    assert_eq!(
        f.security
            .unknown_recipient("smtp", b, "x2@example.org")
            .await,
        Probe::Slowed
    );
    assert_eq!(
        f.security
            .unknown_recipient("smtp", a, "x3@example.org")
            .await,
        Probe::Slowed
    );
    assert!(f.security.admit("imap", a).is_ok());
    assert_eq!(
        f.security
            .unknown_recipient("smtp", b, "x4@example.org")
            .await,
        Probe::Blocked
    );
    assert_eq!(
        f.security.admit("imap", a).err(),
        Some(Refusal::BlockedForProbing { until: 1_000_300 })
    );
    assert!(
        f.security.admit("smtp", ip("2001:db8:1:3::5")).is_ok(),
        "another /64"
    );
    let log = f.log();
    assert!(
        log.contains(
            "event=blocked service=smtp client=2001:db8:1:2::77 to=x4@example.org failures=4"
        ),
        "{log}"
    );
    assert!(
        log.contains("reason=\"4 unknown recipients within 3600s\" blocked=2001:db8:1:2::/64"),
        "{log}"
    );
    // Read back from the store, it keeps its cause (and its words).
    f.security.refresh().await.unwrap();
    assert!(matches!(
        f.security.admit("smtp", a),
        Err(Refusal::BlockedForProbing { .. })
    ));
}

#[tokio::test]
async fn unknown_recipients_outside_the_window_and_of_exempt_clients_do_not_count() {
    use harvest::Probe;
    let f = Fixture::new(PROBES).await;
    f.group("trusted", &["192.0.2.0/24"]);
    f.security.refresh().await.unwrap();
    for n in 0..10 {
        let to = format!("x{n}@example.org");
        assert_eq!(
            f.security
                .unknown_recipient("smtp", ip("192.0.2.1"), &to)
                .await,
            Probe::Counted
        );
    }
    for _ in 0..3 {
        f.security
            .unknown_recipient("smtp", ip(LOCAL), "y@example.org")
            .await;
        f.clock.advance(3600);
    }
    assert_eq!(
        f.security
            .unknown_recipient("smtp", ip(LOCAL), "y@example.org")
            .await,
        Probe::Counted
    );
    let off = Fixture::new("[security]\nunknown_recipients = 0\n").await;
    for _ in 0..100 {
        assert_eq!(
            off.security
                .unknown_recipient("smtp", ip(LOCAL), "z@example.org")
                .await,
            Probe::Counted
        );
    }
}
