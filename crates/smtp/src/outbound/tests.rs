//! The client against scripted servers over in-memory pipes.

use super::*;
use postern_store::Secret;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

enum Step {
    /// Send these reply lines.
    Send(&'static str),
    /// Read this many command lines; each read's lines are kept as one batch.
    Lines(usize),
    /// Read a DATA body up to and including "\r\n.\r\n".
    Data,
    /// Read exactly n octets (a BDAT chunk).
    Octets(usize),
}
use Step::*;

/// Runs a script; returns every batch of bytes the client sent per step.
async fn fake(mut io: DuplexStream, script: Vec<Step>) -> Vec<Vec<u8>> {
    let mut got = vec![];
    let mut buf: Vec<u8> = vec![];
    for step in script {
        match step {
            Send(s) => io.write_all(s.as_bytes()).await.unwrap(),
            Lines(n) => got.push(read_until(&mut io, &mut buf, |b| b.windows(2).filter(|w| w == b"\r\n").count() >= n).await),
            Data => got.push(read_until(&mut io, &mut buf, |b| b.ends_with(b"\r\n.\r\n")).await),
            Octets(n) => got.push(read_until(&mut io, &mut buf, |b| b.len() >= n).await),
        }
    }
    got
}

async fn read_until(io: &mut DuplexStream, buf: &mut Vec<u8>, done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    loop {
        if done(buf) {
            return std::mem::take(buf);
        }
        let mut chunk = [0u8; 8192];
        let n = io.read(&mut chunk).await.unwrap();
        assert!(n > 0, "client closed early; had {:?}", String::from_utf8_lossy(buf));
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn envelope(rcpts: &[&str]) -> Envelope {
    Envelope {
        from: "a@x.test".into(),
        recipients: rcpts.iter().map(|r| EnvelopeRecipient { address: r.to_string(), notify: 0, orcpt: None }).collect(),
        ..Default::default()
    }
}

const EHLO_FULL: &str = "250-sink\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250-8BITMIME\r\n250-DSN\r\n250 ENHANCEDSTATUSCODES\r\n";

async fn session(script: Vec<Step>) -> (Result<ClientSession, ClientError>, tokio::task::JoinHandle<Vec<Vec<u8>>>) {
    let (client, server) = tokio::io::duplex(1 << 20);
    let srv = tokio::spawn(fake(server, script));
    (ClientSession::connect(Box::new(client), "me.test", Timeouts::default()).await, srv)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test]
async fn pipelined_transaction_with_partial_refusal() {
    let (s, srv) = session(vec![
        Send("220 hi\r\n"), Lines(1), Send(EHLO_FULL),
        Lines(4),
        Send("250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n354 go\r\n"),
        Data, Send("250 2.0.0 queued\r\n"),
    ]).await;
    let mut s = s.unwrap();
    assert!(s.capabilities().pipelining && s.capabilities().dsn && s.capabilities().size == Some(1_000_000));
    let mut env = envelope(&["b@y.test", "c@y.test"]);
    env.eight_bit = true;
    env.env_id = Some("id 1+".into());
    env.recipients[0].notify = smtp_proto::RCPT_NOTIFY_FAILURE | smtp_proto::RCPT_NOTIFY_DELAY;
    env.recipients[0].orcpt = Some("b@y.test".into());
    let body = b"Subject: x\n\n.dot\nend".to_vec();
    let res = s.send(&env, &mut body.as_slice(), body.len() as u64).await.unwrap();
    assert_eq!(res[0].reply.to_string(), "250 2.0.0 queued");
    assert_eq!(res[1].reply.code, 550);
    let got = srv.await.unwrap();
    assert_eq!(text(&got[0]), "EHLO me.test\r\n");
    assert_eq!(
        text(&got[1]),
        "MAIL FROM:<a@x.test> SIZE=20 BODY=8BITMIME ENVID=id+201+2B\r\nRCPT TO:<b@y.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;b@y.test\r\nRCPT TO:<c@y.test>\r\nDATA\r\n",
        "one write up to DATA"
    );
    assert_eq!(text(&got[2]), "Subject: x\r\n\r\n..dot\r\nend\r\n.\r\n");
}

#[tokio::test]
async fn lockstep_without_pipelining_and_no_dsn_parameters() {
    let (s, srv) = session(vec![
        Send("220 hi\r\n"), Lines(1), Send("250-sink\r\n250 8BITMIME\r\n"),
        Lines(1), Send("250 ok\r\n"), Lines(1), Send("250 ok\r\n"), Lines(1), Send("354 go\r\n"),
        Data, Send("250 done\r\n"),
    ]).await;
    let mut s = s.unwrap();
    let mut env = envelope(&["b@y.test"]);
    env.recipients[0].notify = smtp_proto::RCPT_NOTIFY_NEVER;
    env.ret = Some("HDRS".into());
    let res = s.send(&env, &mut &b"x\r\n"[..], 3).await.unwrap();
    assert_eq!(res[0].reply.code, 250);
    let got = srv.await.unwrap();
    assert_eq!(text(&got[1]), "MAIL FROM:<a@x.test>\r\n");
    assert_eq!(text(&got[2]), "RCPT TO:<b@y.test>\r\n");
    assert_eq!(text(&got[3]), "DATA\r\n");
}

#[tokio::test]
async fn refused_mail_or_all_recipients_resets() {
    let (s, srv) = session(vec![
        Send("220 hi\r\n"), Lines(1), Send("250-sink\r\n250 PIPELINING\r\n"),
        Lines(3), Send("550 5.7.1 go away\r\n503 5.5.1 no\r\n503 5.5.1 no\r\n"),
        Lines(1), Send("250 reset\r\n"),
        Lines(3), Send("250 ok\r\n450 4.2.1 busy\r\n554 5.5.1 no recipients\r\n"),
        Lines(1), Send("250 reset\r\n"),
    ]).await;
    let mut s = s.unwrap();
    let res = s.send(&envelope(&["b@y"]), &mut &b"x"[..], 1).await.unwrap();
    assert_eq!(res[0].reply.to_string(), "550 5.7.1 go away");
    let res = s.send(&envelope(&["b@y"]), &mut &b"x"[..], 1).await.unwrap();
    assert_eq!(res[0].reply.to_string(), "450 4.2.1 busy");
    let got = srv.await.unwrap();
    assert_eq!(text(&got[2]), "RSET\r\n");
    assert_eq!(text(&got[4]), "RSET\r\n");
}

#[tokio::test]
async fn bdat_when_chunking_is_offered() {
    let (s, srv) = session(vec![
        Send("220 hi\r\n"), Lines(1), Send("250-sink\r\n250-PIPELINING\r\n250 CHUNKING\r\n"),
        Lines(2), Send("250 ok\r\n250 ok\r\n"),
        Octets(b"BDAT 10 LAST\r\n".len() + 10), Send("250 2.0.0 got it\r\n"),
    ]).await;
    let mut s = s.unwrap();
    let res = s.send(&envelope(&["b@y"]), &mut &b".a\nb\rc"[..], 6).await.unwrap();
    assert_eq!(res[0].reply.code, 250);
    let got = srv.await.unwrap();
    assert_eq!(text(&got[1]), "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y>\r\n", "no DATA with BDAT");
    assert_eq!(text(&got[2]), "BDAT 10 LAST\r\n.a\r\nb\r\nc\r\n");
}

#[tokio::test]
async fn helo_fallback_and_refused_greeting() {
    let (s, srv) = session(vec![Send("220 old\r\n"), Lines(1), Send("502 what\r\n"), Lines(1), Send("250 hello\r\n")]).await;
    let s = s.unwrap();
    assert_eq!(s.capabilities(), &Capabilities::default());
    assert_eq!(text(&srv.await.unwrap()[1]), "HELO me.test\r\n");
    let (s, _srv) = session(vec![Send("554 5.7.1 not you\r\n")]).await;
    let e = s.err().unwrap();
    assert!(e.is_permanent() && e.to_string().contains("554 5.7.1 not you"), "{e}");
}

#[tokio::test]
async fn auth_plain_and_login() {
    let pw = Secret::new("pa:ss".to_string());
    let (s, srv) = session(vec![Send("220 hi\r\n"), Lines(1), Send("250-sink\r\n250 AUTH LOGIN PLAIN\r\n"), Lines(1), Send("235 ok\r\n")]).await;
    s.unwrap().authenticate("u", &pw).await.unwrap();
    assert_eq!(text(&srv.await.unwrap()[1]), "AUTH PLAIN AHUAcGE6c3M=\r\n");
    let (s, srv) = session(vec![
        Send("220 hi\r\n"), Lines(1), Send("250-sink\r\n250 AUTH LOGIN\r\n"),
        Lines(1), Send("334 VXNlcm5hbWU6\r\n"), Lines(1), Send("334 UGFzc3dvcmQ6\r\n"), Lines(1), Send("535 5.7.8 no\r\n"),
    ]).await;
    let e = s.unwrap().authenticate("u", &pw).await.unwrap_err();
    assert!(!e.to_string().contains("pa:ss") && e.to_string().contains("535"), "{e}");
    assert_eq!(text(&srv.await.unwrap()[3]), "cGE6c3M=\r\n");
    let (s, _srv) = session(vec![Send("220 hi\r\n"), Lines(1), Send("250 sink\r\n")]).await;
    assert!(matches!(s.unwrap().authenticate("u", &pw).await, Err(ClientError::NoAuthMechanism)));
}

#[tokio::test]
async fn overlong_and_garbage_replies_are_protocol_errors() {
    let long: &'static str = Box::leak(format!("220 {}\r\n", "x".repeat(MAX_REPLY_LINE + 10)).into_boxed_str());
    let (s, _srv) = session(vec![Send(long)]).await;
    assert!(matches!(s.err().unwrap(), ClientError::Protocol(_)));
    let (s, _srv) = session(vec![Send("HTTP/1.1 400 Bad\r\n")]).await;
    assert!(matches!(s.err().unwrap(), ClientError::Protocol(_)));
    let (s, _srv) = session(vec![Send("220 hi\r\n")]).await;
    assert!(matches!(s.err().unwrap(), ClientError::Closed | ClientError::Io(_)), "server hangs up before EHLO reply");
}

#[tokio::test(start_paused = true)]
async fn silent_server_times_out() {
    let (client, _server) = tokio::io::duplex(1024);
    let r = ClientSession::connect(Box::new(client), "me", Timeouts::default()).await;
    assert!(matches!(r, Err(ClientError::Timeout(Stage::Greeting))));
}
