//! Postern's POP3 server: POP3 on 110 (STLS, RFC 2595) and POP3S on 995
//! (implicit TLS, RFC 8314). The maildrop is the user's INBOX. A session is
//! driven over any stream (plain or TLS); the binary owns the sockets.
//!
//! Choices worth knowing:
//! - A second session for a maildrop that is already open is refused with
//!   `-ERR [IN-USE]` (RFC 2449 §8.1.1) — no concurrent snapshots. The lock is
//!   in-process ([`Locks`]), keyed by user, and held for the session's life.
//! - Sizes in STAT, LIST and the RETR reply are the stored sizes. Bodies are
//!   stored with CRLF line ends, so this is the RFC 1939 §11 count except for
//!   a body holding bare LFs (each sent as CRLF, one octet more than counted).
//! - UIDL is the message's GUID: assigned at insert, kept across restarts, flag
//!   changes and moves, new when a message is expunged and appended again.
//! - Deletions happen only at QUIT in TRANSACTION state (RFC 1939 §6).

pub mod client;
pub mod command;
pub mod dot;
pub mod lock;
pub mod maildrop;
pub mod reply;
mod session;

pub use command::{parse_command, Command};
pub use lock::{LockGuard, Locks};
pub use session::{Context, Session};

use std::time::Duration;

/// Longest command line accepted, CR LF included (RFC 2449 §4: 255 octets).
pub const MAX_COMMAND_LINE: usize = 255;
/// Longest SASL continuation line: not held to the 255-octet command limit (as SMTP AUTH, RFC 4954 §4).
pub const MAX_AUTH_LINE: usize = 12288;
/// Protocol errors (unknown commands, bad syntax, wrong state) before the session is closed.
pub const MAX_ERRORS: u32 = 20;
/// Idle time before the session is closed (RFC 1939 §3: at least 10 minutes).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Time allowed for the TLS handshake after STLS.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// Reply bytes queued during RETR/TOP before they are sent (bounds memory per session).
pub const OUTPUT_HIGH_WATER: usize = 64 * 1024;
