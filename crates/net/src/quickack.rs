//! A TCP stream that acknowledges what it has read at once.
//!
//! Clients that write a command in several pieces without TCP_NODELAY
//! (Python's imaplib and smtplib, and TLS stacks that write one record per
//! system call) hold each later piece back until the earlier one is
//! acknowledged (Nagle, RFC 896). A server with nothing to answer yet
//! delays that ACK (40 ms on Linux), so a 25 KB APPEND over TLS waited
//! 44 ms for a 2 ms job. Setting TCP_QUICKACK after a read that brought
//! bulk data (a literal, a message body) sends the pending ACK now and
//! leaves the kernel's interactive (delayed-ACK) mode until the session
//! answers again. Short reads (command lines) are left alone: their answer
//! carries the ACK, and acknowledging each of them apart cost a quarter of
//! the IMAP load benchmark's rate (bench/README.md).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Reads of at least this many bytes are bulk data: acknowledged at once.
/// Command lines are shorter; a TLS record of message data is up to 16 KiB.
const BULK: usize = 1024;

/// An accepted TCP connection as every protocol session reads it.
pub struct QuickAck(TcpStream);

impl QuickAck {
    pub fn new(stream: TcpStream) -> Self {
        QuickAck(stream)
    }

    #[cfg(target_os = "linux")]
    fn ack_now(&self) {
        // Best effort: a failure leaves the kernel's delayed ACK in place.
        let _ = socket2::SockRef::from(&self.0).set_tcp_quickack(true);
    }

    #[cfg(not(target_os = "linux"))]
    fn ack_now(&self) {}
}

impl AsyncRead for QuickAck {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.0).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() - before >= BULK {
            this.ack_now();
        }
        r
    }
}

impl AsyncWrite for QuickAck {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Bytes pass both ways unchanged; a bulk read sets the option without error.
    #[tokio::test]
    async fn reads_and_writes_pass_through() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::spawn(async move {
            let mut c = TcpStream::connect(addr).await.unwrap();
            c.write_all(b"a1 NOOP\r\n").await.unwrap();
            c.write_all(&[b'x'; 4096]).await.unwrap();
            let mut back = [0u8; 4];
            c.read_exact(&mut back).await.unwrap();
            back
        });
        let (s, _) = listener.accept().await.unwrap();
        let mut s = QuickAck::new(s);
        let mut line = [0u8; 9];
        s.read_exact(&mut line).await.unwrap();
        assert_eq!(&line, b"a1 NOOP\r\n");
        let mut bulk = vec![0u8; 4096];
        s.read_exact(&mut bulk).await.unwrap();
        assert!(bulk.iter().all(|&b| b == b'x'));
        s.write_all(b"done").await.unwrap();
        assert_eq!(&client.await.unwrap(), b"done");
    }
}
