//! ClientSession against a scripted fake server (server.rs) over an
//! in-memory pipe. Tests run with tokio's clock paused, so a server that
//! never answers makes the client's deadline pass at once, without sleeping.

mod auth;
mod bdat;
mod connect;
mod limits;
mod server;
mod starttls;
mod transaction;

use super::{ClientSession, Envelope, EnvelopeRecipient, Timeouts};
use server::{expect, send, Step, Transcript, Writes};
use tokio::task::JoinHandle;

pub const HELO: &str = "client.test";

/// The greeting, EHLO, and an EHLO reply listing `extensions`.
pub fn hello(extensions: &[&str]) -> Vec<Step> {
    vec![
        send("220 mx.test ESMTP ready"),
        expect(&format!("EHLO {HELO}")),
        send(&ehlo_reply(extensions)),
    ]
}

pub fn ehlo_reply(extensions: &[&str]) -> String {
    let mut lines = vec!["mx.test greets client.test"];
    lines.extend_from_slice(extensions);
    let last = lines.len() - 1;
    let lines = lines.iter().enumerate().map(|(i, l)| {
        let sep = if i == last { ' ' } else { '-' };
        format!("250{sep}{l}")
    });
    lines.collect::<Vec<_>>().join("\r\n")
}

/// A connected session, what it writes, and the server.
pub async fn session(steps: Vec<Step>) -> (ClientSession, Writes, JoinHandle<Transcript>) {
    let (io, writes, server) = server::start(steps);
    let s = ClientSession::connect(io, HELO, Timeouts::default())
        .await
        .expect("connect");
    (s, writes, server)
}

pub fn envelope(from: &str, to: &[&str]) -> Envelope {
    Envelope {
        from: from.into(),
        recipients: to
            .iter()
            .map(|a| EnvelopeRecipient {
                address: a.to_string(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// The steps plus the rest, in order.
pub fn script(parts: Vec<Vec<Step>>) -> Vec<Step> {
    parts.into_iter().flatten().collect()
}
