//! Whole sessions over an in-memory stream against a real store in a
//! temporary directory (TLS is covered by the end-to-end tests).

use super::Context;
use crate::lock::Locks;
use crate::Session;
use postern_config::Config;
use postern_directory::prelude::*;
use postern_net::MaybeTls;
use postern_store::{Delivery, Secret, Store, UserId};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::io::{ReadHalf, WriteHalf};
use tokio::sync::watch;

const ALICE: &str = "alice@example.org";
const PASSWORD: &str = "alice-pass-1";

struct World {
    _dir: tempfile::TempDir,
    ctx: Arc<Context>,
    stop: watch::Sender<bool>,
    _config: watch::Sender<Arc<Config>>,
    alice: UserId,
}

fn world(plaintext_auth: bool, idle: Duration) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.domain_add("example.org").unwrap();
    let alice = store
        .user_add(ALICE, &Secret::new(PASSWORD.into()), "Alice", 0)
        .unwrap();
    let logs = postern_logs::Logs::open(dir.path(), false).unwrap();
    let mut cfg = Config::default();
    cfg.server.hostname = "pop.test".into();
    if plaintext_auth {
        cfg.security.policy = postern_config::SecurityPolicy::None;
    }
    let (config_tx, config) = watch::channel(Arc::new(cfg));
    let (stop, shutdown) = watch::channel(false);
    let ctx = Arc::new(Context {
        store: Arc::new(store.clone()),
        directory: store,
        logs,
        config,
        tls: None,
        shutdown,
        idle_timeout: idle,
        locks: Locks::default(),
    });
    World {
        _dir: dir,
        ctx,
        stop,
        _config: config_tx,
        alice,
    }
}

fn plain_world() -> World {
    world(true, Duration::from_secs(60))
}

impl World {
    async fn deliver(&self, body: &[u8]) {
        let store = &self.ctx.directory;
        let mut w = store.create_blob().await.unwrap();
        w.write(body).await.unwrap();
        let blob = w.finish().await.unwrap();
        store
            .commit(Delivery {
                blob,
                sender: "s@x.test".into(),
                local: vec![self.alice],
                remote: vec![],
                env_id: None,
                ret: None,
                smtputf8: false,
                internal_date: 0,
                prepend: vec![],
                junk: false,
            })
            .await
            .unwrap();
    }

    fn inbox_uids(&self) -> Vec<u32> {
        let store = &self.ctx.directory;
        let inbox = store.mailbox(self.alice, "INBOX").unwrap().unwrap();
        store
            .messages(inbox)
            .unwrap()
            .iter()
            .map(|m| m.uid)
            .collect()
    }

    fn guids(&self) -> Vec<String> {
        let store = &self.ctx.directory;
        let inbox = store.mailbox(self.alice, "INBOX").unwrap().unwrap();
        store
            .messages(inbox)
            .unwrap()
            .into_iter()
            .map(|m| m.guid)
            .collect()
    }

    /// A connected client that has read the greeting.
    async fn client(&self) -> (Client, tokio::task::JoinHandle<()>) {
        let (client, server) = tokio::io::duplex(1 << 16);
        let session = Session::new(
            self.ctx.clone(),
            MaybeTls::Plain(server),
            "192.0.2.7:4000".parse().unwrap(),
        );
        let task = tokio::spawn(session.run());
        let (r, w) = tokio::io::split(client);
        let mut c = Client {
            r: BufReader::new(r),
            w,
        };
        let greeting = c.line().await;
        assert_eq!(greeting, "+OK pop.test POP3 Postern ready");
        (c, task)
    }

    async fn logged_in(&self) -> (Client, tokio::task::JoinHandle<()>) {
        let (mut c, task) = self.client().await;
        c.ok(&format!("USER {ALICE}")).await;
        c.ok(&format!("PASS {PASSWORD}")).await;
        (c, task)
    }
}

struct Client {
    r: BufReader<ReadHalf<DuplexStream>>,
    w: WriteHalf<DuplexStream>,
}

impl Client {
    async fn send(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).await.unwrap();
    }

    async fn line(&mut self) -> String {
        let mut buf = Vec::new();
        let n = tokio::time::timeout(Duration::from_secs(10), self.r.read_until(b'\n', &mut buf))
            .await
            .expect("server answered in time")
            .unwrap();
        assert!(n > 0, "connection closed");
        assert!(buf.ends_with(b"\r\n"), "line without CRLF: {buf:?}");
        String::from_utf8(buf[..buf.len() - 2].to_vec()).unwrap()
    }

    async fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.line().await
    }

    async fn ok(&mut self, line: &str) -> String {
        let r = self.cmd(line).await;
        assert!(r.starts_with("+OK"), "{line}: {r}");
        r
    }

    async fn err(&mut self, line: &str) -> String {
        let r = self.cmd(line).await;
        assert!(r.starts_with("-ERR"), "{line}: {r}");
        r
    }

    /// The lines of a multi-line response after its status line, still stuffed.
    async fn multi(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let l = self.line().await;
            if l == "." {
                return lines;
            }
            lines.push(l);
        }
    }

    async fn eof(&mut self) -> bool {
        let mut rest = Vec::new();
        let read = self.r.read_to_end(&mut rest);
        matches!(
            tokio::time::timeout(Duration::from_secs(10), read).await,
            Ok(Ok(0))
        )
    }
}

#[tokio::test]
async fn capa_and_logins_refused_without_tls() {
    let w = world(false, Duration::from_secs(60));
    let (mut c, _) = w.client().await;
    c.ok("CAPA").await;
    let caps = c.multi().await;
    assert!(caps.contains(&"UIDL".to_string()) && caps.contains(&"RESP-CODES".to_string()));
    assert!(!caps.iter().any(|l| l == "USER"));
    // Challenge-response mechanisms only: no password crosses the wire.
    assert!(caps.contains(&"SASL SCRAM-SHA-256".to_string()), "{caps:?}");
    assert!(!caps.iter().any(|l| l == "STLS"), "no TLS acceptor here");
    assert!(c
        .err(&format!("USER {ALICE}"))
        .await
        .starts_with("-ERR [AUTH]"));
    assert_eq!(
        c.err("PASS x").await,
        "-ERR [AUTH] Plaintext authentication is not allowed without TLS: use STLS first"
    );
    assert!(c
        .err("AUTH PLAIN AGFsaWNlAHg=")
        .await
        .starts_with("-ERR [AUTH]"));
    assert_eq!(
        c.err("APOP alice 0123456789abcdef0123456789abcdef").await,
        "-ERR APOP is not supported"
    );
    assert_eq!(c.err("STLS").await, "-ERR [SYS/TEMP] TLS not available");
    c.ok("QUIT").await;
    assert!(c.eof().await);
}

#[tokio::test]
async fn user_pass_only_with_a_plaintext_mechanism_enabled() {
    let w = plain_world();
    let mut cfg = (**w.ctx.config.borrow()).clone();
    cfg.auth.mechanisms = vec!["SCRAM-SHA-256".into()];
    w._config.send(Arc::new(cfg)).unwrap();
    let (mut c, _) = w.client().await;
    c.ok("CAPA").await;
    let caps = c.multi().await;
    assert!(!caps.iter().any(|l| l == "USER"), "{caps:?}");
    assert!(caps.contains(&"SASL SCRAM-SHA-256".to_string()), "{caps:?}");
    assert_eq!(
        c.err(&format!("USER {ALICE}")).await,
        "-ERR USER/PASS is disabled here: use AUTH"
    );
    c.err(&format!("PASS {PASSWORD}")).await;
    c.ok("QUIT").await;
}

#[tokio::test]
async fn a_full_session() {
    let w = plain_world();
    w.deliver(b"Subject: one\r\n\r\n.leading dot\r\nbody\r\n")
        .await;
    w.deliver(b"Subject: two\r\n\r\nsecond\r\n").await;
    w.deliver(b"Subject: bare\n\nlf only\n").await;
    let guids = w.guids();
    let (mut c, _) = w.client().await;
    c.ok("CAPA").await;
    let caps = c.multi().await;
    assert!(
        caps.contains(&"USER".to_string())
            && caps.contains(&"SASL SCRAM-SHA-256 PLAIN LOGIN".to_string())
    );
    assert_eq!(
        c.err("STAT").await,
        "-ERR Command not valid in AUTHORIZATION state: log in first"
    );
    c.err("PASS x").await;
    c.ok(&format!("user {ALICE}")).await;
    assert!(c
        .ok(&format!("pass {PASSWORD}"))
        .await
        .contains("3 messages"));
    assert_eq!(c.ok("STAT").await, "+OK 3 83");
    c.ok("LIST").await;
    assert_eq!(c.multi().await, vec!["1 36", "2 24", "3 23"]);
    c.ok("UIDL").await;
    let listed = c.multi().await;
    assert_eq!(
        listed,
        (1..=3)
            .map(|n| format!("{n} {}", guids[n - 1]))
            .collect::<Vec<_>>()
    );
    assert_eq!(c.ok("UIDL 2").await, format!("+OK 2 {}", guids[1]));
    assert_eq!(c.ok("RETR 1").await, "+OK 36 octets");
    assert_eq!(
        c.multi().await,
        vec!["Subject: one", "", "..leading dot", "body"]
    );
    c.ok("RETR 3").await;
    assert_eq!(c.multi().await, vec!["Subject: bare", "", "lf only"]);
    c.ok("TOP 1 0").await;
    assert_eq!(c.multi().await, vec!["Subject: one", ""]);
    c.ok("TOP 1 1").await;
    assert_eq!(c.multi().await, vec!["Subject: one", "", "..leading dot"]);
    assert_eq!(c.ok("DELE 2").await, "+OK Message 2 deleted");
    assert_eq!(c.err("DELE 2").await, "-ERR Message already deleted");
    assert_eq!(c.err("RETR 2").await, "-ERR Message already deleted");
    assert_eq!(c.err("LIST 2").await, "-ERR Message already deleted");
    assert_eq!(c.err("RETR 4").await, "-ERR No such message");
    assert_eq!(c.err("TOP 0 1").await, "-ERR No such message");
    assert_eq!(
        c.err("USER bob").await,
        "-ERR Command not valid in TRANSACTION state: already logged in"
    );
    assert_eq!(c.ok("STAT").await, "+OK 2 59");
    c.ok("LIST").await;
    assert_eq!(c.multi().await, vec!["1 36", "3 23"]);
    c.ok("RSET").await;
    assert_eq!(c.ok("STAT").await, "+OK 3 83");
    c.ok("DELE 1").await;
    c.ok("DELE 3").await;
    c.ok("NOOP").await;
    assert_eq!(
        c.ok("QUIT").await,
        "+OK pop.test POP3 server signing off (1 messages left)"
    );
    assert!(c.eof().await);
    assert_eq!(w.inbox_uids(), vec![2]);
    assert_eq!(w.guids(), vec![guids[1].clone()]);
}

#[tokio::test]
async fn a_dropped_connection_deletes_nothing_and_releases_the_lock() {
    let w = plain_world();
    w.deliver(b"Subject: keep\r\n\r\nx\r\n").await;
    let (mut c, task) = w.logged_in().await;
    c.ok("DELE 1").await;
    assert!(w.ctx.locks.is_locked(w.alice));
    drop(c);
    task.await.unwrap();
    assert!(!w.ctx.locks.is_locked(w.alice));
    assert_eq!(w.inbox_uids(), vec![1]);
}

#[tokio::test]
async fn a_second_session_is_refused_in_use() {
    let w = plain_world();
    let (mut first, _) = w.logged_in().await;
    let (mut second, _) = w.client().await;
    second.ok(&format!("USER {ALICE}")).await;
    assert_eq!(
        second.err(&format!("PASS {PASSWORD}")).await,
        "-ERR [IN-USE] Mailbox is locked by another POP3 session; try again later"
    );
    // Still in AUTHORIZATION: it may try again once the first has quit.
    second.err("STAT").await;
    first.ok("QUIT").await;
    second.ok(&format!("USER {ALICE}")).await;
    second.ok(&format!("PASS {PASSWORD}")).await;
}

#[tokio::test]
async fn three_failed_logins_close_the_session() {
    let w = plain_world();
    let (mut c, _) = w.client().await;
    let started = std::time::Instant::now();
    for _ in 0..2 {
        c.ok(&format!("USER {ALICE}")).await;
        assert_eq!(c.err("PASS wrong").await, "-ERR [AUTH] Invalid credentials");
    }
    assert!(started.elapsed() >= postern_net::auth::AUTH_FAILURE_DELAY * 2);
    assert!(c
        .err("AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAG5vcGU=")
        .await
        .starts_with("-ERR [AUTH]"));
    assert!(c.eof().await);
    let log = std::fs::read_to_string(w._dir.path().join("logs/security.log")).unwrap();
    assert_eq!(log.matches("auth-failed").count(), 3);
    assert!(log.contains("service=pop3") && log.contains("192.0.2.7"));
    assert!(!log.contains("wrong") && !log.contains("nope"), "{log}");
}

#[tokio::test]
async fn sasl_plain_and_login() {
    let w = plain_world();
    let (mut c, _) = w.client().await;
    c.ok("AUTH").await;
    assert_eq!(c.multi().await, vec!["SCRAM-SHA-256", "PLAIN", "LOGIN"]);
    // PLAIN with a continuation, then cancelled; then LOGIN.
    assert_eq!(c.cmd("AUTH PLAIN").await, "+ ");
    assert_eq!(c.err("*").await, "-ERR Authentication cancelled");
    assert_eq!(
        c.cmd("AUTH X-UNKNOWN").await,
        "-ERR Unsupported authentication mechanism"
    );
    assert_eq!(
        c.cmd("AUTH PLAIN !!!").await,
        "-ERR Invalid base64 or SASL message"
    );
    assert_eq!(c.cmd("AUTH LOGIN").await, "+ VXNlcm5hbWU6");
    assert_eq!(c.cmd("YWxpY2VAZXhhbXBsZS5vcmc=").await, "+ UGFzc3dvcmQ6");
    assert!(c.ok("YWxpY2UtcGFzcy0x").await.contains("0 messages"));
    assert_eq!(
        c.err("AUTH PLAIN").await,
        "-ERR Command not valid in TRANSACTION state: already logged in"
    );
    c.ok("QUIT").await;
    // SASL-IR (RFC 5034 §4): PLAIN with the initial response on the command line.
    let (mut c, _) = w.client().await;
    c.ok("AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAGFsaWNlLXBhc3MtMQ==")
        .await;
}

#[tokio::test]
async fn bad_input_is_answered_and_the_session_goes_on() {
    let w = plain_world();
    let (mut c, _) = w.client().await;
    let long = format!("USER {}", "a".repeat(crate::MAX_COMMAND_LINE));
    assert_eq!(
        c.err(&long).await,
        "-ERR Line too long (RFC 2449: 255 octets at most)"
    );
    // 253 octets + CRLF fits.
    let fits = format!("NOOP{}", " ".repeat(crate::MAX_COMMAND_LINE - 6));
    c.ok(&fits).await;
    assert_eq!(c.err("FROB").await, "-ERR Unknown command");
    assert_eq!(c.err("RETR x").await, "-ERR Invalid message number");
    c.send(b"NOOP\0\r\n").await;
    assert!(c.line().await.starts_with("-ERR Syntax error"));
    // Pipelined commands are all answered, in order.
    c.send(b"NOOP\r\nCAPA\r\nNOOP\r\n").await;
    assert_eq!(c.line().await, "+OK");
    c.line().await;
    c.multi().await;
    assert_eq!(c.line().await, "+OK");
    c.ok("QUIT").await;
}

#[tokio::test]
async fn too_many_errors_close_the_session() {
    let w = plain_world();
    let (mut c, _) = w.client().await;
    for _ in 1..crate::MAX_ERRORS {
        c.err("FROB").await;
    }
    assert_eq!(
        c.err("FROB").await,
        "-ERR Too many errors, closing connection"
    );
    assert!(c.eof().await);
}

#[tokio::test]
async fn shutdown_closes_idle_sessions_deleting_nothing() {
    let w = plain_world();
    w.deliver(b"Subject: x\r\n\r\nx\r\n").await;
    let (mut c, task) = w.logged_in().await;
    c.ok("DELE 1").await;
    w.stop.send(true).unwrap();
    assert_eq!(c.line().await, "-ERR [SYS/TEMP] server shutting down");
    assert!(c.eof().await);
    task.await.unwrap();
    assert_eq!(w.inbox_uids(), vec![1]);
}

#[tokio::test]
async fn idle_sessions_are_dropped_silently_deleting_nothing() {
    let w = world(true, Duration::from_millis(200));
    w.deliver(b"Subject: x\r\n\r\nx\r\n").await;
    let (mut c, task) = w.logged_in().await;
    c.ok("DELE 1").await;
    // RFC 1939 §3: no response, no UPDATE state.
    assert!(c.eof().await);
    task.await.unwrap();
    assert_eq!(w.inbox_uids(), vec![1]);
}

#[tokio::test]
async fn a_message_expunged_elsewhere_is_reported_not_fatal() {
    let w = plain_world();
    w.deliver(b"Subject: a\r\n\r\na\r\n").await;
    w.deliver(b"Subject: b\r\n\r\nb\r\n").await;
    let (mut c, _) = w.logged_in().await;
    let inbox = w.ctx.directory.mailbox(w.alice, "INBOX").unwrap().unwrap();
    w.ctx.directory.expunge(inbox, &[1]).unwrap();
    assert_eq!(
        c.err("RETR 1").await,
        "-ERR Message was removed by another session"
    );
    c.ok("RETR 2").await;
    c.multi().await;
    c.ok("DELE 1").await;
    c.ok("DELE 2").await;
    assert!(c.ok("QUIT").await.contains("0 messages left"));
    assert!(w.inbox_uids().is_empty());
}

#[tokio::test]
async fn a_large_message_streams_intact() {
    let w = plain_world();
    let mut body = b"Subject: big\r\n\r\n".to_vec();
    while body.len() < 4 << 20 {
        body.extend_from_slice(b".a line that starts with a dot\r\nand one that does not\r\n");
    }
    w.deliver(&body).await;
    let (mut c, _) = w.logged_in().await;
    assert_eq!(c.ok("RETR 1").await, format!("+OK {} octets", body.len()));
    let mut got = Vec::new();
    loop {
        let l = c.line().await;
        if l == "." {
            break;
        }
        let l = l.strip_prefix('.').unwrap_or(&l).to_string();
        got.extend_from_slice(l.as_bytes());
        got.extend_from_slice(b"\r\n");
    }
    assert_eq!(got, body);
    c.ok("QUIT").await;
}
