//! Reading replies (RFC 5321 §4.2): "250-first", "250 last"; enhanced status
//! codes (RFC 2034, RFC 3463) when a line starts with one. Sans-I/O and
//! bounded: bytes go in, whole replies come out, and neither one line nor one
//! reply can grow without limit, whatever the server sends.

use std::fmt;

/// Longest reply line accepted, line end included. RFC 5321 §4.5.3.1.5 sets
/// 512; servers exceed it, so we allow more, but not without bound.
pub const MAX_REPLY_LINE: usize = 4096;
/// Most lines in one reply (an EHLO reply lists one extension a line).
pub const MAX_REPLY_LINES: usize = 100;

/// A server's reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// The enhanced status code of the first line ("5.1.1"), when it has one.
    pub enhanced: Option<String>,
    /// The lines' text (enhanced codes removed), joined with "\n".
    pub text: String,
}

impl Reply {
    pub fn new(code: u16, enhanced: Option<&str>, text: impl Into<String>) -> Reply {
        Reply {
            code,
            enhanced: enhanced.map(str::to_string),
            text: text.into(),
        }
    }

    /// 2yz: the command succeeded (RFC 5321 §4.2.1).
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// 3yz: go on (354 after DATA, 334 during AUTH).
    pub fn is_intermediate(&self) -> bool {
        (300..400).contains(&self.code)
    }

    /// 4yz: failed for now; try again later.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// 5yz: failed for good.
    pub fn is_permanent(&self) -> bool {
        (500..600).contains(&self.code)
    }

    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.text.split('\n')
    }
}

/// "550 5.1.1 no such user / try another": the lines joined on one line, fit
/// for a log or a queue's "last error".
impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(e) = &self.enhanced {
            write!(f, " {e}")?;
        }
        for (i, line) in self.lines().enumerate() {
            match i {
                0 if line.is_empty() => {}
                0 => write!(f, " {line}")?,
                _ => write!(f, " / {line}")?,
            }
        }
        Ok(())
    }
}

/// Why a server's bytes are not a reply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("reply line longer than {MAX_REPLY_LINE} octets")]
    LineTooLong,
    #[error("reply of more than {MAX_REPLY_LINES} lines")]
    TooManyLines,
    #[error("malformed reply line {0:?}")]
    Malformed(String),
    #[error("reply code changed from {0} to {1} within a multi-line reply")]
    CodeChanged(u16, u16),
}

/// Collects bytes and yields replies. Call [`ReplyReader::next_reply`] after
/// every [`ReplyReader::push`]: that is what keeps the buffer bounded.
#[derive(Debug, Default)]
pub struct ReplyReader {
    buf: Vec<u8>,
    /// Lines of the reply in progress: its code and each line's text.
    code: Option<u16>,
    lines: Vec<String>,
}

impl ReplyReader {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received and not yet part of a reply.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete reply, or None until more bytes arrive.
    pub fn next_reply(&mut self) -> Result<Option<Reply>, ReplyError> {
        loop {
            let Some(end) = self.buf.iter().position(|&b| b == b'\n') else {
                // No line end within the limit: this line can only be too long.
                return match self.buf.len() >= MAX_REPLY_LINE {
                    true => Err(ReplyError::LineTooLong),
                    false => Ok(None),
                };
            };
            if end + 1 > MAX_REPLY_LINE {
                return Err(ReplyError::LineTooLong);
            }
            let line: Vec<u8> = self.buf.drain(..=end).collect();
            // CR LF, or a bare LF from a sloppy server.
            let line = line[..end].strip_suffix(b"\r").unwrap_or(&line[..end]);
            if let Some(reply) = self.line(line)? {
                return Ok(Some(reply));
            }
        }
    }

    /// One line without its line end; the reply when this was its last line.
    fn line(&mut self, line: &[u8]) -> Result<Option<Reply>, ReplyError> {
        let (code, last, text) = split_line(line)?;
        if let Some(first) = self.code.filter(|&c| c != code) {
            return Err(ReplyError::CodeChanged(first, code));
        }
        if self.lines.len() >= MAX_REPLY_LINES {
            return Err(ReplyError::TooManyLines);
        }
        self.code = Some(code);
        self.lines.push(text);
        if !last {
            return Ok(None);
        }
        self.code = None;
        Ok(Some(assemble(code, std::mem::take(&mut self.lines))))
    }
}

/// "250-text" → (250, false, "text"); "250 text" and "250" are last lines.
fn split_line(line: &[u8]) -> Result<(u16, bool, String), ReplyError> {
    let malformed = || ReplyError::Malformed(printable(line));
    let (digits, rest) = line.split_at_checked(3).ok_or_else(malformed)?;
    // RFC 5321 §4.2: the first digit is 2 to 5, the others any digit.
    if !matches!(digits[0], b'2'..=b'5') || !digits[1..].iter().all(u8::is_ascii_digit) {
        return Err(malformed());
    }
    let code = digits
        .iter()
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    match rest.split_first() {
        None => Ok((code, true, String::new())),
        Some((b' ', text)) => Ok((code, true, printable(text))),
        Some((b'-', text)) => Ok((code, false, printable(text))),
        Some(_) => Err(malformed()),
    }
}

/// Text fit for a log: UTF-8 (lossy), control characters replaced.
fn printable(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| match c.is_control() && c != '\t' {
            true => '\u{FFFD}',
            false => c,
        })
        .collect()
}

/// The reply from its lines; each line's enhanced code is removed from its
/// text, and the first line's kept (RFC 2034 §4: every line carries one).
fn assemble(code: u16, lines: Vec<String>) -> Reply {
    let class = (code / 100) as u8;
    let mut enhanced = None;
    let mut texts = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        match split_enhanced(line, class) {
            Some((status, rest)) => {
                if i == 0 {
                    enhanced = Some(status.to_string());
                }
                texts.push(rest);
            }
            None => texts.push(line.as_str()),
        }
    }
    Reply {
        code,
        enhanced,
        text: texts.join("\n"),
    }
}

/// "5.1.1 text" → ("5.1.1", "text"): class "." 1*3digit "." 1*3digit
/// (RFC 3463 §2), with the class matching the reply code's first digit.
fn split_enhanced(text: &str, class: u8) -> Option<(&str, &str)> {
    let (status, rest) = text.split_once(' ').unwrap_or((text, ""));
    let mut parts = status.split('.');
    let ok = parts.next() == Some(&*class.to_string())
        && parts.next().is_some_and(is_1to3_digits)
        && parts.next().is_some_and(is_1to3_digits)
        && parts.next().is_none();
    ok.then_some((status, rest))
}

fn is_1to3_digits(s: &str) -> bool {
    (1..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8]) -> Result<Vec<Reply>, ReplyError> {
        let mut r = ReplyReader::default();
        r.push(input);
        let mut out = Vec::new();
        while let Some(reply) = r.next_reply()? {
            out.push(reply);
        }
        Ok(out)
    }

    fn one(input: &str) -> Reply {
        let mut all = read_all(input.as_bytes()).unwrap();
        assert_eq!(all.len(), 1, "{input:?}");
        all.remove(0)
    }

    #[test]
    fn single_line_with_and_without_enhanced_code() {
        assert_eq!(
            one("550 5.1.1 No such user\r\n"),
            Reply::new(550, Some("5.1.1"), "No such user")
        );
        assert_eq!(
            one("220 mx.example.org ESMTP\r\n"),
            Reply::new(220, None, "mx.example.org ESMTP")
        );
        assert_eq!(one("250\r\n"), Reply::new(250, None, ""));
        assert_eq!(one("250 \r\n"), Reply::new(250, None, ""));
        assert_eq!(one("250 2.0.0\r\n"), Reply::new(250, Some("2.0.0"), ""));
    }

    #[test]
    fn enhanced_code_must_match_the_class_and_shape() {
        // A 4xx reply whose text starts with "5.1.1" does not carry it.
        assert_eq!(one("450 5.1.1 x\r\n").enhanced, None);
        assert_eq!(one("250 2.0 x\r\n").enhanced, None);
        assert_eq!(one("250 2.0.0000 x\r\n").enhanced, None);
        assert_eq!(one("250 2.x.0 x\r\n").enhanced, None);
        assert_eq!(one("452 4.5.3 x\r\n").enhanced.as_deref(), Some("4.5.3"));
        assert_eq!(
            one("554 5.123.45 x\r\n").enhanced.as_deref(),
            Some("5.123.45")
        );
    }

    #[test]
    fn multi_line() {
        let r = one("250-mx.example.org hello\r\n250-PIPELINING\r\n250 SIZE 1000\r\n");
        assert_eq!(r.code, 250);
        assert_eq!(r.text, "mx.example.org hello\nPIPELINING\nSIZE 1000");
        let r = one("550-5.7.1 first\r\n550-5.7.1 second\r\n550 5.7.1 third\r\n");
        assert_eq!(r.enhanced.as_deref(), Some("5.7.1"));
        assert_eq!(r.text, "first\nsecond\nthird");
        assert_eq!(r.to_string(), "550 5.7.1 first / second / third");
    }

    #[test]
    fn display() {
        assert_eq!(Reply::new(250, None, "").to_string(), "250");
        assert_eq!(Reply::new(250, Some("2.0.0"), "").to_string(), "250 2.0.0");
        assert_eq!(Reply::new(421, None, "bye").to_string(), "421 bye");
    }

    #[test]
    fn classes() {
        let r = |c| Reply::new(c, None, "");
        assert!(r(250).is_positive() && !r(250).is_permanent());
        assert!(r(354).is_intermediate());
        assert!(r(451).is_transient() && !r(451).is_permanent());
        assert!(r(554).is_permanent() && !r(554).is_transient());
    }

    #[test]
    fn bare_lf_and_pipelined_replies() {
        let all = read_all(b"250 a\n250-b\r\n250 c\n354 go\r\n").unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[1].text, "b\nc");
        assert_eq!(all[2].code, 354);
    }

    #[test]
    fn waits_for_the_last_line_across_pushes() {
        let input = b"250-one\r\n250-two\r\n250 three\r\n550 5.1.1 x\r\n";
        for cut in 0..input.len() {
            let mut r = ReplyReader::default();
            r.push(&input[..cut]);
            let mut got = Vec::new();
            while let Some(x) = r.next_reply().unwrap() {
                got.push(x);
            }
            r.push(&input[cut..]);
            while let Some(x) = r.next_reply().unwrap() {
                got.push(x);
            }
            assert_eq!(got.len(), 2, "cut at {cut}");
            assert_eq!(got[0].text, "one\ntwo\nthree");
            assert_eq!(r.buffered(), 0);
        }
    }

    #[test]
    fn malformed_lines() {
        for bad in [
            "25\r\n",
            "abc def\r\n",
            "250x\r\n",
            "150 low\r\n",
            "650 high\r\n",
            "2a0 x\r\n",
            "\r\n",
        ] {
            assert!(
                matches!(read_all(bad.as_bytes()), Err(ReplyError::Malformed(_))),
                "{bad:?}"
            );
        }
        assert_eq!(
            read_all(b"250-a\r\n251 b\r\n"),
            Err(ReplyError::CodeChanged(250, 251))
        );
    }

    #[test]
    fn control_characters_do_not_reach_the_text() {
        let r = one("550 a\x1b[31mb\rc\0d\r\n");
        assert!(!r.text.chars().any(|c| c.is_control()), "{:?}", r.text);
        assert_eq!(one("550 caf\u{e9}\r\n").text, "caf\u{e9}");
        assert_eq!(read_all(b"550 \xff\r\n").unwrap()[0].text, "\u{FFFD}");
    }

    #[test]
    fn line_length_limit() {
        let line = |len: usize| {
            let mut l = b"250 ".to_vec();
            l.resize(len - 2, b'x');
            l.extend_from_slice(b"\r\n");
            l
        };
        assert_eq!(line(MAX_REPLY_LINE).len(), MAX_REPLY_LINE);
        assert!(read_all(&line(MAX_REPLY_LINE)).is_ok());
        assert_eq!(
            read_all(&line(MAX_REPLY_LINE + 1)),
            Err(ReplyError::LineTooLong)
        );
    }

    #[test]
    fn a_line_without_end_is_refused_once_it_cannot_fit() {
        let mut r = ReplyReader::default();
        r.push(&vec![b'2'; MAX_REPLY_LINE - 1]);
        assert_eq!(r.next_reply(), Ok(None));
        r.push(b"5");
        assert_eq!(r.next_reply(), Err(ReplyError::LineTooLong));
    }

    #[test]
    fn line_count_limit() {
        let reply = |lines: usize| {
            let mut s = "250-x\r\n".repeat(lines - 1);
            s.push_str("250 x\r\n");
            s
        };
        assert_eq!(
            one(&reply(MAX_REPLY_LINES)).lines().count(),
            MAX_REPLY_LINES
        );
        assert_eq!(
            read_all(reply(MAX_REPLY_LINES + 1).as_bytes()),
            Err(ReplyError::TooManyLines)
        );
    }

    #[test]
    fn random_bytes_never_panic() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let alphabet = b"0123456789 -.\r\n25xX";
        for _ in 0..2000 {
            let len = rng.random_range(0..200);
            let input: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                .collect();
            let _ = read_all(&input);
        }
    }
}
