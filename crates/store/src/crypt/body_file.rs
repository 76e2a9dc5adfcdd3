//! A body file opened for reading, in the form the store's state says it
//! is in ([`Forms`]), not the form its first octets suggest: a plaintext
//! body may begin with the encrypted format's magic (an IMAP APPEND stores
//! any octets), and must still read as itself.

use super::reader::DecryptReader;
use super::{stream, AtRestKeys, Mode};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

pub enum BodyFile {
    Plain(File),
    Encrypted(Box<DecryptReader<File>>),
}

/// Which forms the bodies of a store can be in, from the store's own state
/// (`encryption.json`), so no file is judged by its first octets alone.
#[derive(Clone, Copy)]
pub enum Forms<'a> {
    /// Not encrypted: every body is plaintext, whatever it begins with.
    Plain,
    /// Encryption on: every body is encrypted. One that is not (or does not
    /// open) is an error, never served as plaintext: it was not written by
    /// this store.
    Sealed(&'a AtRestKeys),
    /// A conversion is under way, so both forms are on disk: a body is
    /// encrypted when its header is the format's and its first chunk opens
    /// under the key (a plaintext body cannot carry a valid Poly1305 tag),
    /// and plaintext otherwise.
    Mixed(&'a AtRestKeys),
}

impl<'a> Forms<'a> {
    /// The forms of a store with these keys in this mode (None: not encrypted).
    pub fn of(crypt: Option<(&'a AtRestKeys, Mode)>) -> Forms<'a> {
        match crypt {
            None => Forms::Plain,
            Some((k, Mode::On)) => Forms::Sealed(k),
            Some((k, Mode::Enabling | Mode::Disabling)) => Forms::Mixed(k),
        }
    }
}

impl BodyFile {
    /// Opens `file` in the form `forms` says it is in.
    pub fn new(file: File, forms: Forms<'_>) -> io::Result<BodyFile> {
        match forms {
            Forms::Plain => Ok(BodyFile::Plain(file)),
            Forms::Sealed(keys) => Ok(BodyFile::Encrypted(Box::new(sealed(file, keys)?))),
            Forms::Mixed(keys) => mixed(file, keys),
        }
    }

    /// The plaintext length.
    pub fn len(&self) -> io::Result<u64> {
        match self {
            BodyFile::Plain(f) => Ok(f.metadata()?.len()),
            BodyFile::Encrypted(r) => Ok(r.len()),
        }
    }

    pub fn is_encrypted(&self) -> bool {
        matches!(self, BodyFile::Encrypted(_))
    }
}

fn sealed(file: File, keys: &AtRestKeys) -> io::Result<DecryptReader<File>> {
    let file_len = file.metadata()?.len();
    DecryptReader::new(file, keys.blobs.expose(), file_len)
}

/// Encrypted if it opens as such (its first chunk authenticated, and kept
/// for the read that follows), else plaintext from its first octet.
fn mixed(mut file: File, keys: &AtRestKeys) -> io::Result<BodyFile> {
    let mut head = [0u8; stream::MAGIC.len()];
    let n = read_up_to(&mut file, &mut head)?;
    file.seek(SeekFrom::Start(0))?;
    if stream::is_encrypted(&head[..n]) {
        let probe = file.try_clone()?;
        if let Ok(mut r) = sealed(probe, keys) {
            if r.load_first().is_ok() {
                return Ok(BodyFile::Encrypted(Box::new(r)));
            }
        }
        file.seek(SeekFrom::Start(0))?;
    }
    Ok(BodyFile::Plain(file))
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

    /// A plain file's own `read_to_end`, which sizes the buffer from the
    /// file's length: one read for a body, where the default grows a
    /// buffer from 32 octets (issue 18: ~11 read calls per 19 KB FETCH,
    /// 53,000 a second under imaptest).
    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        match self {
            BodyFile::Plain(f) => f.read_to_end(buf),
            BodyFile::Encrypted(r) => r.read_to_end(buf),
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
