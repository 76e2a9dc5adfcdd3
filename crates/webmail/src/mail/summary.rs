//! What a message list shows of each message: subject, sender, date,
//! flags, whether it has attachments. Read from the header only, on the
//! store's pool (one trip for a page), never the whole body.

use super::has_flag;
use mail_parser::{Address, MessageParser, MimeHeaders};
use postern_store::mailbox::MessageInfo;
use postern_store::BodyFiles;
use serde::Serialize;
use std::io::Read;

/// Bytes of a message read to find its header; a longer header is cut.
pub const MAX_HEADER_BYTES: u64 = 64 * 1024;

#[derive(Serialize, Clone, Debug, Default)]
pub struct Summary {
    pub uid: u32,
    pub subject: String,
    pub from: String,
    pub to: String,
    /// RFC 3339; the Date header, else the arrival time.
    pub date: String,
    pub arrived: i64,
    pub size: u64,
    pub seen: bool,
    pub flagged: bool,
    pub answered: bool,
    pub draft: bool,
    pub attachment: bool,
    /// 1 for a reply shown under its thread's first message (threaded lists).
    pub depth: u8,
    /// Own Message-ID, then References and In-Reply-To (threading only).
    #[serde(skip)]
    pub thread_ids: Vec<String>,
}

/// "Name <addr>" list of an address header, as text.
pub fn addresses(a: Option<&Address<'_>>) -> String {
    let Some(a) = a else {
        return String::new();
    };
    a.iter()
        .map(|x| match (x.name(), x.address()) {
            (Some(n), Some(e)) => format!("{n} <{e}>"),
            (None, Some(e)) => e.to_string(),
            (Some(n), None) => n.to_string(),
            (None, None) => String::new(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The header of `raw` (through the blank line).
fn header_of(raw: &[u8]) -> &[u8] {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 2));
    &raw[..end.unwrap_or(raw.len())]
}

/// One message's summary from its header bytes.
pub fn summarise(m: &MessageInfo, header: &[u8]) -> Summary {
    let mut s = Summary {
        uid: m.uid,
        arrived: m.internal_date,
        size: m.size,
        seen: has_flag(&m.flags, "\\Seen"),
        flagged: has_flag(&m.flags, "\\Flagged"),
        answered: has_flag(&m.flags, "\\Answered"),
        draft: has_flag(&m.flags, "\\Draft"),
        date: postern_net::security::rfc3339(m.internal_date),
        ..Default::default()
    };
    fill(&mut s, header);
    s
}

/// The header fields of a summary.
fn fill(s: &mut Summary, header: &[u8]) {
    let Some(p) = MessageParser::default().parse_headers(header_of(header)) else {
        return;
    };
    s.subject = p.subject().unwrap_or_default().to_string();
    s.from = addresses(p.from());
    s.to = addresses(p.to());
    if let Some(d) = p.date() {
        s.date = d.to_rfc3339();
    }
    s.thread_ids = p.message_id().map(str::to_string).into_iter().collect();
    for v in [p.references(), p.in_reply_to()] {
        if let Some(list) = v.as_text_list() {
            s.thread_ids.extend(list.iter().map(|x| x.to_string()));
        }
    }
    s.attachment = p.content_type().is_some_and(|c| {
        c.ctype().eq_ignore_ascii_case("multipart")
            && c.subtype().is_some_and(|t| t.eq_ignore_ascii_case("mixed"))
    });
}

/// Summaries of `msgs`, read on the store's pool (see `scan_bodies`).
pub fn read_all(files: &dyn BodyFiles, msgs: &[MessageInfo]) -> Vec<Summary> {
    msgs.iter()
        .map(|m| {
            let mut head = Vec::new();
            if let Ok(Some(r)) = files.open(&m.blob) {
                let _ = r.take(MAX_HEADER_BYTES).read_to_end(&mut head);
            }
            summarise(m, &head)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_gives_subject_sender_and_date() {
        let raw = b"From: Bob <bob@example.org>\r\nTo: a@example.org\r\nSubject: =?utf-8?q?H=C3=A9?= <b>\r\nDate: Mon, 7 Dec 2026 05:00:00 +0000\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\nbody";
        let mut s = Summary::default();
        fill(&mut s, raw);
        assert_eq!(s.subject, "H\u{e9} <b>");
        assert_eq!(s.from, "Bob <bob@example.org>");
        assert_eq!(s.to, "a@example.org");
        assert!(s.date.starts_with("2026-12-07T05:00:00"), "{}", s.date);
        assert!(s.attachment);
    }

    #[test]
    fn a_header_cut_at_the_limit_still_gives_a_row() {
        let mut raw = b"Subject: x\r\n".to_vec();
        raw.extend(std::iter::repeat_n(b'X', MAX_HEADER_BYTES as usize));
        raw.truncate(MAX_HEADER_BYTES as usize);
        let mut s = Summary::default();
        fill(&mut s, &raw);
        assert_eq!(s.subject, "x");
    }
}
