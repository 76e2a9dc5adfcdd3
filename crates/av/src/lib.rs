//! Postern's integrated antivirus engine (SPEC V1, issue 17 items 1 and 2).
//!
//! Signatures come in ClamAV's public formats: `.hdb`/`.hsb` whole-file
//! hashes, `.ndb` body patterns, `.fp`/`.sfp` allow-lists, and the
//! `.cvd`/`.cld` containers they ship in ([`database`]). The EICAR test file
//! is detected with no database at all ([`EICAR_NAME`]). Every body pattern's
//! longest literal run is its anchor, looked for in one pass over an object
//! whatever the number of signatures: a hashed 4-gram index for anchors of
//! four bytes or more, one Aho-Corasick automaton for shorter ones
//! ([`matcher`]).
//!
//! The core is sans-I/O: [`Builder`] takes database files as bytes, and
//! [`Engine::scan_message`] / [`Engine::scan_file`] take the bytes to scan
//! and return a [`ScanReport`]: the verdict (clean, infected with a name and
//! where, or unscannable with a reason and where) and every MIME part with
//! the names of the archive members inside it, so the attachment filter
//! needs no second pass. [`Limits`] bound the work on hostile input. The
//! thin file layer ([`store`]) loads `DIR/av/`, installs updates atomically
//! and hands the running server a [`Handle`] that swaps in a new set.
//!
//! For the SMTP stage (crates/smtp session/av.rs, issue 17 items 3 to 6),
//! also sans-I/O: [`replace`] swaps MIME leaves for a text warning,
//! [`attachment`] matches the attachment filter's rules against a scan's
//! parts, and [`clamd`] frames INSTREAM and reads clamd's answers.

pub mod archive;
pub mod attachment;
pub mod clamd;
pub mod cvd;
pub mod database;
pub mod decode;
mod engine;
pub mod fetch;
mod grams;
pub mod hashsig;
pub mod hexsig;
mod limits;
mod locate;
pub mod matcher;
pub mod ndb;
pub mod replace;
mod report;
mod scan;
pub mod store;

pub use database::{Builder, DbInfo, LoadError};
pub use engine::{Engine, EICAR, EICAR_NAME};
pub use limits::{Limits, MAX_DEPTH, MAX_FILES, MAX_RATIO, MAX_SCAN_BYTES, RATIO_FLOOR};
pub use report::{Location, PartInfo, ScanReport, Unscannable, Verdict};
pub use store::Handle;

#[cfg(test)]
mod tests;
