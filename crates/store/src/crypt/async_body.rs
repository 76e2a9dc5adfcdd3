//! An encrypted body as an async reader (for [`crate::Body`]): each read of
//! a chunk runs on the blocking pool, as tokio's own `File` does, so the
//! runtime's threads never wait on the disk or the cipher. Seeking only
//! moves the position; the next read loads the chunk that holds it.

use super::body_file::BodyFile;
use std::io::{self, Read, Seek, SeekFrom};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncSeek, ReadBuf};
use tokio::task::JoinHandle;

/// How much one trip to the blocking pool reads.
const READ_AHEAD: usize = super::stream::CHUNK;

type Job = JoinHandle<(BodyFile, io::Result<Vec<u8>>)>;

pub struct AsyncBodyFile {
    file: Option<BodyFile>,
    job: Option<Job>,
    len: u64,
    /// The position of `buf[at]` in the plaintext.
    pos: u64,
    buf: Vec<u8>,
    at: usize,
}

impl AsyncBodyFile {
    pub fn new(file: BodyFile, len: u64) -> AsyncBodyFile {
        AsyncBodyFile {
            file: Some(file),
            job: None,
            len,
            pos: 0,
            buf: Vec::new(),
            at: 0,
        }
    }

    fn busy() -> io::Error {
        io::Error::other("body read still in flight")
    }
}

impl AsyncRead for AsyncBodyFile {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.at < this.buf.len() {
                let n = (this.buf.len() - this.at).min(out.remaining());
                out.put_slice(&this.buf[this.at..this.at + n]);
                this.at += n;
                this.pos += n as u64;
                return Poll::Ready(Ok(()));
            }
            if this.pos >= this.len || out.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            if this.job.is_none() {
                let mut file = this.file.take().ok_or_else(Self::busy)?;
                let pos = this.pos;
                this.job = Some(tokio::task::spawn_blocking(move || {
                    let mut buf = vec![0u8; READ_AHEAD];
                    let read = file
                        .seek(SeekFrom::Start(pos))
                        .and_then(|_| file.read(&mut buf));
                    let result = read.map(|n| {
                        buf.truncate(n);
                        buf
                    });
                    (file, result)
                }));
            }
            let job = this.job.as_mut().expect("just set");
            let joined = ready!(Pin::new(job).poll(cx));
            this.job = None;
            let (file, result) = joined.map_err(io::Error::other)?;
            this.file = Some(file);
            let bytes = result?;
            if bytes.is_empty() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "encrypted body ended early",
                )));
            }
            this.buf = bytes;
            this.at = 0;
        }
    }
}

use std::future::Future as _;

impl AsyncSeek for AsyncBodyFile {
    fn start_seek(mut self: Pin<&mut Self>, to: SeekFrom) -> io::Result<()> {
        if self.job.is_some() {
            return Err(Self::busy());
        }
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        // Keep the buffer when the target is inside it.
        let start = self.pos - self.at as u64;
        let end = start + self.buf.len() as u64;
        if target >= start && target < end {
            self.at = (target - start) as usize;
        } else {
            self.buf.clear();
            self.at = 0;
        }
        self.pos = target;
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        Poll::Ready(Ok(self.pos))
    }
}
