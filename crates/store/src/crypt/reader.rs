//! Reading an encrypted body (stream.rs) as plaintext, with seeking by
//! chunk: only the chunk that holds the position is read and opened, so a
//! partial FETCH of a large body does not decrypt all of it.

use super::stream::{self, Opener, CHUNK, HEADER_LEN, SEALED_CHUNK};
use std::io::{self, Read, Seek, SeekFrom};

pub struct DecryptReader<R> {
    inner: R,
    opener: Opener,
    len: u64,
    chunks: u64,
    pos: u64,
    /// The chunk in `plain`, if any.
    loaded: Option<u64>,
    plain: Vec<u8>,
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

impl<R: Read + Seek> DecryptReader<R> {
    /// `inner` positioned anywhere; `file_len` its length on disk.
    pub fn new(mut inner: R, key: &[u8; 32], file_len: u64) -> io::Result<Self> {
        let mut header = [0u8; HEADER_LEN as usize];
        inner.seek(SeekFrom::Start(0))?;
        inner.read_exact(&mut header)?;
        let opener = Opener::new(key, &header).ok_or_else(|| bad("not an encrypted body"))?;
        let len = stream::plain_len(file_len).ok_or_else(|| bad("encrypted body truncated"))?;
        let chunks = (file_len - HEADER_LEN).div_ceil(SEALED_CHUNK).max(1);
        Ok(DecryptReader {
            inner,
            opener,
            len,
            chunks,
            pos: 0,
            loaded: None,
            plain: Vec::new(),
        })
    }

    /// Opens the first chunk (kept for the first read): fails unless the
    /// file is an encrypted body under this key.
    pub fn load_first(&mut self) -> io::Result<()> {
        self.load(0)
    }

    /// The plaintext length.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn load(&mut self, index: u64) -> io::Result<()> {
        if self.loaded == Some(index) {
            return Ok(());
        }
        let last = index + 1 == self.chunks;
        let size = if last {
            (self.len - index * CHUNK as u64) as usize + stream::TAG_LEN
        } else {
            SEALED_CHUNK as usize
        };
        self.plain.resize(size, 0);
        self.inner
            .seek(SeekFrom::Start(stream::chunk_offset(index)))?;
        self.inner.read_exact(&mut self.plain)?;
        self.loaded = None;
        let n = self.opener.open(index, last, &mut self.plain)?;
        self.plain.truncate(n);
        self.loaded = Some(index);
        Ok(())
    }
}

impl<R: Read + Seek> Read for DecryptReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len || buf.is_empty() {
            // An empty body still has its one last chunk to check.
            if self.len == 0 && self.loaded.is_none() {
                self.load(0)?;
            }
            return Ok(0);
        }
        let index = self.pos / CHUNK as u64;
        self.load(index)?;
        let at = (self.pos - index * CHUNK as u64) as usize;
        let n = (self.plain.len() - at).min(buf.len());
        buf[..n].copy_from_slice(&self.plain[at..at + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for DecryptReader<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}
