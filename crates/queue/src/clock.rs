//! The time the queue runs on: the same injectable clock as the security
//! guard's (postern_net::clock), so tests can move it (DESIGN.md Idioms).

pub use postern_net::clock::{Clock, ManualClock, SystemClock};
