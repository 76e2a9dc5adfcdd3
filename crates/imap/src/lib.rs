//! Postern's IMAP server (RFC 3501 IMAP4rev1): IMAP with STARTTLS (143) and
//! IMAPS (993). Commands are parsed by imap-codec; this crate frames them
//! (lines and literals, with limits), keeps the session state and answers.
//! The binary owns the sockets and hands streams in.
//!
//! Extensions: LITERAL+ (LITERAL- before login), SASL-IR, ID, ENABLE, IDLE,
//! NAMESPACE, UNSELECT, CHILDREN, SPECIAL-USE, LIST-EXTENDED, LIST-STATUS,
//! BINARY, UIDPLUS, MOVE, QUOTA, APPENDLIMIT, CONDSTORE, QRESYNC, ESEARCH
//! (whose RETURN options are parsed here, imap-codec does not), SEARCHRES
//! (`$` is put in by a pre-parser), STATUS=SIZE, MULTIAPPEND, and
//! IMAP4rev2 (RFC 9051) once a client enables it.
//! UTF8=ACCEPT (RFC 6855; session/utf8.rs).

mod appends;
pub mod cache;
mod frame;
mod logins;
mod message;
mod search;
mod seqset;
mod session;
mod user_ip;
pub mod utf7;
mod wire;

pub use message::walk_message;
pub use session::{feed_client_bytes, Context, Session};

use std::time::Duration;

/// Longest command line (one line, between literals), CR LF included.
/// RFC 7162 §4 asks clients to keep lines under 8192 octets; we allow more.
pub const MAX_LINE: usize = 64 * 1024;
/// Largest literal accepted before login (a user name or password). It is
/// below LITERAL-'s 4096 (RFC 7888 §5), which is advertised before login;
/// after login LITERAL+: non-synchronising literals have the same limits as
/// synchronising ones ([`MAX_LITERAL`], APPENDLIMIT for APPEND).
pub const MAX_LITERAL_UNAUTH: u64 = 1024;
/// Largest literal accepted after login, for any command.
pub const MAX_LITERAL: u64 = 64 * 1024;
/// Largest command, its lines and literals together.
pub const MAX_COMMAND: usize = 256 * 1024;
/// Longest AUTHENTICATE continuation line (base64 of a PLAIN message).
pub const MAX_AUTH_LINE: usize = 12 * 1024;
/// Protocol errors (BAD) in one session before it is closed.
pub const MAX_ERRORS: u32 = 20;
/// Password checks (Argon2id, about 19 MiB of memory each) run at once, on
/// as many dedicated threads; more logins wait their turn (see `logins.rs`).
pub const MAX_CONCURRENT_LOGINS: usize = 2;
/// Inactivity allowed before the server logs the client out (RFC 3501 §5.4: at least 30 minutes).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
