//! The outbound SMTP client (RFC 5321 as a client), used by the delivery
//! queue: greeting, EHLO with fallback to HELO, STARTTLS (RFC 3207), AUTH
//! PLAIN/LOGIN (RFC 4954), and mail transactions with PIPELINING (RFC 2920),
//! SIZE (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), DSN (RFC 3461)
//! and CHUNKING (RFC 3030) where the peer offers them.
//!
//! A session runs over any stream; the queue dials (TCP, implicit TLS) and
//! hands the stream in. Every wait has a deadline ([`Timeouts`]), every reply
//! is bounded ([`MAX_REPLY_LINE`], [`MAX_REPLY_LINES`]), and the message body
//! is streamed in bounded buffers ([`wire`]).

mod auth;
mod body;
mod channel;
mod ehlo;
mod envelope;
mod error;
mod reply;
mod session;
pub mod seven_bit;
mod starttls;
mod transaction;
mod transfer_encode;
pub mod wire;

pub use body::BDAT_CHUNK;
pub use ehlo::Capabilities;
pub use envelope::{Envelope, EnvelopeRecipient, RecipientResult};
pub use error::{ClientError, Stage};
pub use postern_net::tls_client::TlsInfo;
pub use reply::{Reply, ReplyError, ReplyReader, MAX_REPLY_LINE, MAX_REPLY_LINES};
pub use session::ClientSession;
pub use transaction::PIPELINE_GROUP;

use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// Any byte stream a session can run over: TCP, TLS over TCP, a test pipe.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// How long to wait for each reply (RFC 5321 §4.5.3.2). Writes get the same
/// deadline as the reply they wait for; each block of the body gets
/// `data_block`. STARTTLS, the TLS handshake, AUTH and RSET use `ehlo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// §4.5.3.2.1 initial 220 message: 5 minutes.
    pub greeting: Duration,
    /// EHLO/HELO and the other commands outside a transaction: 5 minutes.
    pub ehlo: Duration,
    /// §4.5.3.2.2 MAIL command: 5 minutes.
    pub mail: Duration,
    /// §4.5.3.2.3 RCPT command: 5 minutes.
    pub rcpt: Duration,
    /// §4.5.3.2.4 DATA initiation: 2 minutes.
    pub data_init: Duration,
    /// §4.5.3.2.5 data block: 3 minutes (each write of the body, each
    /// BDAT chunk's reply but the last).
    pub data_block: Duration,
    /// §4.5.3.2.6 DATA termination: 10 minutes (also the last BDAT's reply).
    pub data_done: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        let minutes = |n: u64| Duration::from_secs(60 * n);
        Timeouts {
            greeting: minutes(5),
            ehlo: minutes(5),
            mail: minutes(5),
            rcpt: minutes(5),
            data_init: minutes(2),
            data_block: minutes(3),
            data_done: minutes(10),
        }
    }
}

#[cfg(test)]
mod tests;
