//! Field values made from outside data: cleaned so they stay on one logical
//! line, typed as delivery-status wants them, folded to fit (RFC 5322 §2.1.1).

use super::Action;
use std::fmt::Write;
use time::format_description::well_known::Rfc2822;
use time::OffsetDateTime;

/// Where lines are folded when the words allow (RFC 5322 §2.1.1 "SHOULD").
pub(super) const FOLD_AT: usize = 78;
/// The longest piece of a word on a line: with a field name or an indent in
/// front, a line stays within 998 octets (RFC 5322 §2.1.1 "MUST").
pub(super) const MAX_WORD: usize = 900;
/// 9999-12-31T23:59:59Z: RFC 5322 §3.3 years have four digits.
const MAX_UNIX: i64 = 253_402_300_799;

/// `text` with every control character (CR, LF, NUL, …) and run of white space
/// as one space, trimmed: it can neither end a field nor start another.
pub(super) fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let blank = c.is_control() || c.is_whitespace();
        if !blank {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// [`one_line`] in ASCII: each other character as `\x{HEX}`, the notation of
/// RFC 6533 §3, so the delivery-status part stays 7-bit (RFC 3464 §2.1.1).
pub(super) fn ascii_line(text: &str) -> String {
    let mut out = String::new();
    for c in one_line(text).chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            push_hexpoint(&mut out, c);
        }
    }
    out
}

/// `\x{HEX}`: upper-case, two digits at least (RFC 6533 §3 HEXPOINT).
fn push_hexpoint(out: &mut String, c: char) {
    let _ = write!(out, "\\x{{{:02X}}}", u32::from(c));
}

/// A host name for `dns;` fields, Message-ID and the MAILER-DAEMON address:
/// only what a domain or address literal holds; "localhost" when nothing is left.
pub(super) fn host_name(host: &str) -> String {
    let keep =
        |c: &char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '[' | ']' | ':');
    let host: String = host.chars().filter(keep).collect();
    if host.is_empty() {
        "localhost".to_string()
    } else {
        host
    }
}

/// An address as a recipient field types it (RFC 3464 §2.3.2): `rfc822;addr`
/// when ASCII, else `utf-8;` in the 7-bit utf-8-addr-xtext form (RFC 6533 §3).
pub(super) fn typed_address(address: &str) -> String {
    let clean = one_line(address);
    if clean.is_ascii() {
        return format!("rfc822;{clean}");
    }
    let mut out = String::from("utf-8;");
    for c in clean.chars() {
        // QCHAR: printable ASCII but '+', '=' and '\'; the rest as EmbeddedUnicodeChar.
        if matches!(c, '!'..='~') && !matches!(c, '+' | '=' | '\\') {
            out.push(c);
        } else {
            push_hexpoint(&mut out, c);
        }
    }
    out
}

/// The Original-Recipient value (RFC 3464 §2.3.1) from ORCPT as stored:
/// `type;address`, xtext already decoded (RFC 3461 §4.2). A `utf-8` address in
/// utf-8-addr-unitext form is turned into utf-8-addr-xtext (RFC 6533 §3); a
/// missing or malformed type counts as rfc822.
pub(super) fn original_recipient(orcpt: &str) -> String {
    let orcpt = one_line(orcpt);
    let is_type =
        |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let (kind, address) = match orcpt.split_once(';') {
        Some((kind, address)) if is_type(kind.trim()) => (kind.trim(), address.trim()),
        _ => return typed_address(&orcpt),
    };
    if address.is_ascii() {
        format!("{kind};{address}")
    } else if kind.eq_ignore_ascii_case("utf-8") {
        let mut out = String::from("utf-8;");
        address.chars().for_each(|c| {
            if c.is_ascii() {
                out.push(c)
            } else {
                push_hexpoint(&mut out, c)
            }
        });
        out
    } else {
        typed_address(address)
    }
}

/// `status` when it is an enhanced status code (RFC 3463 §2: class "." subject
/// "." detail, 1–3 digits each), else the action's class with 0.0.
pub(super) fn status_code(status: &str, action: Action) -> String {
    let digits = |s: &str| (1..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    let status = status.trim();
    let mut it = status.split('.');
    let ok = matches!(it.next(), Some("2" | "4" | "5"))
        && it.next().is_some_and(digits)
        && it.next().is_some_and(digits)
        && it.next().is_none();
    match (ok, action) {
        (true, _) => status.to_string(),
        (false, Action::Failed) => "5.0.0".to_string(),
        (false, Action::Delayed) => "4.0.0".to_string(),
        (false, Action::Delivered | Action::Relayed) => "2.0.0".to_string(),
    }
}

/// An RFC 5322 §3.3 date-time in UTC, e.g. "Mon, 23 Nov 2026 21:14:05 +0000";
/// times outside 1970–9999 are clamped.
pub(super) fn date(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix.clamp(0, MAX_UNIX))
        .ok()
        .and_then(|t| t.format(&Rfc2822).ok())
        .unwrap_or_else(|| "Thu, 01 Jan 1970 00:00:00 +0000".to_string())
}

/// Appends `name: value` CRLF, folded before spaces (RFC 5322 §2.2.3) so lines
/// keep within 78 columns where the words allow and 998 octets always. `value`
/// is made one line first; a word longer than [`MAX_WORD`] is cut.
pub(super) fn field(out: &mut String, name: &str, value: &str) {
    let lines = wrap(&one_line(value), name.len() + 2, 1, FOLD_AT);
    out.push_str(name);
    out.push_str(": ");
    // Unfolding removes only the CRLF: "a" CRLF " b" reads "a b" again.
    out.push_str(&lines.join("\r\n "));
    out.push_str("\r\n");
}

/// `text` (one line, single spaces) split at spaces into lines of at most `width`
/// octets where the words allow; the first line has `first` columns taken, the
/// others `next`. A word gets a line of its own when it must, cut every
/// [`MAX_WORD`] octets (at a character boundary).
pub(super) fn wrap(text: &str, first: usize, next: usize, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let (mut line, mut col) = (String::new(), first);
    for word in text.split(' ').filter(|w| !w.is_empty()).flat_map(pieces) {
        if !line.is_empty() && col + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
            col = next;
        }
        if !line.is_empty() {
            line.push(' ');
            col += 1;
        }
        line.push_str(word);
        col += word.len();
    }
    lines.push(line);
    lines
}

/// `word` in pieces of at most [`MAX_WORD`] octets.
fn pieces(mut word: &str) -> Vec<&str> {
    let mut out = Vec::new();
    while word.len() > MAX_WORD {
        let (head, rest) = word.split_at(word.floor_char_boundary(MAX_WORD));
        out.push(head);
        word = rest;
    }
    out.push(word);
    out
}
