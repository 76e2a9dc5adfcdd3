//! A scripted fake server over an in-memory pipe, and a recorder of what the
//! client wrote per flush (to tell a pipelined group from lock-step).

use crate::client::Io;
use crate::dot::DotDecoder;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

pub enum Step {
    /// Read one line and require it to be this (line end excluded).
    Expect(String),
    /// Write these bytes.
    Send(String),
    /// Read DATA content through the server's own decoder, up to its end.
    Data,
    /// Read one "BDAT n [LAST]" line and its n octets.
    BdatChunk,
    /// Read BDAT chunks, answering all but the LAST one with 250.
    BdatAll,
    /// The server side of a TLS handshake.
    StartTls(TlsAcceptor),
    /// Never answer again.
    Hang,
    /// Read everything until the client closes.
    Drain,
}

pub fn expect(line: &str) -> Step {
    Step::Expect(line.to_string())
}

/// One reply line or several (the text holds the line ends but the last).
pub fn send(text: &str) -> Step {
    Step::Send(format!("{text}\r\n"))
}

/// What the server received.
#[derive(Debug, Default)]
pub struct Transcript {
    pub lines: Vec<String>,
    /// Per DATA: the bytes on the wire (terminator included) and the decoded body.
    pub data: Vec<(Vec<u8>, Vec<u8>)>,
    /// Per BDAT chunk: its command line and its octets.
    pub chunks: Vec<(String, Vec<u8>)>,
    /// What [`Step::Drain`] read.
    pub rest: Vec<u8>,
}

impl Transcript {
    /// Every BDAT chunk's octets, concatenated.
    pub fn bdat_body(&self) -> Vec<u8> {
        self.chunks.iter().flat_map(|(_, b)| b.clone()).collect()
    }
}

/// The client's end of the pipe, what it writes, and the server task.
pub fn start(steps: Vec<Step>) -> (Box<dyn Io>, Writes, JoinHandle<Transcript>) {
    let (client, server) = tokio::io::duplex(1 << 20);
    let writes = Writes::default();
    let recorder = Recorder {
        inner: client,
        current: Vec::new(),
        writes: writes.clone(),
    };
    let task = tokio::spawn(serve(Box::new(server), steps));
    (Box::new(recorder), writes, task)
}

struct Server {
    io: Box<dyn Io>,
    buf: Vec<u8>,
    log: Transcript,
}

async fn serve(io: Box<dyn Io>, steps: Vec<Step>) -> Transcript {
    let mut s = Server {
        io,
        buf: Vec::new(),
        log: Transcript::default(),
    };
    for step in steps {
        s.step(step).await;
    }
    s.log
}

impl Server {
    async fn step(&mut self, step: Step) {
        match step {
            Step::Expect(want) => {
                let got = self.line().await;
                assert_eq!(got, want, "the client sent something else");
                self.log.lines.push(got);
            }
            Step::Send(text) => self.io.write_all(text.as_bytes()).await.unwrap(),
            Step::Data => self.data().await,
            Step::BdatChunk => {
                self.bdat_chunk().await;
            }
            Step::BdatAll => {
                while !self.bdat_chunk().await {
                    self.io.write_all(b"250 2.0.0 chunk ok\r\n").await.unwrap();
                }
            }
            Step::StartTls(acceptor) => {
                assert!(self.buf.is_empty(), "the client pipelined past STARTTLS");
                let io = std::mem::replace(&mut self.io, Box::new(tokio::io::empty()));
                self.io = Box::new(acceptor.accept(io).await.unwrap());
            }
            Step::Hang => std::future::pending::<()>().await,
            Step::Drain => {
                self.log.rest = std::mem::take(&mut self.buf);
                let _ = self.io.read_to_end(&mut self.log.rest).await;
            }
        }
    }

    async fn fill(&mut self, what: &str) {
        let mut chunk = [0u8; 8192];
        let n = self.io.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the client closed the connection; expected {what}");
        self.buf.extend_from_slice(&chunk[..n]);
    }

    async fn line(&mut self) -> String {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..end + 2).collect();
                return String::from_utf8_lossy(&line[..end]).into_owned();
            }
            self.fill("a command line").await;
        }
    }

    async fn data(&mut self) {
        let (mut dec, mut wire, mut body) = (DotDecoder::default(), Vec::new(), Vec::new());
        loop {
            let used = dec.feed(&self.buf, &mut body);
            wire.extend(self.buf.drain(..used));
            if dec.is_done() {
                self.log.data.push((wire, body));
                return;
            }
            self.fill("message content").await;
        }
    }

    /// Reads one chunk; true when it was the LAST.
    async fn bdat_chunk(&mut self) -> bool {
        let head = self.line().await;
        let mut words = head.split(' ');
        assert_eq!(words.next(), Some("BDAT"), "{head}");
        let size: usize = words
            .next()
            .and_then(|n| n.parse().ok())
            .expect("BDAT size");
        let last = words.next() == Some("LAST");
        while self.buf.len() < size {
            self.fill("BDAT octets").await;
        }
        let octets = self.buf.drain(..size).collect();
        self.log.chunks.push((head, octets));
        last
    }
}

/// What the client wrote, one entry per flush.
#[derive(Clone, Default)]
pub struct Writes(Arc<Mutex<Vec<Vec<u8>>>>);

impl Writes {
    pub fn flushes(&self) -> Vec<String> {
        let all = self.0.lock().unwrap();
        all.iter()
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect()
    }

    /// The flush that carried `needle`.
    pub fn flush_with(&self, needle: &str) -> String {
        let all = self.flushes();
        let found = all.iter().find(|w| w.contains(needle));
        found
            .cloned()
            .unwrap_or_else(|| panic!("{needle:?} not in {all:?}"))
    }
}

struct Recorder<S> {
    inner: S,
    current: Vec<u8>,
    writes: Writes,
}

impl<S: AsyncRead + Unpin> AsyncRead for Recorder<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Recorder<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let me = self.get_mut();
        let done = Pin::new(&mut me.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = done {
            me.current.extend_from_slice(&buf[..n]);
        }
        done
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let me = self.get_mut();
        if !me.current.is_empty() {
            me.writes
                .0
                .lock()
                .unwrap()
                .push(std::mem::take(&mut me.current));
        }
        Pin::new(&mut me.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
