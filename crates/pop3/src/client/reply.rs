//! Replies, parsed from octets as they arrive (sans-I/O): a status line
//! (`+OK`/`-ERR`, RFC 1939 §3), then for a multi-line reply the data lines
//! up to the lone `.`, dot-unstuffed (RFC 1939 §3), each line ending CR LF.
//! Every line and the whole reply are bounded (mod.rs limits).

use super::{MAX_DATA_LINE, MAX_STATUS_LINE};

/// What went wrong with the remote's octets; the connection cannot go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("a reply line longer than {0} octets")]
    LineTooLong(usize),
    #[error("a reply larger than {0} octets")]
    TooLarge(usize),
    #[error("not a POP3 status line: {0:?}")]
    BadStatus(String),
}

/// A complete reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub ok: bool,
    /// The status line's text after `+OK `/`-ERR `.
    pub text: String,
    /// The data of a positive multi-line reply, unstuffed, lines ending CR LF.
    pub data: Vec<u8>,
}

/// Parses one reply; feed it octets until it yields the reply.
#[derive(Debug)]
pub struct ReplyParser {
    multi: bool,
    max_data: usize,
    line: Vec<u8>,
    status: Option<(bool, String)>,
    data: Vec<u8>,
}

impl ReplyParser {
    /// `multi`: a positive reply goes on with data lines (RETR, UIDL, LIST,
    /// CAPA); `max_data` bounds them.
    pub fn new(multi: bool, max_data: usize) -> ReplyParser {
        ReplyParser {
            multi,
            max_data,
            line: Vec::new(),
            status: None,
            data: Vec::new(),
        }
    }

    /// Consumes octets from `input`; returns how many, and the reply once
    /// it is complete (octets after it are left for the next reply).
    pub fn feed(&mut self, input: &[u8]) -> Result<(usize, Option<Reply>), ClientError> {
        let mut used = 0;
        while used < input.len() {
            let rest = &input[used..];
            let limit = self.line_limit();
            let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                if self.line.len() + rest.len() > limit {
                    return Err(ClientError::LineTooLong(limit));
                }
                self.line.extend_from_slice(rest);
                return Ok((input.len(), None));
            };
            if self.line.len() + nl + 1 > limit {
                return Err(ClientError::LineTooLong(limit));
            }
            self.line.extend_from_slice(&rest[..=nl]);
            used += nl + 1;
            let line = std::mem::take(&mut self.line);
            if let Some(reply) = self.line_done(&line)? {
                return Ok((used, Some(reply)));
            }
        }
        Ok((used, None))
    }

    fn line_limit(&self) -> usize {
        match self.status {
            None => MAX_STATUS_LINE,
            Some(_) => MAX_DATA_LINE,
        }
    }

    fn line_done(&mut self, line: &[u8]) -> Result<Option<Reply>, ClientError> {
        let body = trim_eol(line);
        let Some((ok, _)) = &self.status else {
            let (ok, text) = status(body)?;
            if !ok || !self.multi {
                return Ok(Some(Reply {
                    ok,
                    text,
                    data: Vec::new(),
                }));
            }
            self.status = Some((ok, text));
            return Ok(None);
        };
        let _ = ok;
        if body == b"." {
            let (ok, text) = self.status.take().expect("status seen");
            let data = std::mem::take(&mut self.data);
            return Ok(Some(Reply { ok, text, data }));
        }
        // RFC 1939 §3: a line starting with the termination octet is stuffed.
        let body = body.strip_prefix(b".").unwrap_or(body);
        if self.data.len() + body.len() + 2 > self.max_data {
            return Err(ClientError::TooLarge(self.max_data));
        }
        self.data.extend_from_slice(body);
        self.data.extend_from_slice(b"\r\n");
        Ok(None)
    }
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// RFC 1939 §3: `+OK` or `-ERR`, then optionally a space and text.
fn status(line: &[u8]) -> Result<(bool, String), ClientError> {
    let text = String::from_utf8_lossy(line);
    let (ok, rest) = if let Some(r) = text.strip_prefix("+OK") {
        (true, r)
    } else if let Some(r) = text.strip_prefix("-ERR") {
        (false, r)
    } else {
        return Err(ClientError::BadStatus(text.chars().take(80).collect()));
    };
    if !rest.is_empty() && !rest.starts_with(' ') {
        return Err(ClientError::BadStatus(text.chars().take(80).collect()));
    }
    Ok((ok, rest.trim_start().to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::MAX_MESSAGE;
    use super::*;

    fn parse_all(
        multi: bool,
        max: usize,
        input: &[u8],
    ) -> Result<(usize, Option<Reply>), ClientError> {
        ReplyParser::new(multi, max).feed(input)
    }

    #[test]
    fn single_line_replies() {
        let (n, r) = parse_all(false, 100, b"+OK ready <1.2@x>\r\n+OK next").unwrap();
        assert_eq!(n, 19);
        let r = r.unwrap();
        assert!(r.ok);
        assert_eq!(r.text, "ready <1.2@x>");
        let r = parse_all(true, 100, b"-ERR [AUTH] no\r\n")
            .unwrap()
            .1
            .unwrap();
        assert!(!r.ok);
        assert_eq!(r.text, "[AUTH] no");
        assert!(parse_all(false, 100, b"HTTP/1.1 200\r\n").is_err());
        assert!(parse_all(false, 100, b"+OKAY\r\n").is_err());
    }

    #[test]
    fn multi_line_unstuffs_and_ends_at_the_dot() {
        let input = b"+OK 3 octets\r\nSubject: x\r\n\r\n..dot\r\n.\r\n+OK";
        let (n, r) = parse_all(true, MAX_MESSAGE, input).unwrap();
        assert_eq!(n, input.len() - 3);
        assert_eq!(r.unwrap().data, b"Subject: x\r\n\r\n.dot\r\n");
    }

    #[test]
    fn octets_may_arrive_one_by_one() {
        let input = b"+OK\r\na\r\nb\n.\r\n";
        let mut p = ReplyParser::new(true, 100);
        let mut got = None;
        for b in input.iter() {
            let (n, r) = p.feed(std::slice::from_ref(b)).unwrap();
            assert_eq!(n, 1);
            if r.is_some() {
                got = r;
            }
        }
        assert_eq!(got.unwrap().data, b"a\r\nb\r\n");
    }

    #[test]
    fn a_status_line_crossing_max_status_line_is_refused() {
        let fits = format!("+OK {}\r\n", "x".repeat(MAX_STATUS_LINE - 6));
        assert_eq!(fits.len(), MAX_STATUS_LINE);
        assert!(parse_all(false, 0, fits.as_bytes()).unwrap().1.is_some());
        let over = format!("+OK {}\r\n", "x".repeat(MAX_STATUS_LINE - 5));
        assert_eq!(
            parse_all(false, 0, over.as_bytes()),
            Err(ClientError::LineTooLong(MAX_STATUS_LINE))
        );
        // Without its line end too: the parser does not wait for more.
        let open = "+".repeat(MAX_STATUS_LINE + 1);
        assert!(parse_all(false, 0, open.as_bytes()).is_err());
    }

    #[test]
    fn a_data_line_crossing_max_data_line_is_refused() {
        let fits = format!("+OK\r\n{}\r\n.\r\n", "x".repeat(MAX_DATA_LINE - 2));
        assert!(parse_all(true, MAX_MESSAGE, fits.as_bytes())
            .unwrap()
            .1
            .is_some());
        let over = format!("+OK\r\n{}\r\n.\r\n", "x".repeat(MAX_DATA_LINE - 1));
        assert_eq!(
            parse_all(true, MAX_MESSAGE, over.as_bytes()),
            Err(ClientError::LineTooLong(MAX_DATA_LINE))
        );
    }

    #[test]
    fn data_crossing_the_reply_limit_is_refused() {
        // Two lines of 8 octets (CR LF included) fit in 16, not in 15.
        let input = b"+OK\r\n123456\r\nabcdef\r\n.\r\n";
        assert_eq!(
            parse_all(true, 16, input).unwrap().1.unwrap().data.len(),
            16
        );
        assert_eq!(parse_all(true, 15, input), Err(ClientError::TooLarge(15)));
    }
}
