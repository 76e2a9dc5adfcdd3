//! STARTTLS (RFC 3207) against the server side of postern_net::tls.

use super::server::{expect, send, Step};
use super::*;
use crate::client::{ClientError, Stage};
use postern_net::tls_client::TlsClient;
use std::path::PathBuf;
use tokio_rustls::TlsAcceptor;

/// A self-signed certificate for mx.test: the acceptor, and the PEM path to trust it.
fn certificate(dir: &tempfile::TempDir) -> (TlsAcceptor, PathBuf) {
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    postern_net::tls::generate_self_signed("mx.test", &cert, &key).unwrap();
    (postern_net::tls::acceptor(&cert, &key).unwrap(), cert)
}

fn upgrade(acceptor: TlsAcceptor) -> Vec<Step> {
    vec![
        expect("STARTTLS"),
        send("220 2.0.0 ready to start TLS"),
        Step::StartTls(acceptor),
        expect("EHLO client.test"),
        send(&ehlo_reply(&["AUTH PLAIN", "SIZE 100"])),
    ]
}

#[tokio::test(start_paused = true)]
async fn upgrade_then_ehlo_again_with_new_capabilities() {
    let dir = tempfile::tempdir().unwrap();
    let (acceptor, cert) = certificate(&dir);
    let (s, _, server) = session(script(vec![
        hello(&["STARTTLS", "PIPELINING"]),
        upgrade(acceptor),
        vec![expect("RSET"), send("250 2.0.0 ok")],
    ]))
    .await;
    assert!(s.capabilities().starttls);
    let tls = TlsClient::new(Some(&cert)).unwrap();
    let (mut s, info) = s.starttls(&tls, "mx.test", true).await.unwrap();
    assert!(info.verified);
    assert!(info.version.starts_with("TLSv1."), "{info:?}");
    // RFC 3207 §4.2: what was offered before TLS is forgotten.
    let c = s.capabilities();
    assert!(!c.starttls && !c.pipelining);
    assert_eq!(c.auth, ["PLAIN"]);
    assert_eq!(c.size, Some(100));
    s.rset().await.unwrap();
    assert_eq!(server.await.unwrap().lines.len(), 4);
}

#[tokio::test(start_paused = true)]
async fn opportunistic_tls_accepts_an_unverified_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (acceptor, _) = certificate(&dir);
    let (s, _, _server) = session(script(vec![hello(&["STARTTLS"]), upgrade(acceptor)])).await;
    let tls = TlsClient::new(None).unwrap();
    let (_, info) = s.starttls(&tls, "mx.test", false).await.unwrap();
    assert!(!info.verified);
}

#[tokio::test(start_paused = true)]
async fn required_verification_fails_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let (acceptor, _) = certificate(&dir);
    let (s, _, _server) = session(script(vec![hello(&["STARTTLS"]), upgrade(acceptor)])).await;
    let tls = TlsClient::new(None).unwrap();
    let err = s.starttls(&tls, "mx.test", true).await.err().unwrap();
    assert!(matches!(err, ClientError::Tls(_)), "{err}");
    assert!(!err.is_permanent());
}

/// Bytes after the 220 arrived in clear; read after the handshake they
/// would pass for the TLS server's (CVE-2011-0411 from the client side).
#[tokio::test(start_paused = true)]
async fn bytes_injected_after_the_220_are_refused() {
    let (s, _, _server) = session(script(vec![
        hello(&["STARTTLS"]),
        vec![
            expect("STARTTLS"),
            Step::Send("220 go ahead\r\n250-mx.test\r\n250 AUTH PLAIN\r\n".into()),
            Step::Hang,
        ],
    ]))
    .await;
    let tls = TlsClient::new(None).unwrap();
    let err = s.starttls(&tls, "mx.test", false).await.err().unwrap();
    assert!(matches!(err, ClientError::Protocol(_)), "{err}");
    assert!(
        err.to_string().contains("after its STARTTLS reply"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_refused_starttls_is_rejected() {
    let (s, _, _server) = session(script(vec![
        hello(&["STARTTLS"]),
        vec![expect("STARTTLS"), send("454 4.7.0 TLS not available")],
    ]))
    .await;
    let tls = TlsClient::new(None).unwrap();
    let err = s.starttls(&tls, "mx.test", false).await.err().unwrap();
    assert!(
        matches!(
            err,
            ClientError::Rejected {
                stage: Stage::StartTls,
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.is_permanent());
}

#[tokio::test(start_paused = true)]
async fn a_stalled_handshake_times_out() {
    let (s, _, _server) = session(script(vec![
        hello(&["STARTTLS"]),
        vec![expect("STARTTLS"), send("220 go ahead"), Step::Hang],
    ]))
    .await;
    let tls = TlsClient::new(None).unwrap();
    let err = s.starttls(&tls, "mx.test", false).await.err().unwrap();
    assert!(
        matches!(err, ClientError::Timeout(Stage::TlsHandshake)),
        "{err}"
    );
}
