//! Greeting, EHLO/HELO, RSET, QUIT, deadlines.

use super::server::{expect, send, start, Step};
use super::*;
use crate::client::{Capabilities, ClientError, Stage};
use std::time::Duration;
use tokio::time::Instant;

async fn connect(steps: Vec<Step>) -> Result<ClientSession, ClientError> {
    let (io, _, _server) = start(steps);
    ClientSession::connect(io, HELO, Timeouts::default()).await
}

#[tokio::test(start_paused = true)]
async fn ehlo_capabilities_are_parsed() {
    let (s, _, server) = session(hello(&[
        "PIPELINING",
        "SIZE 10240000",
        "8BITMIME",
        "AUTH PLAIN LOGIN",
        "ENHANCEDSTATUSCODES",
    ]))
    .await;
    assert_eq!(s.greeting().code, 220);
    assert_eq!(s.greeting().text, "mx.test ESMTP ready");
    let c = s.capabilities();
    assert!(c.pipelining && c.eight_bit_mime && c.enhanced_status_codes);
    assert!(!c.starttls && !c.chunking && !c.dsn && !c.smtputf8);
    assert_eq!(c.size, Some(10240000));
    assert_eq!(c.auth, ["PLAIN", "LOGIN"]);
    assert_eq!(server.await.unwrap().lines, ["EHLO client.test"]);
}

#[tokio::test(start_paused = true)]
async fn helo_when_ehlo_is_unknown() {
    for refusal in ["500 5.5.1 command unrecognized", "502 not implemented"] {
        let (s, _, server) = session(vec![
            send("220 old.test SMTP"),
            expect("EHLO client.test"),
            send(refusal),
            expect("HELO client.test"),
            send("250 old.test"),
        ])
        .await;
        assert_eq!(s.capabilities(), &Capabilities::default());
        assert_eq!(server.await.unwrap().lines.len(), 2);
    }
}

#[tokio::test(start_paused = true)]
async fn a_refused_helo_is_an_error() {
    let err = connect(vec![
        send("220 old.test SMTP"),
        expect("EHLO client.test"),
        send("500 what"),
        expect("HELO client.test"),
        send("550 go away"),
    ])
    .await
    .err()
    .unwrap();
    assert!(
        matches!(
            err,
            ClientError::Rejected {
                stage: Stage::Helo,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.is_permanent());
}

#[tokio::test(start_paused = true)]
async fn a_transient_ehlo_refusal_is_not_followed_by_helo() {
    let err = connect(script(vec![
        vec![send("220 mx.test"), expect("EHLO client.test")],
        vec![send("421 4.3.2 busy")],
    ]))
    .await
    .err()
    .unwrap();
    assert!(
        matches!(
            err,
            ClientError::Rejected {
                stage: Stage::Ehlo,
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.is_permanent());
}

#[tokio::test(start_paused = true)]
async fn a_refusing_greeting_is_rejected_and_answered_with_quit() {
    let (io, _, server) = start(vec![
        send("554 5.7.1 no mail from you"),
        expect("QUIT"),
        send("221 bye"),
    ]);
    let err = ClientSession::connect(io, HELO, Timeouts::default())
        .await
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "554 5.7.1 no mail from you (in reply to greeting)"
    );
    assert!(err.is_permanent());
    assert_eq!(err.reply().unwrap().enhanced.as_deref(), Some("5.7.1"));
    assert_eq!(server.await.unwrap().lines, ["QUIT"]);
}

#[tokio::test(start_paused = true)]
async fn a_421_greeting_is_transient() {
    let err = connect(vec![send("421 too busy")]).await.err().unwrap();
    assert!(matches!(
        err,
        ClientError::Rejected {
            stage: Stage::Greeting,
            ..
        }
    ));
    assert!(!err.is_permanent());
}

#[tokio::test(start_paused = true)]
async fn a_bad_helo_name_sends_nothing() {
    for name in ["", "two words", "x\r\nMAIL FROM:<a@b>"] {
        let (io, writes, _server) = start(vec![send("220 mx.test")]);
        let err = ClientSession::connect(io, name, Timeouts::default())
            .await
            .err()
            .unwrap();
        assert!(matches!(err, ClientError::Invalid(_)), "{name:?}: {err}");
        assert!(writes.flushes().is_empty());
    }
}

#[tokio::test(start_paused = true)]
async fn greeting_timeout() {
    let start_time = Instant::now();
    let err = connect(vec![Step::Hang]).await.err().unwrap();
    assert!(
        matches!(err, ClientError::Timeout(Stage::Greeting)),
        "{err}"
    );
    assert_eq!(start_time.elapsed().as_secs(), 300, "RFC 5321 §4.5.3.2.1");
}

#[tokio::test(start_paused = true)]
async fn ehlo_timeout_is_configurable() {
    let (io, _, _server) = start(vec![
        send("220 mx.test"),
        expect("EHLO client.test"),
        Step::Hang,
    ]);
    let timeouts = Timeouts {
        ehlo: Duration::from_secs(7),
        ..Timeouts::default()
    };
    let start_time = Instant::now();
    let err = ClientSession::connect(io, HELO, timeouts)
        .await
        .err()
        .unwrap();
    assert!(matches!(err, ClientError::Timeout(Stage::Ehlo)), "{err}");
    assert_eq!(start_time.elapsed().as_secs(), 7);
}

#[tokio::test(start_paused = true)]
async fn a_server_that_hangs_up_is_reported() {
    let err = connect(vec![send("220 mx.test"), expect("EHLO client.test")])
        .await
        .err()
        .unwrap();
    assert!(matches!(err, ClientError::Closed(Stage::Ehlo)), "{err}");
    assert_eq!(err.to_string(), "connection closed by the server at EHLO");
}

#[tokio::test(start_paused = true)]
async fn rset_and_quit() {
    let (mut s, _, server) = session(script(vec![
        hello(&[]),
        vec![expect("RSET"), send("250 2.0.0 ok")],
        vec![expect("RSET"), send("500 no")],
    ]))
    .await;
    s.rset().await.unwrap();
    let err = s.rset().await.unwrap_err();
    assert!(matches!(
        err,
        ClientError::Rejected {
            stage: Stage::Rset,
            ..
        }
    ));
    // A failed RSET leaves the transaction state unknown.
    assert!(matches!(s.rset().await, Err(ClientError::Unusable)));
    s.quit().await;
    assert_eq!(server.await.unwrap().lines.len(), 3);
}

#[tokio::test(start_paused = true)]
async fn quit_waits_briefly() {
    let (s, _, server) = session(script(vec![hello(&[]), vec![expect("QUIT"), Step::Hang]])).await;
    let start_time = Instant::now();
    s.quit().await;
    assert!(start_time.elapsed() <= Duration::from_secs(60));
    server.abort();
}

#[tokio::test(start_paused = true)]
async fn a_broken_session_refuses_further_work() {
    let (mut s, _, _server) =
        session(script(vec![hello(&[]), vec![expect("RSET"), Step::Hang]])).await;
    assert!(matches!(
        s.rset().await,
        Err(ClientError::Timeout(Stage::Rset))
    ));
    assert!(s.is_broken());
    let env = envelope("a@x.test", &["b@y.test"]);
    let err = s.send(&env, &mut &b"body"[..], 4).await.unwrap_err();
    assert!(matches!(err, ClientError::Unusable), "{err}");
}

/// Garbage from the server is an error, never a panic or a hang.
#[tokio::test(start_paused = true)]
async fn random_server_bytes_never_panic() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(99);
    let alphabet = b"0123455- .\r\n\r\n2505";
    for _ in 0..300 {
        let len = rng.random_range(0..80);
        let noise: String = (0..len)
            .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
            .collect();
        let (io, _, _server) = start(vec![Step::Send(noise)]);
        let _ = ClientSession::connect(io, HELO, Timeouts::default()).await;
    }
}

#[test]
fn futures_are_send() {
    fn is_send<T: Send>(_: &T) {}
    let (io, _) = tokio::io::duplex(16);
    let connect = ClientSession::connect(Box::new(io), HELO, Timeouts::default());
    is_send(&connect);
    #[allow(dead_code)]
    async fn send_one(s: &mut ClientSession, env: &Envelope) {
        let mut body = tokio::io::empty();
        let fut = s.send(env, &mut body, 0);
        is_send(&fut);
        let _ = fut.await;
    }
}
