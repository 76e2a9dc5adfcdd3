//! Postern's SMTP server: the MX service (25), submission (587, STARTTLS then
//! AUTH) and SMTPS (465, implicit TLS). A session is driven over any stream
//! (plain or TLS); the binary owns the sockets and hands streams in.

pub mod client;
mod command;
pub mod dot;
pub mod greylist;
mod params;
pub mod rate;
pub mod reply;
mod session;
pub mod trace;

pub use command::parse_command;
pub use session::{Context, Kind, Session};

/// Longest command line accepted, CR LF included (RFC 5321 §4.5.3.1.4).
pub const MAX_COMMAND_LINE: usize = 512;
/// Longest AUTH continuation line (RFC 4954 §4: 12288 octets).
pub const MAX_AUTH_LINE: usize = 12288;
