//! The driver against scripted servers on loopback: timeouts (on tokio's
//! paused clock), the listing limit, STLS injection, and what a run records.

use super::driver::{fetch, Account, Delivered, FetchError, Sink, Tls};
use super::plan::Policy;
use super::reply::ClientError;
use super::{MAX_LISTING, MAX_MESSAGE};
use postern_sasl::Secret;
use std::collections::HashMap;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Default)]
struct Memory {
    delivered: Vec<Vec<u8>>,
    seen: Vec<String>,
    /// Stop after this many deliveries.
    stop_after: Option<usize>,
}

impl Sink for Memory {
    fn stopping(&self) -> bool {
        self.stop_after.is_some_and(|n| self.delivered.len() >= n)
    }

    async fn deliver(&mut self, message: &[u8]) -> Delivered {
        self.delivered.push(message.to_vec());
        Delivered::Yes
    }
    async fn mark_seen(&mut self, uidl: &str) -> Result<(), String> {
        self.seen.push(uidl.to_string());
        Ok(())
    }
    async fn forget(&mut self, _: &[String]) -> Result<(), String> {
        Ok(())
    }
}

fn account(port: u16, tls: Tls) -> Account {
    Account {
        host: "127.0.0.1".into(),
        port,
        tls,
        verify: true,
        ca_file: None,
        user: "u".into(),
        password: Secret::new("p".into()),
        apop: false,
    }
}

fn policy() -> Policy {
    Policy {
        keep: true,
        delete_after_secs: None,
        now: 0,
        max_message: MAX_MESSAGE as u64,
    }
}

/// A server that answers each command line with the next of `replies`
/// (after `greeting`), then stays silent.
async fn scripted(greeting: &'static [u8], replies: Vec<Vec<u8>>) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (s, _) = l.accept().await.unwrap();
        let (r, mut w) = tokio::io::split(s);
        let mut r = BufReader::new(r);
        w.write_all(greeting).await.unwrap();
        for reply in replies {
            let mut line = String::new();
            if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            if w.write_all(&reply).await.is_err() {
                return;
            }
        }
        std::future::pending::<()>().await;
    });
    port
}

#[tokio::test(start_paused = true)]
async fn a_silent_server_times_out() {
    let port = scripted(b"", vec![]).await;
    let err = fetch(
        &account(port, Tls::None),
        &HashMap::new(),
        policy(),
        &mut Memory::default(),
    )
    .await;
    assert!(
        matches!(err, Err(FetchError::Timeout("greeting"))),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_listing_crossing_max_listing_ends_the_run() {
    let line = b"1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    let mut uidl = b"+OK\r\n".to_vec();
    while uidl.len() < MAX_LISTING + 10 {
        uidl.extend_from_slice(line);
    }
    uidl.extend_from_slice(b".\r\n");
    let port = scripted(
        b"+OK hi\r\n",
        vec![b"+OK\r\n".to_vec(), b"+OK\r\n".to_vec(), uidl],
    )
    .await;
    let err = fetch(
        &account(port, Tls::None),
        &HashMap::new(),
        policy(),
        &mut Memory::default(),
    )
    .await;
    assert!(
        matches!(
            err,
            Err(FetchError::Protocol {
                stage: "UIDL",
                source: ClientError::TooLarge(MAX_LISTING)
            })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn data_after_the_stls_reply_is_refused() {
    // RFC 2595 §4 (and CVE-2011-0411's kind): nothing may follow +OK before TLS.
    let port = scripted(
        b"+OK hi\r\n",
        vec![b"+OK begin TLS\r\n+OK injected\r\n".to_vec()],
    )
    .await;
    let err = fetch(
        &account(port, Tls::Starttls),
        &HashMap::new(),
        policy(),
        &mut Memory::default(),
    )
    .await;
    assert!(matches!(err, Err(FetchError::StlsInjection)), "{err:?}");
}

#[tokio::test]
async fn a_run_delivers_then_records_and_keeps() {
    let replies = vec![
        b"+OK\r\n".to_vec(),
        b"+OK\r\n".to_vec(),
        b"+OK\r\n1 old\r\n2 new\r\n.\r\n".to_vec(),
        b"+OK\r\n1 10\r\n2 12\r\n.\r\n".to_vec(),
        b"+OK\r\nSubject: x\r\n\r\n..hi\r\n.\r\n".to_vec(),
        b"+OK bye\r\n".to_vec(),
    ];
    let port = scripted(b"+OK hi\r\n", replies).await;
    let seen = HashMap::from([("old".to_string(), 0)]);
    let mut sink = Memory::default();
    let sum = fetch(&account(port, Tls::None), &seen, policy(), &mut sink)
        .await
        .unwrap();
    assert_eq!((sum.fetched, sum.deleted, sum.left), (1, 0, 2));
    assert_eq!(sink.delivered, vec![b"Subject: x\r\n\r\n.hi\r\n".to_vec()]);
    assert_eq!(sink.seen, vec!["new".to_string()]);
}

#[tokio::test]
async fn a_stopping_sink_ends_the_run_after_the_message_in_hand() {
    let replies = vec![
        b"+OK\r\n".to_vec(),
        b"+OK\r\n".to_vec(),
        b"+OK\r\n1 a\r\n2 b\r\n.\r\n".to_vec(),
        b"+OK\r\n1 10\r\n2 12\r\n.\r\n".to_vec(),
        b"+OK\r\nSubject: a\r\n\r\n.\r\n".to_vec(),
        b"+OK deleted\r\n".to_vec(),
        b"+OK bye\r\n".to_vec(),
    ];
    let port = scripted(b"+OK hi\r\n", replies).await;
    let mut sink = Memory {
        stop_after: Some(1),
        ..Memory::default()
    };
    let mut p = policy();
    p.keep = false;
    let sum = fetch(&account(port, Tls::None), &HashMap::new(), p, &mut sink)
        .await
        .unwrap();
    // The first delivered, recorded and deleted at QUIT; the second left.
    assert_eq!((sum.fetched, sum.deleted, sum.left), (1, 1, 1));
    assert_eq!(sink.seen, vec!["a".to_string()]);
}
