//! A protocol session's connection (SMTP, POP3, IMAP): a bounded read buffer,
//! line reading with a length limit, and reply batching for pipelining
//! (replies are flushed only when the client's pipelined commands have all
//! been read, RFC 2920 §3.2), over a stream that may be upgraded to TLS.

use crate::MaybeTls;
use bytes::{Buf, BytesMut};
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Bytes asked from the socket per read.
const READ_CHUNK: usize = 16 * 1024;
/// Bytes asked by the first read after [`Conn::release_idle_buffers`]: room
/// for a command line such as IDLE's "DONE"; a longer input makes the next
/// read a full [`READ_CHUNK`] again.
pub const IDLE_READ_CHUNK: usize = 512;

/// One line read from the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// The line without its CR LF (a bare LF also ends a command line).
    Text(Vec<u8>),
    /// The line was longer than allowed; it has been read and thrown away.
    TooLong,
    /// The client closed the connection.
    Eof,
}

/// Bytes kept from the start of a line that was too long (enough for an IMAP tag).
const TOO_LONG_HEAD: usize = 64;

pub struct Conn<S> {
    stream: Option<MaybeTls<S>>,
    rbuf: BytesMut,
    wbuf: Vec<u8>,
    too_long_head: Vec<u8>,
    /// The last TLS handshake failed on the client's ALPN offer.
    alpn_refused: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    pub fn new(stream: MaybeTls<S>) -> Self {
        Conn {
            stream: Some(stream),
            rbuf: BytesMut::with_capacity(READ_CHUNK),
            wbuf: Vec::new(),
            too_long_head: Vec::new(),
            alpn_refused: false,
        }
    }

    fn stream(&mut self) -> io::Result<&mut MaybeTls<S>> {
        self.stream
            .as_mut()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "stream taken"))
    }

    /// Queues reply bytes; they are sent before the next read that would wait.
    pub fn push(&mut self, bytes: &[u8]) {
        self.wbuf.extend_from_slice(bytes);
    }

    /// Bytes queued and not yet sent (so a session can bound its output).
    pub fn queued(&self) -> usize {
        self.wbuf.len()
    }

    pub async fn flush(&mut self) -> io::Result<()> {
        if !self.wbuf.is_empty() {
            let out = std::mem::take(&mut self.wbuf);
            let s = self.stream()?;
            s.write_all(&out).await?;
            s.flush().await?;
        }
        Ok(())
    }

    /// Reads more from the socket (flushing queued replies first). False at EOF.
    ///
    /// Reads straight into the buffer's spare room: no chunk on the stack,
    /// which would be part of every waiting session's future.
    pub async fn fill(&mut self) -> io::Result<bool> {
        self.flush().await?;
        let want = if self.rbuf.capacity() == 0 {
            IDLE_READ_CHUNK
        } else {
            READ_CHUNK
        };
        self.rbuf.reserve(want);
        let stream = self
            .stream
            .as_mut()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "stream taken"))?;
        let n = stream.read_buf(&mut self.rbuf).await?;
        Ok(n > 0)
    }

    /// Frees the read buffer when it holds nothing, before a wait that may
    /// be long (IMAP IDLE): thousands of waiting sessions then keep no
    /// [`READ_CHUNK`] each. The next read asks for [`IDLE_READ_CHUNK`].
    pub fn release_idle_buffers(&mut self) {
        if self.rbuf.is_empty() {
            self.rbuf = BytesMut::new();
        }
        if self.wbuf.is_empty() {
            self.wbuf = Vec::new();
        }
    }

    /// Reads one line of at most `max` octets including its line ending.
    /// Longer lines are consumed without being kept (memory stays bounded).
    pub async fn read_line(&mut self, max: usize) -> io::Result<Line> {
        let mut too_long = false;
        loop {
            if let Some(pos) = self.rbuf.iter().position(|&b| b == b'\n') {
                let line = self.rbuf.split_to(pos + 1);
                if !too_long && line.len() > max {
                    self.too_long_head = line[..TOO_LONG_HEAD.min(line.len())].to_vec();
                }
                if too_long || line.len() > max {
                    return Ok(Line::TooLong);
                }
                let mut text = line[..pos].to_vec();
                if text.last() == Some(&b'\r') {
                    text.pop();
                }
                return Ok(Line::Text(text));
            }
            if self.rbuf.len() > max {
                if !too_long {
                    self.too_long_head = self.rbuf[..TOO_LONG_HEAD.min(self.rbuf.len())].to_vec();
                }
                too_long = true;
                self.rbuf.clear();
            }
            if !self.fill().await? {
                return Ok(if too_long { Line::TooLong } else { Line::Eof });
            }
        }
    }

    /// The first bytes of the last line [`Line::TooLong`] threw away, so a
    /// protocol can still answer that command by its tag.
    pub fn too_long_head(&self) -> &[u8] {
        &self.too_long_head
    }

    /// Whether the client has sent more than has been consumed: bytes
    /// buffered, or readable on the socket at this instant. Never waits and
    /// never sends the queued replies (so it can tell a client that did not
    /// wait for them: RFC 2920 §3.1, the SMTP early-talker checks).
    pub async fn input_pending(&mut self) -> bool {
        if !self.rbuf.is_empty() {
            return true;
        }
        let Ok(stream) = self.stream() else {
            return false;
        };
        let mut chunk = [0u8; READ_CHUNK];
        let mut buf = tokio::io::ReadBuf::new(&mut chunk);
        let polled = std::future::poll_fn(|cx| {
            std::task::Poll::Ready(std::pin::Pin::new(&mut *stream).poll_read(cx, &mut buf))
        })
        .await;
        if !matches!(polled, std::task::Poll::Ready(Ok(()))) || buf.filled().is_empty() {
            return false;
        }
        let got = buf.filled().to_vec();
        self.rbuf.extend_from_slice(&got);
        true
    }

    /// Bytes already read and not yet consumed.
    pub fn buffered(&self) -> &[u8] {
        &self.rbuf
    }

    pub fn consume(&mut self, n: usize) {
        self.rbuf.advance(n);
    }

    /// Drops everything the client sent ahead (after STARTTLS: CVE-2011-0411).
    pub fn discard_buffered(&mut self) -> usize {
        let n = self.rbuf.len();
        self.rbuf.clear();
        n
    }

    /// Upgrades a plain connection to TLS after the protocol's "go ahead" reply
    /// has been queued (STARTTLS, STLS): sends it, throws away anything the
    /// client pipelined behind the command (CVE-2011-0411), and runs the
    /// handshake within `timeout`. Returns how many bytes were discarded, in
    /// `Ok` after a handshake, in `Err` when there is no usable connection left.
    pub async fn start_tls(
        &mut self,
        acceptor: &tokio_rustls::TlsAcceptor,
        timeout: std::time::Duration,
    ) -> Result<usize, usize> {
        if self.flush().await.is_err() {
            return Err(0);
        }
        let discarded = self.discard_buffered();
        let Some(MaybeTls::Plain(plain)) = self.take_stream() else {
            return Err(discarded);
        };
        match tokio::time::timeout(timeout, acceptor.accept(plain)).await {
            Ok(Ok(tls)) => {
                self.put_stream(MaybeTls::Tls(Box::new(tls)));
                Ok(discarded)
            }
            Ok(Err(e)) => {
                self.alpn_refused = crate::cross_protocol::is_alpn_refusal(&e);
                Err(discarded)
            }
            Err(_) => Err(discarded),
        }
    }

    /// The security log's event and reason for a failed [`Self::start_tls`].
    pub fn tls_failure(&self) -> (&'static str, &'static str) {
        use crate::cross_protocol::{ALPN_REASON, EVENT};
        if self.alpn_refused {
            (EVENT, ALPN_REASON)
        } else {
            ("tls-failed", "TLS handshake failed or timed out")
        }
    }

    /// Takes the stream out for a TLS upgrade.
    pub fn take_stream(&mut self) -> Option<MaybeTls<S>> {
        self.stream.take()
    }

    pub fn put_stream(&mut self, stream: MaybeTls<S>) {
        self.stream = Some(stream);
    }

    pub fn tls_description(&self) -> Option<String> {
        self.stream.as_ref().and_then(|s| s.tls_description())
    }

    pub fn is_tls(&self) -> bool {
        self.stream.as_ref().is_some_and(|s| s.is_tls())
    }

    /// Sends queued replies and closes the write side.
    pub async fn close(&mut self) {
        let _ = self.flush().await;
        if let Ok(s) = self.stream() {
            let _ = s.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn idle_buffers_are_released_and_grow_back() {
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let mut conn = Conn::new(MaybeTls::Plain(server));
        client.write_all(b"a IDLE\r\n").await.unwrap();
        assert_eq!(
            conn.read_line(512).await.unwrap(),
            Line::Text(b"a IDLE".to_vec())
        );
        assert!(conn.rbuf.capacity() > READ_CHUNK / 2);
        conn.release_idle_buffers();
        assert_eq!(conn.rbuf.capacity(), 0);
        // Longer than the first read after release: read whole all the same.
        let long = format!("b APPEND INBOX {}\r\n", "x".repeat(IDLE_READ_CHUNK * 3));
        client.write_all(long.as_bytes()).await.unwrap();
        let Line::Text(got) = conn.read_line(8192).await.unwrap() else {
            panic!("line lost");
        };
        assert_eq!(got.len() + 2, long.len());
        assert!(conn.rbuf.capacity() > READ_CHUNK / 2, "back to full reads");
        // Something buffered is kept.
        client.write_all(b"c NOOP\r\nd NOOP\r\n").await.unwrap();
        assert_eq!(
            conn.read_line(512).await.unwrap(),
            Line::Text(b"c NOOP".to_vec())
        );
        conn.release_idle_buffers();
        assert_eq!(
            conn.read_line(512).await.unwrap(),
            Line::Text(b"d NOOP".to_vec())
        );
    }

    #[tokio::test]
    async fn lines_and_limits() {
        let (client, server) = tokio::io::duplex(1 << 20);
        let mut conn = Conn::new(MaybeTls::Plain(server));
        let mut client = client;
        let long = vec![b'a'; 5000];
        client.write_all(b"EHLO x\r\nNOOP\n").await.unwrap();
        client.write_all(&long).await.unwrap();
        client.write_all(b"\r\nQUIT\r\n").await.unwrap();
        drop(client);
        assert_eq!(
            conn.read_line(512).await.unwrap(),
            Line::Text(b"EHLO x".to_vec())
        );
        assert_eq!(
            conn.read_line(512).await.unwrap(),
            Line::Text(b"NOOP".to_vec())
        );
        assert_eq!(conn.read_line(512).await.unwrap(), Line::TooLong);
        assert_eq!(
            conn.read_line(512).await.unwrap(),
            Line::Text(b"QUIT".to_vec())
        );
        assert_eq!(conn.read_line(512).await.unwrap(), Line::Eof);
    }

    #[tokio::test]
    async fn input_pending_looks_without_waiting_or_flushing() {
        let (mut client, server) = tokio::io::duplex(4096);
        let mut conn = Conn::new(MaybeTls::Plain(server));
        conn.push(b"250 OK\r\n");
        assert!(!conn.input_pending().await, "nothing sent yet");
        client.write_all(b"MAIL FROM:<>\r\nRCPT").await.unwrap();
        assert!(conn.input_pending().await);
        assert_eq!(conn.queued(), 8, "the reply is still queued");
        assert_eq!(
            conn.read_line(512).await.unwrap(),
            Line::Text(b"MAIL FROM:<>".to_vec())
        );
        assert!(conn.input_pending().await, "RCPT is buffered");
    }

    #[tokio::test]
    async fn boundary_is_inclusive_of_crlf() {
        let (mut client, server) = tokio::io::duplex(4096);
        let mut conn = Conn::new(MaybeTls::Plain(server));
        let mut ok = vec![b'x'; 510];
        ok.extend_from_slice(b"\r\n");
        let mut bad = vec![b'x'; 511];
        bad.extend_from_slice(b"\r\n");
        client.write_all(&ok).await.unwrap();
        client.write_all(&bad).await.unwrap();
        assert!(matches!(conn.read_line(512).await.unwrap(), Line::Text(t) if t.len() == 510));
        assert_eq!(conn.read_line(512).await.unwrap(), Line::TooLong);
    }
}
