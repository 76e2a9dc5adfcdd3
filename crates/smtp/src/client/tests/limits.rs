//! Replies past the limits are protocol errors, never unbounded buffers.

use super::server::{start, Step};
use super::*;
use crate::client::{ClientError, MAX_REPLY_LINE, MAX_REPLY_LINES};

async fn greeting_error(greeting: String) -> ClientError {
    let (io, _, _server) = start(vec![Step::Send(greeting), Step::Hang]);
    ClientSession::connect(io, HELO, Timeouts::default())
        .await
        .err()
        .expect("an error")
}

#[tokio::test(start_paused = true)]
async fn an_over_long_reply_line() {
    let line = format!("220 {}\r\n", "x".repeat(MAX_REPLY_LINE));
    let err = greeting_error(line).await;
    assert!(matches!(err, ClientError::Protocol(_)), "{err}");
    assert!(err.to_string().contains("longer than 4096"), "{err}");
}

/// A server that streams one endless line is cut off at the limit, not
/// buffered until memory runs out or the deadline passes.
#[tokio::test(start_paused = true)]
async fn an_endless_line() {
    let err = greeting_error("2".repeat(10 * MAX_REPLY_LINE)).await;
    assert!(matches!(err, ClientError::Protocol(_)), "{err}");
}

#[tokio::test(start_paused = true)]
async fn too_many_lines() {
    let many = "220-x\r\n".repeat(MAX_REPLY_LINES) + "220 x\r\n";
    let err = greeting_error(many).await;
    assert!(matches!(err, ClientError::Protocol(_)), "{err}");
    assert!(err.to_string().contains("more than 100 lines"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn an_ehlo_reply_at_the_line_limit_is_fine() {
    let extensions: Vec<String> = (0..MAX_REPLY_LINES - 2)
        .map(|i| format!("X-EXT{i}"))
        .collect();
    let mut extensions: Vec<&str> = extensions.iter().map(String::as_str).collect();
    extensions.push("PIPELINING");
    let (s, _, _server) = session(hello(&extensions)).await;
    assert!(s.capabilities().pipelining);
}
