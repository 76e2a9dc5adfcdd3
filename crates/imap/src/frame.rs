//! Framing: one command is a line, or a line ending in a literal
//! announcement `{N}` / `{N+}` followed by N octets and more lines
//! (RFC 3501 §4.3, RFC 7888). Sizes are checked before any octet of a
//! literal is read or any memory reserved for it.

use crate::{MAX_COMMAND, MAX_LINE};
use postern_net::{Conn, Line};
use std::io;
use tokio::io::{AsyncRead, AsyncWrite};

/// What the client sent.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A whole command, CR LF included, literals inline.
    Command(Vec<u8>),
    /// A line longer than [`MAX_LINE`]; thrown away.
    LineTooLong {
        tag: Option<String>,
    },
    /// A literal over the limit. A synchronising one was never sent (the
    /// client waits for our "+"); a non-synchronising one is on its way.
    LiteralTooBig {
        tag: String,
        non_sync: bool,
    },
    Eof,
    /// A command whose last literal the session reads itself, straight to
    /// where it goes (APPEND's message, never whole in memory): `head` is the
    /// command up to and including the announcement line; nothing of the
    /// `len` octets has been read and no "+" has been sent.
    Streamed {
        head: Vec<u8>,
        len: u64,
        non_sync: bool,
    },
}

/// Tells which literal announcements are streamed by the session (see [`Frame::Streamed`]).
pub type StreamedLiteral = fn(&[u8]) -> bool;

/// A literal announcement at the end of a line: its length and whether it is non-synchronising.
pub fn literal_at_end(line: &[u8]) -> Option<(u64, bool)> {
    let rest = line.strip_suffix(b"}")?;
    let open = rest.iter().rposition(|&b| b == b'{')?;
    let mut digits = &rest[open + 1..];
    let non_sync = digits.last() == Some(&b'+');
    if non_sync {
        digits = &digits[..digits.len() - 1];
    }
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // More than 20 digits cannot fit; treat as the largest value so the limit refuses it.
    let n = std::str::from_utf8(digits)
        .ok()?
        .parse::<u64>()
        .unwrap_or(u64::MAX);
    Some((n, non_sync))
}

/// The tag of a command line, for replies to commands we cannot parse.
pub fn tag_of(line: &[u8]) -> Option<String> {
    let end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    let tag = &line[..end];
    let ok = !tag.is_empty()
        && tag
            .iter()
            .all(|&b| b.is_ascii_graphic() && !b"(){%*\"\\+".contains(&b));
    ok.then(|| String::from_utf8_lossy(tag).into_owned())
}

/// Reads one command; `max_literal` depends on the session's state.
pub async fn read_command<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    max_literal: u64,
    streamed: Option<StreamedLiteral>,
) -> io::Result<Frame> {
    let mut buf = Vec::new();
    loop {
        let line = match conn.read_line(MAX_LINE).await? {
            Line::Text(t) => t,
            Line::TooLong => {
                let head = if buf.is_empty() {
                    conn.too_long_head()
                } else {
                    &buf
                };
                return Ok(Frame::LineTooLong { tag: tag_of(head) });
            }
            Line::Eof => return Ok(Frame::Eof),
        };
        let first = buf.is_empty();
        buf.extend_from_slice(&line);
        buf.extend_from_slice(b"\r\n");
        let Some((n, non_sync)) = literal_at_end(&line) else {
            return Ok(Frame::Command(buf));
        };
        if streamed.is_some_and(|is| is(&buf)) {
            return Ok(Frame::Streamed {
                head: buf,
                len: n,
                non_sync,
            });
        }
        // The same limit for both kinds (LITERAL+ after login, RFC 7888 §3;
        // before login the limit is below LITERAL-'s 4096).
        if n > max_literal || buf.len() as u64 + n > MAX_COMMAND as u64 {
            let tag = tag_of(if first { &line } else { &buf }).unwrap_or_else(|| "*".into());
            return Ok(Frame::LiteralTooBig { tag, non_sync });
        }
        if !non_sync {
            conn.push(b"+ Ready for literal data\r\n");
        }
        if !read_exact(conn, &mut buf, n as usize).await? {
            return Ok(Frame::Eof);
        }
    }
}

/// Appends exactly `n` octets from the connection to `buf`; false at EOF.
async fn read_exact<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    buf: &mut Vec<u8>,
    mut n: usize,
) -> io::Result<bool> {
    while n > 0 {
        if conn.buffered().is_empty() && !conn.fill().await? {
            return Ok(false);
        }
        let take = n.min(conn.buffered().len());
        buf.extend_from_slice(&conn.buffered()[..take]);
        conn.consume(take);
        n -= take;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_net::MaybeTls;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn announcements() {
        assert_eq!(literal_at_end(b"a LOGIN {5}"), Some((5, false)));
        assert_eq!(literal_at_end(b"a LOGIN x {12+}"), Some((12, true)));
        assert_eq!(
            literal_at_end(b"a APPEND x {4294967295}"),
            Some((4294967295, false))
        );
        assert_eq!(
            literal_at_end(b"a X {99999999999999999999999}"),
            Some((u64::MAX, false))
        );
        assert_eq!(literal_at_end(b"a LOGIN x y"), None);
        assert_eq!(literal_at_end(b"a X {}"), None);
        assert_eq!(literal_at_end(b"a X {1a}"), None);
        assert_eq!(tag_of(b"a1 NOOP").as_deref(), Some("a1"));
        assert_eq!(tag_of(b"+ x"), None);
        assert_eq!(tag_of(b""), None);
    }

    #[tokio::test]
    async fn literals_are_read_and_limited() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let mut conn = Conn::new(MaybeTls::Plain(server));
        client
            .write_all(b"a LOGIN {5}\r\nalice {3+}\r\npw!\r\n")
            .await
            .unwrap();
        let f = read_command(&mut conn, 100, None).await.unwrap();
        assert_eq!(
            f,
            Frame::Command(b"a LOGIN {5}\r\nalice {3+}\r\npw!\r\n".to_vec())
        );
        conn.flush().await.unwrap();
        let mut cont = [0u8; 26];
        client.read_exact(&mut cont).await.unwrap();
        assert_eq!(&cont, b"+ Ready for literal data\r\n");
        // Over the limit: refused before anything is read or reserved.
        client.write_all(b"b LOGIN {4294967295}\r\n").await.unwrap();
        let f = read_command(&mut conn, 100, None).await.unwrap();
        assert_eq!(
            f,
            Frame::LiteralTooBig {
                tag: "b".into(),
                non_sync: false
            }
        );
        client.write_all(b"c LOGIN {5000+}\r\n").await.unwrap();
        let f = read_command(&mut conn, 4096, None).await.unwrap();
        assert_eq!(
            f,
            Frame::LiteralTooBig {
                tag: "c".into(),
                non_sync: true
            }
        );
        drop(client);
        assert_eq!(
            read_command(&mut conn, 100, None).await.unwrap(),
            Frame::Eof
        );
    }
}
