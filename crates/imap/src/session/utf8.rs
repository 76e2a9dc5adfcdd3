//! UTF8=ACCEPT (RFC 6855): once a client has sent `ENABLE UTF8=ACCEPT`,
//! mailbox names go both ways as UTF-8 instead of modified UTF-7 (§3), a
//! SEARCH naming a charset other than UTF-8 is BAD (§3), and APPEND takes
//! `UTF8 (~{n}…)`, whose message may carry 8-bit UTF-8 headers (§4);
//! messages are returned as they were stored, 8-bit headers and all.

use super::reply::Reply;
use super::Session;
use crate::{utf7, wire};
use imap_codec::imap_types::core::Charset;
use imap_codec::imap_types::mailbox::Mailbox;
use postern_store::folders::validate_name;
use tokio::io::{AsyncRead, AsyncWrite};

/// `UTF8 (~` before an APPEND message literal (RFC 6855 §4 `utf8-literal`).
const UTF8_OPEN: &[u8] = b"UTF8 (~";

/// A mailbox name from the wire, decoded and checked. With UTF8=ACCEPT on
/// (`utf8`), the name is UTF-8 as sent, never modified UTF-7 (RFC 6855 §3);
/// otherwise modified UTF-7 (RFC 3501 §5.1.3), UTF-8 taken as is.
pub(super) fn folder_name_as(m: &Mailbox<'_>, utf8: bool) -> Result<String, Reply> {
    let raw = match m {
        Mailbox::Inbox => return Ok("INBOX".into()),
        Mailbox::Other(o) => o.as_ref(),
    };
    let text = std::str::from_utf8(raw).map_err(|_| Reply::bad("Mailbox name is not UTF-8"))?;
    let name = if utf8 {
        text.to_string()
    } else {
        // Not modified UTF-7: no such mailbox can exist (imaptest expects NO, not BAD).
        utf7::decode(text)
            .ok_or_else(|| Reply::no("Bad modified UTF-7 in mailbox name").code("CANNOT"))?
    };
    // RFC 6855 §3: no control characters (C0, DEL, C1), no U+2028/U+2029.
    if name
        .chars()
        .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}')
    {
        return Err(Reply::no("Bad mailbox name").code("CANNOT"));
    }
    validate_name(&name).map_err(|_| Reply::no("Bad mailbox name").code("CANNOT"))
}

/// A LIST pattern from the wire: modified UTF-7 unless UTF8=ACCEPT is on.
pub(super) fn pattern_as(raw: &str, utf8: bool) -> String {
    if utf8 {
        return super::folders::fold_inbox(raw);
    }
    super::folders::decode_pattern(raw)
}

/// An APPEND head ending in `UTF8 (~{n}` (RFC 6855 §4) as the same head with
/// a plain `~{n}`, which imap-codec parses; `None` when it is not one.
pub(super) fn strip_utf8_open(head: &[u8]) -> Option<Vec<u8>> {
    let line = head.strip_suffix(b"\r\n")?;
    let open = line.iter().rposition(|&b| b == b'{')?;
    let start = open.checked_sub(UTF8_OPEN.len())?;
    if !line[start..open].eq_ignore_ascii_case(UTF8_OPEN) {
        return None;
    }
    let mut out = head[..start].to_vec();
    out.push(b'~');
    out.extend_from_slice(&head[open..]);
    Some(out)
}

/// The rest of an APPEND command line after a UTF8 message literal: it must
/// start with the `)` that closes `UTF8 (`.
pub(super) fn after_utf8_literal(line: &[u8]) -> Result<&[u8], Reply> {
    line.strip_prefix(b")")
        .ok_or_else(|| Reply::bad("Syntax error in APPEND: missing \")\" after UTF8 literal"))
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// A mailbox name from the wire, as this session sends them.
    pub(super) fn name_of(&self, m: &Mailbox<'_>) -> Result<String, Reply> {
        folder_name_as(m, self.utf8_names())
    }

    /// Appends a folder name as this session wants it: UTF-8 once
    /// UTF8=ACCEPT is on (RFC 6855 §3), else modified UTF-7.
    pub(super) fn put_mailbox(&self, out: &mut Vec<u8>, name: &str) {
        wire::mailbox_as(out, name, self.utf8_names());
    }

    /// RFC 6855 §3 (with erratum 4029): after ENABLE UTF8=ACCEPT strings are
    /// UTF-8, so a conflicting charset label is BAD. CHARSET UTF-8 names no
    /// conflict and is let through.
    pub(super) fn charset_allowed(&self, charset: Option<&Charset<'_>>) -> Result<(), Reply> {
        match charset {
            Some(c) if self.utf8 && !c.as_ref().eq_ignore_ascii_case("UTF-8") => Err(Reply::bad(
                "UTF8=ACCEPT is enabled: SEARCH strings are UTF-8",
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn other(s: &str) -> Mailbox<'_> {
        Mailbox::try_from(s.as_bytes()).unwrap()
    }

    #[test]
    fn names_follow_the_session_mode() {
        let m = other("Entw&APw-rfe");
        assert_eq!(folder_name_as(&m, false).unwrap(), "Entwürfe");
        assert_eq!(folder_name_as(&m, true).unwrap(), "Entw&APw-rfe");
        let m = other("A&B");
        assert!(folder_name_as(&m, false).is_err(), "not modified UTF-7");
        assert_eq!(folder_name_as(&m, true).unwrap(), "A&B");
        for bad in ["a\u{85}b", "a\u{2028}", "x\u{7f}"] {
            assert!(folder_name_as(&other(bad), true).is_err(), "{bad:?}");
        }
        assert_eq!(
            folder_name_as(&other("Grüße/日本"), true).unwrap(),
            "Grüße/日本"
        );
        assert_eq!(pattern_as("inbox/%", true), "INBOX/%");
        assert_eq!(pattern_as("&ZeU-*", true), "&ZeU-*");
    }

    #[test]
    fn utf8_append_data() {
        assert_eq!(
            strip_utf8_open(b"a APPEND INBOX (\\Seen) utf8 (~{12+}\r\n").unwrap(),
            b"a APPEND INBOX (\\Seen) ~{12+}\r\n"
        );
        assert_eq!(strip_utf8_open(b"a APPEND INBOX {12}\r\n"), None);
        assert_eq!(strip_utf8_open(b"(~{3}\r\n"), None);
        assert_eq!(after_utf8_literal(b")").unwrap(), b"");
        assert_eq!(after_utf8_literal(b") ~{5}").unwrap(), b" ~{5}");
        assert!(after_utf8_literal(b"").is_err());
    }
}
