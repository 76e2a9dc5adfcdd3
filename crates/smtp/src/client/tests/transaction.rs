//! Mail transactions with DATA: pipelined and lock-step, refusals at each
//! step, DSN parameters, failures in the middle.

use super::server::{expect, send, Step};
use super::*;
use crate::client::transaction::PIPELINE_GROUP;
use crate::client::{ClientError, RecipientResult, Reply, Stage};
use smtp_proto::{RCPT_NOTIFY_FAILURE, RCPT_NOTIFY_SUCCESS};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::time::Instant;

const BODY: &[u8] = b"Subject: t\n\n.hidden\nline\r\n.";
const WIRE: &[u8] = b"Subject: t\r\n\r\n..hidden\r\nline\r\n..\r\n.\r\n";
const DECODED: &[u8] = b"Subject: t\r\n\r\n.hidden\r\nline\r\n.\r\n";

async fn send_body(
    s: &mut ClientSession,
    env: &Envelope,
) -> Result<Vec<RecipientResult>, ClientError> {
    s.send(env, &mut &BODY[..], BODY.len() as u64).await
}

fn codes(results: &[RecipientResult]) -> Vec<u16> {
    results.iter().map(|r| r.reply.code).collect()
}

fn quit() -> Vec<Step> {
    vec![expect("QUIT"), send("221 bye")]
}

#[tokio::test(start_paused = true)]
async fn pipelined_envelope_and_data_go_in_one_write() {
    let mail = format!("MAIL FROM:<a@x.test> SIZE={} BODY=8BITMIME", BODY.len());
    let (mut s, writes, server) = session(script(vec![
        hello(&["PIPELINING", "SIZE 1000000", "8BITMIME"]),
        // Nothing is answered before DATA arrives: a lock-step client would
        // wait for the MAIL reply and time out.
        vec![
            expect(&mail),
            expect("RCPT TO:<b@y.test>"),
            expect("RCPT TO:<c@y.test>"),
            expect("DATA"),
            send("250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.1.5 ok\r\n354 go ahead"),
            Step::Data,
            send("250 2.0.0 queued as 123"),
        ],
        quit(),
    ]))
    .await;
    let env = Envelope {
        eight_bit: true,
        ..envelope("a@x.test", &["b@y.test", "c@y.test"])
    };
    let results = send_body(&mut s, &env).await.unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].address, "b@y.test");
    assert_eq!(
        results[1].reply,
        Reply::new(250, Some("2.0.0"), "queued as 123")
    );
    let group = writes.flush_with("MAIL FROM");
    assert_eq!(
        group,
        format!("{mail}\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n")
    );
    s.quit().await;
    let t = server.await.unwrap();
    assert_eq!(t.data, [(WIRE.to_vec(), DECODED.to_vec())]);
}

#[tokio::test(start_paused = true)]
async fn lock_step_without_pipelining() {
    let (mut s, writes, server) = session(script(vec![
        hello(&[]),
        vec![
            expect("MAIL FROM:<a@x.test>"),
            send("250 ok"),
            expect("RCPT TO:<b@y.test>"),
            send("250 ok"),
            expect("DATA"),
            send("354 go ahead"),
            Step::Data,
            send("250 2.0.0 ok"),
        ],
        quit(),
    ]))
    .await;
    let results = send_body(&mut s, &envelope("a@x.test", &["b@y.test"]))
        .await
        .unwrap();
    assert_eq!(codes(&results), [250]);
    assert_eq!(writes.flush_with("MAIL"), "MAIL FROM:<a@x.test>\r\n");
    assert_eq!(writes.flush_with("RCPT"), "RCPT TO:<b@y.test>\r\n");
    assert_eq!(writes.flush_with("DATA"), "DATA\r\n");
    s.quit().await;
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn some_recipients_refused() {
    let (mut s, _, server) = session(script(vec![
        hello(&["PIPELINING"]),
        vec![
            expect("MAIL FROM:<a@x.test>"),
            expect("RCPT TO:<b@y.test>"),
            expect("RCPT TO:<nobody@y.test>"),
            expect("RCPT TO:<c@y.test>"),
            expect("DATA"),
            send("250 ok\r\n250 ok\r\n550 5.1.1 no such user\r\n250 ok\r\n354 go"),
            Step::Data,
            send("250 2.0.0 queued"),
        ],
        quit(),
    ]))
    .await;
    let env = envelope("a@x.test", &["b@y.test", "nobody@y.test", "c@y.test"]);
    let results = send_body(&mut s, &env).await.unwrap();
    assert_eq!(codes(&results), [250, 550, 250]);
    assert_eq!(results[1].reply.to_string(), "550 5.1.1 no such user");
    assert_eq!(results[2].reply.text, "queued");
    s.quit().await;
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_refused_mail_from_answers_every_recipient() {
    let (mut s, _, server) = session(script(vec![
        hello(&["PIPELINING"]),
        vec![
            expect("MAIL FROM:<a@x.test>"),
            expect("RCPT TO:<b@y.test>"),
            expect("RCPT TO:<c@y.test>"),
            expect("DATA"),
            send("550 5.7.1 sender refused\r\n503 5.5.1 no MAIL\r\n503 5.5.1 no MAIL\r\n503 5.5.1 no MAIL"),
        ],
        // No RSET: without MAIL there is no transaction.
        quit(),
    ]))
    .await;
    let results = send_body(&mut s, &envelope("a@x.test", &["b@y.test", "c@y.test"]))
        .await
        .unwrap();
    assert_eq!(codes(&results), [550, 550]);
    assert_eq!(results[0].reply.text, "sender refused");
    s.quit().await;
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn lock_step_stops_at_a_refused_mail_from() {
    let (mut s, _, server) = session(script(vec![
        hello(&[]),
        vec![expect("MAIL FROM:<a@x.test>"), send("451 4.3.0 try later")],
        quit(),
    ]))
    .await;
    let results = send_body(&mut s, &envelope("a@x.test", &["b@y.test", "c@y.test"]))
        .await
        .unwrap();
    assert_eq!(codes(&results), [451, 451]);
    assert!(results[0].reply.is_transient());
    s.quit().await;
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn no_recipient_accepted_then_rset() {
    let (mut s, _, server) = session(script(vec![
        hello(&["PIPELINING"]),
        vec![
            expect("MAIL FROM:<a@x.test>"),
            expect("RCPT TO:<b@y.test>"),
            expect("DATA"),
            send("250 ok\r\n550 5.1.1 unknown\r\n554 5.5.1 no valid recipients"),
            expect("RSET"),
            send("250 ok"),
        ],
        quit(),
    ]))
    .await;
    let results = send_body(&mut s, &envelope("a@x.test", &["b@y.test"]))
        .await
        .unwrap();
    assert_eq!(results[0].reply.to_string(), "550 5.1.1 unknown");
    s.quit().await;
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn lock_step_sends_no_data_without_recipients() {
    let (mut s, _, server) = session(script(vec![
        hello(&[]),
        vec![
            expect("MAIL FROM:<a@x.test>"),
            send("250 ok"),
            expect("RCPT TO:<b@y.test>"),
            send("450 4.2.0 mailbox busy"),
            expect("RSET"),
            send("250 ok"),
        ],
        quit(),
    ]))
    .await;
    let results = send_body(&mut s, &envelope("a@x.test", &["b@y.test"]))
        .await
        .unwrap();
    assert_eq!(codes(&results), [450]);
    s.quit().await;
    server.await.unwrap();
}

/// A server that answers a pipelined DATA with 354 although no recipient
/// was accepted: the data is ended at once, empty.
#[tokio::test(start_paused = true)]
async fn an_unwanted_354_is_ended_at_once() {
    let (mut s, _, server) = session(script(vec![
        hello(&["PIPELINING"]),
        vec![
            expect("MAIL FROM:<a@x.test>"),
            expect("RCPT TO:<b@y.test>"),
            expect("DATA"),
            send("250 ok\r\n550 no\r\n354 go ahead anyway"),
            expect("."),
            send("554 5.5.1 no recipients"),
        ],
        quit(),
    ]))
    .await;
    let results = send_body(&mut s, &envelope("a@x.test", &["b@y.test"]))
        .await
        .unwrap();
    assert_eq!(codes(&results), [550]);
    s.quit().await;
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn final_reply_4xx_and_5xx() {
    for (fin, transient) in [
        ("451 4.3.0 local error", true),
        ("554 5.6.0 content refused", false),
    ] {
        let (mut s, _, server) = session(script(vec![
            hello(&["PIPELINING"]),
            vec![
                expect("MAIL FROM:<a@x.test>"),
                expect("RCPT TO:<b@y.test>"),
                expect("RCPT TO:<c@y.test>"),
                expect("DATA"),
                send("250 ok\r\n250 ok\r\n550 5.1.1 unknown\r\n354 go"),
                Step::Data,
                send(fin),
            ],
            quit(),
        ]))
        .await;
        let env = envelope("a@x.test", &["b@y.test", "c@y.test"]);
        let results = send_body(&mut s, &env).await.unwrap();
        assert_eq!(results[0].reply.is_transient(), transient, "{fin}");
        assert_eq!(results[0].reply.is_permanent(), !transient, "{fin}");
        assert_eq!(
            results[1].reply.text, "unknown",
            "a refused recipient keeps its own reply"
        );
        s.quit().await;
        server.await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn a_refused_data_command_answers_the_accepted_and_resets() {
    let (mut s, _, server) = session(script(vec![
        hello(&["PIPELINING"]),
        vec![
            expect("MAIL FROM:<a@x.test>"),
            expect("RCPT TO:<b@y.test>"),
            expect("DATA"),
            send("250 ok\r\n250 ok\r\n451 4.3.1 no room"),
            expect("RSET"),
            send("250 ok"),
        ],
        quit(),
    ]))
    .await;
    let results = send_body(&mut s, &envelope("a@x.test", &["b@y.test"]))
        .await
        .unwrap();
    assert_eq!(results[0].reply.to_string(), "451 4.3.1 no room");
    s.quit().await;
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn dsn_parameters_only_when_offered() {
    let env = Envelope {
        env_id: Some("q1+x".into()),
        ret: Some("HDRS".into()),
        smtputf8: true,
        recipients: vec![EnvelopeRecipient {
            address: "b@y.test".into(),
            notify: RCPT_NOTIFY_SUCCESS | RCPT_NOTIFY_FAILURE,
            orcpt: Some("B=1@y.test".into()),
        }],
        ..envelope("a@x.test", &[])
    };
    for (dsn, mail, rcpt) in [
        (
            true,
            "MAIL FROM:<a@x.test> SMTPUTF8 RET=HDRS ENVID=q1+2Bx",
            "RCPT TO:<b@y.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;B+3D1@y.test",
        ),
        (false, "MAIL FROM:<a@x.test> SMTPUTF8", "RCPT TO:<b@y.test>"),
    ] {
        let extensions: &[&str] = if dsn {
            &["DSN", "SMTPUTF8"]
        } else {
            &["SMTPUTF8"]
        };
        let (mut s, _, server) = session(script(vec![
            hello(extensions),
            vec![
                expect(mail),
                send("250 ok"),
                expect(rcpt),
                send("250 ok"),
                expect("DATA"),
                send("354 go"),
                Step::Data,
                send("250 ok"),
            ],
        ]))
        .await;
        send_body(&mut s, &env).await.unwrap();
        server.await.unwrap();
    }
}

/// A 421 (RFC 5321 §3.8) ends the session: it is every answer still missing,
/// and the session is unusable afterwards.
#[tokio::test(start_paused = true)]
async fn a_421_in_the_envelope_answers_all_that_is_pending() {
    let (mut s, _, server) = session(script(vec![
        hello(&["PIPELINING"]),
        vec![
            expect("MAIL FROM:<a@x.test>"),
            expect("RCPT TO:<b@y.test>"),
            expect("RCPT TO:<bad@y.test>"),
            expect("RCPT TO:<c@y.test>"),
            expect("DATA"),
            send("250 ok\r\n250 ok\r\n550 5.1.1 unknown\r\n421 4.3.2 shutting down"),
        ],
    ]))
    .await;
    let env = envelope("a@x.test", &["b@y.test", "bad@y.test", "c@y.test"]);
    let results = send_body(&mut s, &env).await.unwrap();
    assert_eq!(codes(&results), [421, 550, 421]);
    assert!(s.is_broken());
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn pipelining_groups_are_bounded() {
    let to: Vec<String> = (0..150).map(|i| format!("r{i}@y.test")).collect();
    let first_group = PIPELINE_GROUP - 1;
    let mut steps = hello(&["PIPELINING"]);
    steps.push(expect("MAIL FROM:<a@x.test>"));
    steps.extend(
        to[..first_group]
            .iter()
            .map(|a| expect(&format!("RCPT TO:<{a}>"))),
    );
    steps.push(send(&vec!["250 ok"; PIPELINE_GROUP].join("\r\n")));
    steps.extend(
        to[first_group..]
            .iter()
            .map(|a| expect(&format!("RCPT TO:<{a}>"))),
    );
    steps.push(expect("DATA"));
    let mut rest = vec!["250 ok"; to.len() - first_group];
    rest.push("354 go");
    steps.extend([send(&rest.join("\r\n")), Step::Data, send("250 queued")]);
    let (mut s, writes, server) = session(steps).await;
    let addresses: Vec<&str> = to.iter().map(String::as_str).collect();
    let results = send_body(&mut s, &envelope("a@x.test", &addresses))
        .await
        .unwrap();
    assert!(results.iter().all(|r| r.reply.text == "queued"));
    let group = writes.flush_with("MAIL FROM");
    assert_eq!(group.lines().count(), PIPELINE_GROUP);
    let second = writes.flush_with("DATA\r\n");
    assert_eq!(second.lines().count(), to.len() - first_group + 1);
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn two_messages_on_one_connection() {
    let one = vec![
        expect("MAIL FROM:<a@x.test>"),
        send("250 ok"),
        expect("RCPT TO:<b@y.test>"),
        send("250 ok"),
        expect("DATA"),
        send("354 go"),
        Step::Data,
        send("250 ok"),
    ];
    let reset = vec![expect("RSET"), send("250 ok")];
    let again = vec![
        expect("MAIL FROM:<a@x.test>"),
        send("250 ok"),
        expect("RCPT TO:<b@y.test>"),
        send("250 ok"),
        expect("DATA"),
        send("354 go"),
        Step::Data,
        send("250 second"),
    ];
    let (mut s, _, server) = session(script(vec![hello(&[]), one, reset, again])).await;
    let env = envelope("a@x.test", &["b@y.test"]);
    send_body(&mut s, &env).await.unwrap();
    s.rset().await.unwrap();
    let results = send_body(&mut s, &env).await.unwrap();
    assert_eq!(results[0].reply.text, "second");
    assert_eq!(server.await.unwrap().data.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn nothing_to_send() {
    let (mut s, writes, _server) = session(hello(&[])).await;
    let before = writes.flushes().len();
    assert!(send_body(&mut s, &envelope("a@x.test", &[]))
        .await
        .unwrap()
        .is_empty());
    let smuggler = envelope("a@x.test", &["b@y.test>\r\nRCPT TO:<evil@z.test"]);
    let err = send_body(&mut s, &smuggler).await.unwrap_err();
    assert!(matches!(err, ClientError::Invalid(_)), "{err}");
    assert_eq!(writes.flushes().len(), before, "nothing sent");
    assert!(!s.is_broken());
}

#[tokio::test(start_paused = true)]
async fn replies_out_of_turn_are_protocol_errors() {
    for (rcpt_reply, data_reply) in [("354 what", "354 go"), ("250 ok", "250 no need")] {
        let (mut s, _, _server) = session(script(vec![
            hello(&["PIPELINING"]),
            vec![
                expect("MAIL FROM:<a@x.test>"),
                expect("RCPT TO:<b@y.test>"),
                expect("DATA"),
                send(&format!("250 ok\r\n{rcpt_reply}\r\n{data_reply}")),
                Step::Hang,
            ],
        ]))
        .await;
        let err = send_body(&mut s, &envelope("a@x.test", &["b@y.test"]))
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::Protocol(_)), "{err}");
        assert!(s.is_broken());
    }
}

#[tokio::test(start_paused = true)]
async fn the_server_hanging_up_during_data() {
    let (mut s, _, _server) = session(script(vec![
        hello(&[]),
        vec![
            expect("MAIL FROM:<a@x.test>"),
            send("250 ok"),
            expect("RCPT TO:<b@y.test>"),
            send("250 ok"),
            expect("DATA"),
            send("354 go"),
            Step::Data,
        ],
    ]))
    .await;
    let err = send_body(&mut s, &envelope("a@x.test", &["b@y.test"]))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Closed(Stage::DataDone)), "{err}");
    assert!(!err.is_permanent());
}

#[tokio::test(start_paused = true)]
async fn timeouts_in_a_transaction() {
    for (hang_after, stage, secs) in [("RCPT", Stage::Rcpt, 300), ("data", Stage::DataDone, 600)] {
        let mut steps = script(vec![
            hello(&[]),
            vec![
                expect("MAIL FROM:<a@x.test>"),
                send("250 ok"),
                expect("RCPT TO:<b@y.test>"),
            ],
        ]);
        if hang_after == "data" {
            steps.extend([send("250 ok"), expect("DATA"), send("354 go"), Step::Data]);
        }
        steps.push(Step::Hang);
        let (mut s, _, _server) = session(steps).await;
        let start = Instant::now();
        let err = send_body(&mut s, &envelope("a@x.test", &["b@y.test"]))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ClientError::Timeout(st) if st == stage),
            "{err}"
        );
        assert_eq!(start.elapsed().as_secs(), secs, "RFC 5321 §4.5.3.2");
    }
}

/// A body that gives some bytes, then fails.
struct FailingBody(usize);

impl AsyncRead for FailingBody {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.0 == 0 {
            return Poll::Ready(Err(std::io::Error::other("disk on fire")));
        }
        let n = self.0.min(buf.remaining());
        buf.put_slice(&b"x\r\n".repeat(n)[..n]);
        self.0 -= n;
        Poll::Ready(Ok(()))
    }
}

/// The data is never ended: the server must not take a truncated message.
#[tokio::test(start_paused = true)]
async fn a_body_that_cannot_be_read_abandons_the_session() {
    let (mut s, _, server) = session(script(vec![
        hello(&[]),
        vec![
            expect("MAIL FROM:<a@x.test>"),
            send("250 ok"),
            expect("RCPT TO:<b@y.test>"),
            send("250 ok"),
            expect("DATA"),
            send("354 go"),
            Step::Drain,
        ],
    ]))
    .await;
    let env = envelope("a@x.test", &["b@y.test"]);
    let err = s
        .send(&env, &mut FailingBody(100_000), 200_000)
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Io(_)), "{err}");
    assert!(
        err.to_string()
            .contains("reading the message body: disk on fire"),
        "{err}"
    );
    assert!(s.is_broken());
    drop(s);
    let rest = server.await.unwrap().rest;
    assert!(
        rest.len() >= 50_000,
        "the body was streamed: {}",
        rest.len()
    );
    assert!(!rest.ends_with(b"\r\n.\r\n"), "the data must not be ended");
}
