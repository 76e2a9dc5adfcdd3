//! The verdict: pure data, applied by the SMTP session in one place.

use crate::results::Results;
use std::ops::Range;

/// An SMTP reply (code, enhanced status, text) the session sends as is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub enhanced: &'static str,
    pub text: String,
}

/// What happens to the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Delivered as usual.
    Accept,
    /// Delivered into each local recipient's Junk folder.
    Junk,
    /// Refused at the end of DATA with this (5xx) reply; never bounced later.
    Reject(Reply),
    /// Refused with this 4xx reply: the sender tries again.
    Defer(Reply),
    /// Accepted (250), then stored nowhere (`spam.reject_action = "discard"`).
    Discard,
}

/// A message's verdict: the action, the header fields to add on top, the
/// byte ranges of the message to drop (forged Authentication-Results), the
/// results for the logs, and the reason for the security log if refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub action: Action,
    /// Complete header fields, CRLF-terminated, to put above the message.
    pub add_headers: String,
    /// Ranges of the raw message to leave out, sorted, not overlapping.
    pub remove: Vec<Range<usize>>,
    pub results: Results,
    /// Why the action is not Accept (security.log).
    pub reason: Option<String>,
}

impl Verdict {
    /// The message as it is to be stored, in pieces (no copy of `raw`):
    /// the added headers, then `raw` without the removed ranges.
    pub fn pieces<'a>(&'a self, raw: &'a [u8]) -> Vec<&'a [u8]> {
        let mut out = vec![self.add_headers.as_bytes()];
        let mut at = 0;
        for r in &self.remove {
            out.push(&raw[at..r.start]);
            at = r.end;
        }
        out.push(&raw[at..]);
        out
    }

    /// The pieces joined.
    pub fn rewrite(&self, raw: &[u8]) -> Vec<u8> {
        self.pieces(raw).concat()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrite_adds_on_top_and_drops_ranges() {
        let v = Verdict {
            action: Action::Accept,
            add_headers: "A: 1\r\n".into(),
            remove: vec![0..6, 13..19],
            results: Results::default(),
            reason: None,
        };
        assert_eq!(
            v.rewrite(b"X: 1\r\nB: 22\r\nY: 2\r\n\r\nbody"),
            b"A: 1\r\nB: 22\r\n\r\nbody".to_vec()
        );
    }
}
