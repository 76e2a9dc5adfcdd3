//! Sending a stored message as a multi-line response (RFC 1939 §3): every
//! line ends in CR LF (a bare LF in the stored body becomes CR LF), a line
//! that begins with "." gets one more, and ".\r\n" ends the response. TOP
//! (RFC 1939 §7) stops after the headers, the blank line and N body lines.
//!
//! [`Stuffer`] is sans-I/O (bytes in, wire bytes out); [`send_file`] streams a
//! body file through it in chunks, so memory stays bounded for any size.

use postern_net::Conn;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

/// Bytes read from the body file at a time.
const READ_CHUNK: usize = 64 * 1024;

/// Byte-stuffs one message. Feed it the stored bytes, then call [`Stuffer::finish`].
#[derive(Clone, Debug)]
pub struct Stuffer {
    /// At the start of a line (nothing of it emitted yet).
    line_start: bool,
    /// A CR was read and not yet emitted: CR LF or a bare CR follows.
    pending_cr: bool,
    /// The blank line after the headers has been passed.
    in_body: bool,
    /// Body lines still to send (TOP); `None` for the whole message.
    body_lines: Option<u64>,
}

impl Stuffer {
    /// The whole message (RETR).
    pub fn whole() -> Stuffer {
        Stuffer {
            line_start: true,
            pending_cr: false,
            in_body: false,
            body_lines: None,
        }
    }

    /// Headers, the blank line and the first `lines` lines of the body (TOP).
    pub fn top(lines: u64) -> Stuffer {
        Stuffer {
            body_lines: Some(lines),
            ..Stuffer::whole()
        }
    }

    /// True once TOP has sent all it should: the rest of the input is ignored.
    pub fn is_done(&self) -> bool {
        self.line_start && self.in_body && self.body_lines == Some(0)
    }

    /// Appends the wire form of `input` to `out`.
    pub fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        while !input.is_empty() && !self.is_done() {
            if self.pending_cr {
                self.pending_cr = false;
                if input[0] == b'\n' {
                    input = &input[1..];
                    self.end_line(out);
                    continue;
                }
                // A bare CR is data, not a line end.
                out.push(b'\r');
                self.line_start = false;
            }
            if self.line_start && input[0] == b'.' {
                out.push(b'.');
            }
            let end = input
                .iter()
                .position(|&b| b == b'\r' || b == b'\n')
                .unwrap_or(input.len());
            if end > 0 {
                push_without_nul(&input[..end], out);
                self.line_start = false;
            }
            match input.get(end) {
                Some(b'\r') => self.pending_cr = true,
                Some(_) => self.end_line(out),
                None => {}
            }
            input = &input[(end + 1).min(input.len())..];
        }
    }

    /// Ends the response: a last line without its line end gets one, then ".".
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.pending_cr {
            self.pending_cr = false;
            self.end_line(out);
        }
        if !self.line_start {
            self.end_line(out);
        }
        out.extend_from_slice(b".\r\n");
    }

    fn end_line(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\r\n");
        if !self.in_body && self.line_start {
            // RFC 5322 §2.1: the first empty line ends the header section.
            self.in_body = true;
        } else if self.in_body {
            if let Some(n) = self.body_lines.as_mut() {
                *n = n.saturating_sub(1);
            }
        }
        self.line_start = true;
    }
}

/// What a NUL octet of the stored message is sent as: one octet for one, so
/// the sizes LIST and STAT give stay true (as IMAP, crates/imap/src/message/nul.rs).
/// POP3 has no way to carry binary data, and clients that read lines as
/// C strings cut them at a NUL.
pub const NUL_REPLACEMENT: u8 = 0x80;

fn push_without_nul(bytes: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(bytes);
    for b in &mut out[start..] {
        if *b == 0 {
            *b = NUL_REPLACEMENT;
        }
    }
}

/// Why sending a message stopped. After `+OK` nothing but closing is left.
#[derive(Debug)]
pub enum SendError {
    /// The body file could not be read.
    Read(io::Error),
    /// The client did not take the bytes in time, or went away.
    Write(io::Error),
}

/// Streams `file` through `stuffer` onto `conn`, flushing whenever more than
/// `high_water` bytes are queued; each flush may take at most `write_timeout`.
pub async fn send_file<S, R>(
    conn: &mut Conn<S>,
    mut file: R,
    mut stuffer: Stuffer,
    high_water: usize,
    write_timeout: Duration,
) -> Result<(), SendError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    R: AsyncRead + Unpin,
{
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut out = Vec::with_capacity(READ_CHUNK + READ_CHUNK / 8);
    while !stuffer.is_done() {
        let n = file.read(&mut chunk).await.map_err(SendError::Read)?;
        if n == 0 {
            break;
        }
        stuffer.feed(&chunk[..n], &mut out);
        conn.push(&out);
        out.clear();
        if conn.queued() > high_water {
            flush(conn, write_timeout).await?;
        }
    }
    stuffer.finish(&mut out);
    conn.push(&out);
    Ok(())
}

async fn flush<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    timeout: Duration,
) -> Result<(), SendError> {
    match tokio::time::timeout(timeout, conn.flush()).await {
        Ok(r) => r.map_err(SendError::Write),
        Err(_) => Err(SendError::Write(io::ErrorKind::TimedOut.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_net::MaybeTls;

    fn stuff(stuffer: Stuffer, input: &[u8]) -> Vec<u8> {
        let mut s = stuffer;
        let mut out = Vec::new();
        s.feed(input, &mut out);
        s.finish(&mut out);
        out
    }

    /// Feeding one byte at a time gives the same as feeding everything at once.
    fn stuff_bytewise(stuffer: Stuffer, input: &[u8]) -> Vec<u8> {
        let mut s = stuffer;
        let mut out = Vec::new();
        for b in input {
            s.feed(std::slice::from_ref(b), &mut out);
        }
        s.finish(&mut out);
        out
    }

    #[test]
    fn whole_messages() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b".\r\n"),
            (b"a\r\nb\r\n", b"a\r\nb\r\n.\r\n"),
            (b"a\nb\n", b"a\r\nb\r\n.\r\n"),
            (b"a\r\n.\r\n..x\r\n", b"a\r\n..\r\n...x\r\n.\r\n"),
            (b".starts\r\n", b"..starts\r\n.\r\n"),
            (b"no end", b"no end\r\n.\r\n"),
            (b"cr\rmid\r\n", b"cr\rmid\r\n.\r\n"),
            (b"x\r\n\r.y\r\n", b"x\r\n\r.y\r\n.\r\n"),
            (b"ends in cr\r", b"ends in cr\r\n.\r\n"),
            (b"a\n.\nb", b"a\r\n..\r\nb\r\n.\r\n"),
        ];
        for (input, want) in cases {
            let got = stuff(Stuffer::whole(), input);
            assert_eq!(got, *want, "{:?}", String::from_utf8_lossy(input));
            assert_eq!(stuff_bytewise(Stuffer::whole(), input), *want);
        }
    }

    /// A NUL goes out as one 0x80, so the octet count LIST gave stays true.
    #[test]
    fn nul_is_replaced_one_for_one() {
        let input = b"A: \0\r\n\r\n\0.x\0\r\n";
        let want = b"A: \x80\r\n\r\n\x80.x\x80\r\n.\r\n";
        assert_eq!(stuff(Stuffer::whole(), input), want);
        assert_eq!(stuff_bytewise(Stuffer::whole(), input), want);
        // A line starting with NUL is not dot-stuffed: 0x80 is not ".".
        assert_eq!(
            stuff(Stuffer::top(0), b"\0\r\n\r\nbody"),
            b"\x80\r\n\r\n.\r\n"
        );
    }

    #[test]
    fn top_lines() {
        let msg = b"A: 1\r\nB: 2\r\n\r\nl1\r\n.l2\r\nl3\r\n";
        assert_eq!(stuff(Stuffer::top(0), msg), b"A: 1\r\nB: 2\r\n\r\n.\r\n");
        assert_eq!(
            stuff(Stuffer::top(2), msg),
            b"A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\n.\r\n"
        );
        assert_eq!(
            stuff(Stuffer::top(u64::MAX), msg),
            stuff(Stuffer::whole(), msg)
        );
        assert_eq!(
            stuff_bytewise(Stuffer::top(1), msg),
            b"A: 1\r\nB: 2\r\n\r\nl1\r\n.\r\n"
        );
        // Bare LF line ends count as lines too; no body at all gives the headers.
        assert_eq!(
            stuff(Stuffer::top(1), b"A: 1\n\nx\ny\n"),
            b"A: 1\r\n\r\nx\r\n.\r\n"
        );
        assert_eq!(stuff(Stuffer::top(5), b"A: 1\r\n"), b"A: 1\r\n.\r\n");
    }

    #[tokio::test]
    async fn streams_over_a_duplex_with_bounded_buffer() {
        // A 3 MB body of lines starting with "." read through a 4 KiB pipe.
        let mut body = Vec::new();
        while body.len() < 3 << 20 {
            body.extend_from_slice(b".dot line\nplain line\r\n");
        }
        let (client, server) = tokio::io::duplex(4096);
        let mut conn = Conn::new(MaybeTls::Plain(server));
        let reader = tokio::spawn(async move {
            let mut client = client;
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.unwrap();
            got
        });
        let file = std::io::Cursor::new(body.clone());
        send_file(
            &mut conn,
            file,
            Stuffer::whole(),
            8192,
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert!(conn.queued() < 8192 + READ_CHUNK * 2);
        conn.close().await;
        drop(conn);
        let got = reader.await.unwrap();
        assert_eq!(got, stuff(Stuffer::whole(), &body));
        assert!(got.ends_with(b"plain line\r\n.\r\n"));
    }

    #[tokio::test]
    async fn a_client_that_stops_reading_times_out() {
        let (_client, server) = tokio::io::duplex(1024);
        let mut conn = Conn::new(MaybeTls::Plain(server));
        let file = std::io::Cursor::new(vec![b'x'; 1 << 20]);
        let r = send_file(
            &mut conn,
            file,
            Stuffer::whole(),
            4096,
            Duration::from_millis(50),
        )
        .await;
        assert!(matches!(r, Err(SendError::Write(_))));
    }
}
