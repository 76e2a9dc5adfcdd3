//! Trace headers added to every delivered message (RFC 5321 §4.4):
//! Return-Path, and a Received line recording the client, TLS and the
//! authenticated user.

use std::fmt::Write;

/// What the Received header says about one transaction.
pub struct TraceInfo<'a> {
    pub helo: &'a str,
    pub client_ip: &'a str,
    pub hostname: &'a str,
    pub queue_id: &'a str,
    pub tls: Option<&'a str>,
    pub auth_user: Option<&'a str>,
    pub smtputf8: bool,
    /// Named in "for <...>" only when there is exactly one recipient (others stay private).
    pub single_recipient: Option<&'a str>,
    pub sender: &'a str,
    pub date: time::OffsetDateTime,
}

/// The "with" protocol name (RFC 3848, RFC 6531 §3.7.4).
fn protocol(t: &TraceInfo<'_>) -> &'static str {
    match (t.smtputf8, t.tls.is_some(), t.auth_user.is_some()) {
        (false, false, false) => "ESMTP",
        (false, true, false) => "ESMTPS",
        (false, false, true) => "ESMTPA",
        (false, true, true) => "ESMTPSA",
        (true, false, false) => "UTF8SMTP",
        (true, true, false) => "UTF8SMTPS",
        (true, false, true) => "UTF8SMTPA",
        (true, true, true) => "UTF8SMTPSA",
    }
}

/// Keeps client-supplied text from breaking the header (no CR/LF, no parentheses games).
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || c == '(' || c == ')' {
                '?'
            } else {
                c
            }
        })
        .take(255)
        .collect()
}

/// Octets of a stored message in which [`return_path_len`] looks for the line.
pub const RETURN_PATH_HEAD: usize = 4096;

/// The length of the Return-Path line [`trace_headers`] put first in a stored
/// message (0 when it does not start with one). Only final delivery adds
/// Return-Path (RFC 5321 §4.4): a copy relayed onwards goes without it. The
/// line is ours and never folded (`clean` drops control characters).
pub fn return_path_len(head: &[u8]) -> usize {
    const NAME: &[u8] = b"Return-Path:";
    if head.len() < NAME.len() || !head[..NAME.len()].eq_ignore_ascii_case(NAME) {
        return 0;
    }
    head.windows(2)
        .position(|w| w == b"\r\n")
        .map_or(0, |at| at + 2)
}

/// "Return-Path: ...\r\nReceived: ...\r\n", ready to be written before the message.
pub fn trace_headers(t: &TraceInfo<'_>) -> String {
    let mut h = String::new();
    let _ = write!(h, "Return-Path: <{}>\r\n", clean(t.sender));
    let _ = write!(
        h,
        "Received: from {} ([{}])\r\n\tby {} (Postern) with {}",
        clean(t.helo),
        t.client_ip,
        t.hostname,
        protocol(t)
    );
    let mut notes = Vec::new();
    if let Some(tls) = t.tls {
        notes.push(clean(tls));
    }
    if let Some(user) = t.auth_user {
        notes.push(format!("authenticated as {}", clean(user)));
    }
    if !notes.is_empty() {
        let _ = write!(h, "\r\n\t({})", notes.join("; "));
    }
    let _ = write!(h, "\r\n\tid {}", t.queue_id);
    if let Some(rcpt) = t.single_recipient {
        let _ = write!(h, "\r\n\tfor <{}>", clean(rcpt));
    }
    let _ = write!(h, ";\r\n\t{}\r\n", rfc5322_date(t.date));
    h
}

/// An RFC 5322 §3.3 date-time: "Mon, 23 Nov 2026 19:06:22 +0000".
pub fn rfc5322_date(t: time::OffsetDateTime) -> String {
    let fmt = time::macros::format_description!("[weekday repr:short], [day padding:none] [month repr:short] [year] [hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]");
    t.format(&fmt).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_records_tls_and_user() {
        let t = TraceInfo {
            helo: "client.example",
            client_ip: "127.0.0.1",
            hostname: "mx.test",
            queue_id: "abc123",
            tls: Some("TLSv1.3 TLS13_AES_256_GCM_SHA384"),
            auth_user: Some("alice@example.org"),
            smtputf8: false,
            single_recipient: Some("bob@example.org"),
            sender: "alice@example.org",
            date: time::OffsetDateTime::UNIX_EPOCH,
        };
        let h = trace_headers(&t);
        assert!(h.starts_with("Return-Path: <alice@example.org>\r\nReceived: from client.example ([127.0.0.1])\r\n\tby mx.test (Postern) with ESMTPSA\r\n\t(TLSv1.3 TLS13_AES_256_GCM_SHA384; authenticated as alice@example.org)\r\n\tid abc123\r\n\tfor <bob@example.org>;\r\n\tThu, 1 Jan 1970 00:00:00 +0000\r\n"), "{h}");
    }

    #[test]
    fn client_text_cannot_inject_headers() {
        let t = TraceInfo {
            helo: "x\r\nX-Injected: yes",
            client_ip: "::1",
            hostname: "mx.test",
            queue_id: "1",
            tls: None,
            auth_user: None,
            smtputf8: true,
            single_recipient: None,
            sender: "",
            date: time::OffsetDateTime::UNIX_EPOCH,
        };
        let h = trace_headers(&t);
        assert!(!h.contains("\r\nX-Injected"));
        assert!(h.contains("with UTF8SMTP\r\n"));
        assert!(h.starts_with("Return-Path: <>\r\n"));
        assert_eq!(return_path_len(h.as_bytes()), "Return-Path: <>\r\n".len());
    }

    #[test]
    fn only_a_leading_complete_return_path_line_is_skipped() {
        assert_eq!(
            return_path_len(b"return-path: <a@b.c>\r\nReceived: x\r\n"),
            22
        );
        assert_eq!(
            return_path_len(b"Received: x\r\nReturn-Path: <a@b.c>\r\n"),
            0
        );
        assert_eq!(return_path_len(b"Return-Path: <a@b.c"), 0);
        assert_eq!(return_path_len(b"Return"), 0);
    }
}
