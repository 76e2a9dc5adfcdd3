//! CHUNKING (RFC 3030): BDAT instead of DATA.

use super::server::{expect, send, Step};
use super::*;
use crate::client::body::BDAT_CHUNK;
use rand::{Rng, SeedableRng};

/// Normalised line ends, no dot-stuffing: what BDAT must carry (the
/// encoder itself is checked against a plain reference in wire.rs).
fn crlf_only(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = crate::client::wire::BodyEncoder::bdat();
    enc.encode(input, &mut out);
    enc.finish(&mut out);
    out
}

fn envelope_steps() -> Vec<Step> {
    vec![
        expect("MAIL FROM:<a@x.test>"),
        expect("RCPT TO:<b@y.test>"),
        send("250 ok\r\n250 ok"),
    ]
}

#[tokio::test(start_paused = true)]
async fn a_small_body_is_one_last_chunk_without_dot_stuffing() {
    let body = b"Subject: t\n\n.dot\n.\nend";
    let (mut s, writes, server) = session(script(vec![
        hello(&["PIPELINING", "CHUNKING"]),
        envelope_steps(),
        vec![Step::BdatChunk, send("250 2.0.0 queued")],
    ]))
    .await;
    let env = envelope("a@x.test", &["b@y.test"]);
    let results = s
        .send(&env, &mut &body[..], body.len() as u64)
        .await
        .unwrap();
    assert_eq!(results[0].reply.text, "queued");
    // The envelope is pipelined, but not with DATA.
    let group = writes.flush_with("MAIL FROM");
    assert_eq!(group, "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\n");
    let t = server.await.unwrap();
    let wire = b"Subject: t\r\n\r\n.dot\r\n.\r\nend\r\n";
    assert_eq!(
        t.chunks,
        [(format!("BDAT {} LAST", wire.len()), wire.to_vec())]
    );
}

#[tokio::test(start_paused = true)]
async fn a_large_body_goes_in_chunks() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3030);
    let alphabet = b"\r\n.abcdefgh";
    let body: Vec<u8> = (0..3 * BDAT_CHUNK + 123)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())])
        .collect();
    let (mut s, _, server) = session(script(vec![
        hello(&["CHUNKING"]),
        vec![
            expect("MAIL FROM:<a@x.test>"),
            send("250 ok"),
            expect("RCPT TO:<b@y.test>"),
            send("250 ok"),
            Step::BdatAll,
            send("250 2.0.0 all of it"),
        ],
    ]))
    .await;
    let env = envelope("a@x.test", &["b@y.test"]);
    let results = s
        .send(&env, &mut &body[..], body.len() as u64)
        .await
        .unwrap();
    assert_eq!(results[0].reply.text, "all of it");
    let t = server.await.unwrap();
    assert_eq!(t.bdat_body(), crlf_only(&body));
    assert!(t.chunks.len() >= 3, "{}", t.chunks.len());
    let (last, middle) = t.chunks.split_last().unwrap();
    assert!(last.0.ends_with(" LAST"));
    for (head, octets) in middle {
        assert_eq!(head, &format!("BDAT {}", octets.len()));
        assert!(octets.len() >= BDAT_CHUNK);
    }
}

#[tokio::test(start_paused = true)]
async fn an_empty_body_is_bdat_0_last() {
    let (mut s, _, server) = session(script(vec![
        hello(&["PIPELINING", "CHUNKING"]),
        envelope_steps(),
        vec![expect("BDAT 0 LAST"), send("250 ok")],
    ]))
    .await;
    let env = envelope("a@x.test", &["b@y.test"]);
    s.send(&env, &mut &b""[..], 0).await.unwrap();
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_refused_chunk_ends_the_transaction_with_rset() {
    let body = vec![b'x'; 2 * BDAT_CHUNK];
    let (mut s, _, server) = session(script(vec![
        hello(&["PIPELINING", "CHUNKING"]),
        envelope_steps(),
        vec![
            Step::BdatChunk,
            send("552 5.3.4 message too big"),
            expect("RSET"),
            send("250 ok"),
        ],
    ]))
    .await;
    let env = envelope("a@x.test", &["b@y.test"]);
    let results = s
        .send(&env, &mut &body[..], body.len() as u64)
        .await
        .unwrap();
    assert_eq!(results[0].reply.to_string(), "552 5.3.4 message too big");
    assert!(!s.is_broken());
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_refused_last_chunk_is_the_final_reply() {
    let (mut s, _, server) = session(script(vec![
        hello(&["PIPELINING", "CHUNKING"]),
        envelope_steps(),
        vec![Step::BdatChunk, send("451 4.3.0 try again")],
        vec![expect("QUIT"), send("221 bye")],
    ]))
    .await;
    let env = envelope("a@x.test", &["b@y.test"]);
    let results = s.send(&env, &mut &b"hi"[..], 2).await.unwrap();
    assert!(results[0].reply.is_transient());
    s.quit().await;
    server.await.unwrap();
}
