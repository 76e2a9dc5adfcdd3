//! The cache over sessions with a scripted server on an in-memory pipe; time
//! is tokio's paused clock, so expiry is tested without sleeping.

use super::*;
use crate::route::{Hop, Plan, Security};
use postern_smtp::client::{ClientSession, Timeouts};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

type Log = Arc<Mutex<Vec<String>>>;

/// A session with a fake server that logs the commands it gets. A `dying`
/// server hangs up right after EHLO, as a server that dropped an idle client.
async fn session(dying: bool) -> (Opened, Log) {
    let (client, server) = tokio::io::duplex(4096);
    let log: Log = Arc::default();
    let seen = log.clone();
    tokio::spawn(async move {
        let (r, mut w) = tokio::io::split(server);
        let mut lines = BufReader::new(r).lines();
        w.write_all(b"220 fake\r\n").await?;
        while let Some(line) = lines.next_line().await? {
            seen.lock().unwrap().push(line.clone());
            let reply: &[u8] = match line.split(' ').next() {
                Some("EHLO") => b"250 fake\r\n",
                Some("RSET") => b"250 ok\r\n",
                Some("QUIT") => b"221 bye\r\n",
                _ => b"502 no\r\n",
            };
            w.write_all(reply).await?;
            if line == "QUIT" || (dying && line.starts_with("EHLO")) {
                break;
            }
        }
        Ok::<_, std::io::Error>(())
    });
    let s = ClientSession::connect(Box::new(client), "me.test", Timeouts::default())
        .await
        .unwrap();
    let opened = Opened {
        session: s,
        tls: "none".into(),
        peer: "fake".into(),
    };
    (opened, log)
}

fn dest(port: u16, security: Security) -> Dest {
    let hop = Hop {
        name: "mx.example".into(),
        addrs: vec!["127.0.0.1".parse().unwrap()],
        port,
    };
    let plan = Plan {
        hops: vec![hop.clone()],
        security,
        auth: None,
        via_relay: false,
    };
    Dest::new(&plan, &hop, hop.addrs[0], "me.test", None)
}

fn plain() -> Dest {
    dest(25, Security::Plain)
}

async fn conn(cache: &ConnCache, max: usize, dying: bool) -> (Conn, Log) {
    let slot = cache.slot(max).await;
    let (opened, log) = session(dying).await;
    (Conn::new(opened, slot), log)
}

fn commands(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// Lets other tasks (timers, QUITs in the background) run; the clock is paused.
async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}

const TTL: Duration = Duration::from_secs(2);

#[tokio::test(start_paused = true)]
async fn a_parked_connection_is_reused_after_an_rset() {
    let cache = ConnCache::default();
    let (mut c, log) = conn(&cache, 10, false).await;
    c.sent = 3;
    cache.park(plain(), c, TTL, 100).await;
    assert_eq!((cache.parked(), cache.open()), (1, 1));
    let (d, c) = cache.take_live(&[plain()]).await.expect("reused");
    assert_eq!(d, plain());
    assert_eq!(c.sent, 3, "the message count goes on across reuse");
    assert!(!c.needs_rset, "the liveness RSET leaves a clean session");
    assert_eq!(commands(&log), ["EHLO me.test", "RSET"]);
    assert_eq!((cache.parked(), cache.open()), (0, 1));
    drop(c);
    assert_eq!(cache.open(), 0, "the slot goes with the connection");
}

#[tokio::test(start_paused = true)]
async fn only_the_same_destination_and_security_reuse() {
    let cache = ConnCache::default();
    let (c, _) = conn(&cache, 10, false).await;
    cache.park(plain(), c, TTL, 100).await;
    let other_port = dest(2525, Security::Plain);
    let tls = dest(
        25,
        Security::StartTls {
            require: true,
            verify: true,
        },
    );
    assert!(cache.take_live(&[other_port, tls]).await.is_none());
    assert_eq!(cache.parked(), 1);
    assert!(cache.take_live(&[plain()]).await.is_some());
}

#[tokio::test(start_paused = true)]
async fn a_parked_connection_expires_with_quit() {
    let cache = ConnCache::default();
    let (c, log) = conn(&cache, 10, false).await;
    cache.park(plain(), c, TTL, 100).await;
    tokio::time::sleep(TTL - Duration::from_millis(100)).await;
    settle().await;
    assert_eq!(cache.parked(), 1, "still parked just before its time");
    tokio::time::sleep(Duration::from_millis(200)).await;
    settle().await;
    assert_eq!((cache.parked(), cache.open()), (0, 0));
    assert_eq!(commands(&log).last().map(String::as_str), Some("QUIT"));
    assert!(cache.take_live(&[plain()]).await.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_dead_connection_is_dropped_and_a_live_one_found() {
    let cache = ConnCache::default();
    let (live, live_log) = conn(&cache, 10, false).await;
    let (dead, _) = conn(&cache, 10, true).await;
    cache.park(plain(), live, TTL, 100).await;
    cache.park(plain(), dead, TTL, 100).await;
    assert_eq!(cache.parked(), 2);
    // The newest (dead) one is tried first; its failed RSET only drops it.
    let (_, c) = cache.take_live(&[plain()]).await.expect("the live one");
    assert_eq!(commands(&live_log), ["EHLO me.test", "RSET"]);
    assert_eq!((cache.parked(), cache.open()), (0, 1));
    drop(c);
    let (dead, _) = conn(&cache, 10, true).await;
    cache.park(plain(), dead, TTL, 100).await;
    assert!(
        cache.take_live(&[plain()]).await.is_none(),
        "nothing alive: the caller connects afresh"
    );
    assert_eq!(cache.open(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_new_connection_at_the_limit_closes_the_oldest_parked_one() {
    let cache = ConnCache::default();
    let (a, a_log) = conn(&cache, 2, false).await;
    let (b, b_log) = conn(&cache, 2, false).await;
    cache.park(plain(), a, TTL, 100).await;
    cache.park(dest(2525, Security::Plain), b, TTL, 100).await;
    assert_eq!(cache.open(), 2);
    let (_c, _) = conn(&cache, 2, false).await;
    settle().await;
    assert_eq!(
        (cache.parked(), cache.open()),
        (1, 2),
        "max_connections kept"
    );
    assert_eq!(commands(&a_log).last().map(String::as_str), Some("QUIT"));
    assert!(!commands(&b_log).contains(&"QUIT".to_string()));
    // Below the limit nothing is closed.
    let (_d, _) = conn(&cache, 10, false).await;
    assert_eq!((cache.parked(), cache.open()), (1, 3));
}

#[tokio::test(start_paused = true)]
async fn connections_that_may_not_be_kept_are_closed() {
    let cache = ConnCache::default();
    let (mut c, log) = conn(&cache, 10, false).await;
    c.sent = 100;
    cache.park(plain(), c, TTL, 100).await;
    assert_eq!(cache.parked(), 0, "max_messages_per_connection reached");
    assert_eq!(commands(&log).last().map(String::as_str), Some("QUIT"));

    let (c, log) = conn(&cache, 10, false).await;
    cache.park(plain(), c, Duration::ZERO, 100).await;
    assert_eq!(cache.parked(), 0, "caching off");
    assert_eq!(commands(&log).last().map(String::as_str), Some("QUIT"));

    let (c, log) = conn(&cache, 10, false).await;
    tokio::time::sleep(REUSE_TIME_LIMIT).await;
    cache.park(plain(), c, TTL, 100).await;
    assert_eq!(cache.parked(), 0, "too old to reuse");
    assert_eq!(commands(&log).last().map(String::as_str), Some("QUIT"));
    assert_eq!(cache.open(), 0);
}

#[tokio::test(start_paused = true)]
async fn shutdown_closes_parked_connections_with_quit_and_parks_no_more() {
    let cache = ConnCache::default();
    let (a, a_log) = conn(&cache, 10, false).await;
    let (b, b_log) = conn(&cache, 10, false).await;
    cache.park(plain(), a, TTL, 100).await;
    cache
        .close_all(Instant::now() + Duration::from_secs(5))
        .await;
    assert_eq!(commands(&a_log).last().map(String::as_str), Some("QUIT"));
    assert_eq!(cache.parked(), 0);
    cache.park(plain(), b, TTL, 100).await;
    assert_eq!(cache.parked(), 0, "nothing is parked after shutdown");
    assert_eq!(commands(&b_log).last().map(String::as_str), Some("QUIT"));
    assert_eq!(cache.open(), 0);
}
