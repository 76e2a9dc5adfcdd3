//! Server replies as the client reads them (RFC 5321 §4.2): a code, an
//! optional enhanced status code (RFC 2034/3463) and text, possibly over
//! several lines. Reading is bounded in line length and line count.

use super::ClientError;
use std::fmt;

/// Longest reply line accepted (RFC 5321 §4.5.3.1.5 says 512; some servers send more).
pub const MAX_REPLY_LINE: usize = 4096;
/// Most lines in one reply (an EHLO reply has a few dozen at most).
pub const MAX_REPLY_LINES: usize = 100;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// "5.1.1" when the server gave one.
    pub enhanced: Option<String>,
    /// The text of each line (enhanced code removed), joined with "\n".
    pub text: String,
}

impl Reply {
    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    pub fn is_permanent(&self) -> bool {
        self.code >= 500
    }

    /// The text lines after the first (EHLO keywords).
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.text.split('\n')
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(e) = &self.enhanced {
            write!(f, " {e}")?;
        }
        let text: Vec<&str> = self.text.split('\n').filter(|l| !l.is_empty()).collect();
        if !text.is_empty() {
            write!(f, " {}", text.join(" / "))?;
        }
        Ok(())
    }
}

/// Accumulates reply lines until the last one (code followed by a space).
#[derive(Default)]
pub(crate) struct ReplyBuilder {
    code: Option<u16>,
    enhanced: Option<String>,
    lines: Vec<String>,
}

impl ReplyBuilder {
    /// Feeds one line without its CRLF; returns the reply when it is complete.
    pub fn line(&mut self, line: &[u8]) -> Result<Option<Reply>, ClientError> {
        let bad = || ClientError::Protocol(format!("malformed reply line {:?}", String::from_utf8_lossy(&line[..line.len().min(80)])));
        if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) || !(b'2'..=b'5').contains(&line[0]) {
            return Err(bad());
        }
        let code = std::str::from_utf8(&line[..3]).map_err(|_| bad())?.parse::<u16>().map_err(|_| bad())?;
        if self.code.is_some_and(|c| c != code) {
            return Err(bad());
        }
        let last = match line.get(3) {
            None | Some(b' ') => true,
            Some(b'-') => false,
            Some(_) => return Err(bad()),
        };
        let text = String::from_utf8_lossy(line.get(4..).unwrap_or_default()).into_owned();
        let text = self.strip_enhanced(code, text);
        self.code = Some(code);
        self.lines.push(text);
        if self.lines.len() > MAX_REPLY_LINES {
            return Err(ClientError::Protocol(format!("reply of more than {MAX_REPLY_LINES} lines")));
        }
        Ok(last.then(|| Reply { code, enhanced: self.enhanced.take(), text: std::mem::take(&mut self.lines).join("\n") }))
    }

    /// RFC 2034 §4: "class.subject.detail" at the start of each line, class matching the code.
    fn strip_enhanced(&mut self, code: u16, text: String) -> String {
        let Some((first, rest)) = text.split_once(' ').or(Some((text.as_str(), ""))) else { return text };
        let parts: Vec<&str> = first.split('.').collect();
        let ok = parts.len() == 3
            && parts.iter().all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
            && parts[0].len() == 1
            && parts[0].as_bytes()[0] == b'0' + (code / 100) as u8;
        if !ok {
            return text;
        }
        if self.enhanced.is_none() {
            self.enhanced = Some(first.to_string());
        }
        rest.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(lines: &[&str]) -> Result<Option<Reply>, ClientError> {
        let mut b = ReplyBuilder::default();
        let mut out = None;
        for l in lines {
            out = b.line(l.as_bytes())?;
        }
        Ok(out)
    }

    #[test]
    fn single_multi_and_enhanced() {
        let r = parse(&["250 2.1.5 ok"]).unwrap().unwrap();
        assert_eq!((r.code, r.enhanced.as_deref(), r.text.as_str()), (250, Some("2.1.5"), "ok"));
        let r = parse(&["250-mx.example", "250-PIPELINING", "250 SIZE 1000"]).unwrap().unwrap();
        assert_eq!(r.lines().collect::<Vec<_>>(), ["mx.example", "PIPELINING", "SIZE 1000"]);
        let r = parse(&["550 5.1.1 <x@y>: no such user"]).unwrap().unwrap();
        assert_eq!(r.to_string(), "550 5.1.1 <x@y>: no such user");
        assert!(r.is_permanent());
        let r = parse(&["451 4.0.0"]).unwrap().unwrap();
        assert_eq!((r.enhanced.as_deref(), r.text.as_str()), (Some("4.0.0"), ""));
        let r = parse(&["550 2.0.0 mismatched class is text"]).unwrap().unwrap();
        assert_eq!(r.enhanced, None);
        assert_eq!(parse(&["220"]).unwrap().unwrap().code, 220);
    }

    #[test]
    fn malformed_replies_are_errors() {
        for bad in [&["xyz ok"][..], &["25"], &["250-a", "251 b"], &["250_x"], &["650 x"], &["099 x"]] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let many: Vec<String> = (0..=MAX_REPLY_LINES).map(|_| "250-x".to_string()).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(matches!(parse(&refs), Err(ClientError::Protocol(_))));
    }
}
