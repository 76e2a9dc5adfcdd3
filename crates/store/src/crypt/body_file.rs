//! A body file opened for reading, whichever form it is in: plaintext, or
//! encrypted (told by its magic, per file, so a store half-way through a
//! conversion reads fine).

use super::reader::DecryptReader;
use super::{stream, AtRestKeys};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

pub enum BodyFile {
    Plain(File),
    Encrypted(Box<DecryptReader<File>>),
}

impl BodyFile {
    /// Opens `file` as the form its first octets say. An encrypted file
    /// without keys is an error (the store was opened without its key).
    pub fn new(mut file: File, keys: Option<&AtRestKeys>) -> io::Result<BodyFile> {
        let file_len = file.metadata()?.len();
        let mut head = [0u8; stream::MAGIC.len()];
        let n = read_up_to(&mut file, &mut head)?;
        file.seek(SeekFrom::Start(0))?;
        if !stream::is_encrypted(&head[..n]) {
            return Ok(BodyFile::Plain(file));
        }
        let keys = keys.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::PermissionDenied,
                "encrypted body, but the store was opened without its key",
            )
        })?;
        Ok(BodyFile::Encrypted(Box::new(DecryptReader::new(
            file,
            keys.blobs.expose(),
            file_len,
        )?)))
    }

    /// The plaintext length.
    pub fn len(&self) -> io::Result<u64> {
        match self {
            BodyFile::Plain(f) => Ok(f.metadata()?.len()),
            BodyFile::Encrypted(r) => Ok(r.len()),
        }
    }
}

fn read_up_to(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

impl Read for BodyFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            BodyFile::Plain(f) => f.read(buf),
            BodyFile::Encrypted(r) => r.read(buf),
        }
    }
}

impl Seek for BodyFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        match self {
            BodyFile::Plain(f) => f.seek(to),
            BodyFile::Encrypted(r) => r.seek(to),
        }
    }
}
