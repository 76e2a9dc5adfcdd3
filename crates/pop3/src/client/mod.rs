//! A POP3 client (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS) for downloading
//! remote mailboxes (SPEC M7). The protocol core is sans-I/O: [`reply`]
//! turns received octets into replies, [`command`] writes commands, [`plan`]
//! decides what to retrieve and delete; [`driver`] runs them over a socket
//! with timeouts, delivering through a [`driver::Sink`] the caller provides.

pub mod command;
pub mod driver;
pub mod listing;
pub mod plan;
pub mod reply;
#[cfg(test)]
mod tests;

pub use driver::{fetch, Account, Delivered, FetchError, Sink, Summary, Tls};
pub use plan::{Listed, Plan, Policy};
pub use reply::{ClientError, Reply, ReplyParser};

use std::time::Duration;

/// Longest status line (+OK/-ERR) accepted, CR LF included (RFC 2449 §4:
/// at most 512 octets).
pub const MAX_STATUS_LINE: usize = 512;
/// Longest line of a multi-line reply (a message line or a listing line),
/// CR LF included: RFC 5322 §2.1.1 allows 998 octets, mail in the wild is
/// longer; beyond this the remote is not sending mail.
pub const MAX_DATA_LINE: usize = 64 * 1024;
/// Largest message retrieved; a bigger one (by LIST) is left on the server
/// and reported, and a RETR that grows past it ends the connection.
pub const MAX_MESSAGE: usize = 64 * 1024 * 1024;
/// Largest UIDL or LIST listing (about 100,000 messages).
pub const MAX_LISTING: usize = 4 * 1024 * 1024;
/// Time allowed to connect, and for the TLS handshake.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Time allowed for each read of a reply (RFC 1939 §3: servers wait ≥ 10 min
/// for us; we wait one for them).
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(60);
