//! Writing IMAP data on the wire: strings as quoted or literal (RFC 3501
//! §4.3), mailbox names in modified UTF-7 (§5.1.3), flag lists, dates.

/// Appends `s` as an IMAP string: quoted when it can be, else a literal.
pub fn string(out: &mut Vec<u8>, s: &[u8]) {
    let quotable = s.len() < 1024
        && s.iter()
            .all(|&b| b.is_ascii() && b != b'\r' && b != b'\n' && b != 0);
    if quotable {
        out.push(b'"');
        for &b in s {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(format!("{{{}}}\r\n", s.len()).as_bytes());
        out.extend_from_slice(s);
    }
}

/// A folder name as sent to a client: INBOX as is, others in modified UTF-7.
pub fn mailbox(out: &mut Vec<u8>, name: &str) {
    string(out, crate::utf7::encode(name).as_bytes());
}

/// A folder name as sent to a client that enabled UTF8=ACCEPT (RFC 6855 §3):
/// UTF-8 in a quoted string; `mailbox` when `utf8` is false.
pub fn mailbox_as(out: &mut Vec<u8>, name: &str, utf8: bool) {
    if !utf8 {
        return mailbox(out, name);
    }
    let quotable = name.len() < 1024 && !name.contains(['\r', '\n', '\0']);
    if !quotable {
        return string(out, name.as_bytes());
    }
    out.push(b'"');
    for b in name.bytes() {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// `(\Seen \Flagged)` from the store's space-separated form, with
/// `\Recent` first when the message is recent in the session.
pub fn flag_list(flags: &str, recent: bool) -> String {
    match (recent, flags.is_empty()) {
        (false, _) => format!("({flags})"),
        (true, true) => "(\\Recent)".to_string(),
        (true, false) => format!("(\\Recent {flags})"),
    }
}

/// INTERNALDATE form: `"17-Jul-1996 02:44:25 +0000"` (RFC 3501 §9 date-time).
pub fn internal_date(secs: i64) -> String {
    let fmt = time::macros::format_description!(
        "\"[day]-[month repr:short]-[year] [hour]:[minute]:[second] +0000\""
    );
    time::OffsetDateTime::from_unix_timestamp(secs)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(&fmt)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings() {
        let mut out = Vec::new();
        string(&mut out, b"a \"b\" \\c");
        assert_eq!(out, b"\"a \\\"b\\\" \\\\c\"");
        let mut out = Vec::new();
        string(&mut out, b"line\r\nbreak");
        assert_eq!(out, b"{11}\r\nline\r\nbreak");
        let mut out = Vec::new();
        mailbox(&mut out, "Entwürfe");
        assert_eq!(out, b"\"Entw&APw-rfe\"");
        let mut out = Vec::new();
        mailbox_as(&mut out, "Grüße/\"日本\"", true);
        assert_eq!(out, "\"Grüße/\\\"日本\\\"\"".as_bytes());
        assert_eq!(internal_date(0), "\"01-Jan-1970 00:00:00 +0000\"");
    }
}
