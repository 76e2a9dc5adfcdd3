//! AUTH PLAIN and LOGIN (RFC 4954).

use super::server::{expect, send, Step};
use super::*;
use crate::client::{ClientError, Stage};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use postern_store::Secret;

fn password() -> Secret<String> {
    Secret::new("s3cret pass".to_string())
}

fn b64(s: &str) -> String {
    STANDARD.encode(s)
}

#[tokio::test(start_paused = true)]
async fn plain_is_preferred_and_sent_as_an_initial_response() {
    let (mut s, _, server) = session(script(vec![
        hello(&["AUTH LOGIN PLAIN"]),
        vec![
            expect(&format!("AUTH PLAIN {}", b64("\0alice\0s3cret pass"))),
            send("235 2.7.0 Authentication successful"),
        ],
    ]))
    .await;
    s.authenticate("alice", &password()).await.unwrap();
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn login_when_plain_is_not_offered() {
    let (mut s, _, server) = session(script(vec![
        hello(&["AUTH=LOGIN", "AUTH LOGIN CRAM-MD5"]),
        vec![
            expect("AUTH LOGIN"),
            send("334 VXNlcm5hbWU6"),
            expect(&b64("alice")),
            send("334 UGFzc3dvcmQ6"),
            expect(&b64("s3cret pass")),
            send("235 2.7.0 ok"),
        ],
    ]))
    .await;
    s.authenticate("alice", &password()).await.unwrap();
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn long_credentials_wait_for_the_challenge() {
    let user = "u".repeat(400);
    let (mut s, _, server) = session(script(vec![
        hello(&["AUTH PLAIN"]),
        vec![
            expect("AUTH PLAIN"),
            send("334 "),
            expect(&b64(&format!("\0{user}\0s3cret pass"))),
            send("235 ok"),
        ],
    ]))
    .await;
    s.authenticate(&user, &password()).await.unwrap();
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn refused_credentials_are_rejected_without_the_password() {
    let (mut s, _, _server) = session(script(vec![
        hello(&["AUTH PLAIN"]),
        vec![
            Step::Expect(format!("AUTH PLAIN {}", b64("\0alice\0s3cret pass"))),
            send("535 5.7.8 Authentication credentials invalid"),
        ],
    ]))
    .await;
    let err = s.authenticate("alice", &password()).await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Rejected {
                stage: Stage::Auth,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.is_permanent());
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("s3cret") && !shown.contains(&b64("\0alice\0s3cret pass")));
    assert!(!s.is_broken(), "a refusal leaves the session usable");
}

#[tokio::test(start_paused = true)]
async fn a_refusal_during_login_is_rejected() {
    let (mut s, _, _server) = session(script(vec![
        hello(&["AUTH LOGIN"]),
        vec![expect("AUTH LOGIN"), send("454 4.7.0 try later")],
    ]))
    .await;
    let err = s.authenticate("alice", &password()).await.unwrap_err();
    assert!(matches!(
        err,
        ClientError::Rejected {
            stage: Stage::Auth,
            ..
        }
    ));
    assert!(!err.is_permanent());
}

#[tokio::test(start_paused = true)]
async fn a_server_asking_for_more_is_cancelled() {
    let (mut s, _, server) = session(script(vec![
        hello(&["AUTH PLAIN"]),
        vec![
            Step::Expect(format!("AUTH PLAIN {}", b64("\0alice\0s3cret pass"))),
            send("334 more?"),
            expect("*"),
            send("501 5.7.0 cancelled"),
        ],
    ]))
    .await;
    let err = s.authenticate("alice", &password()).await.unwrap_err();
    assert!(matches!(err, ClientError::Protocol(_)), "{err}");
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn no_usable_mechanism() {
    for offered in [&[][..], &["AUTH CRAM-MD5 XOAUTH2"]] {
        let (mut s, writes, _server) = session(hello(offered)).await;
        let before = writes.flushes().len();
        let err = s.authenticate("alice", &password()).await.unwrap_err();
        assert!(matches!(err, ClientError::NoAuthMechanism), "{err}");
        assert_eq!(writes.flushes().len(), before, "nothing sent");
    }
}
