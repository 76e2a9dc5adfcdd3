//! Unpacking zip, gzip and tar into members, under a byte cap the caller
//! computes from its budget and the expansion ratio. Declared sizes are
//! never trusted: every member is read through `take(cap + 1)`, so a lie
//! costs at most `cap + 1` bytes.

use crate::report::Unscannable;
use std::io::{Cursor, Read};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Zip,
    Gzip,
    Tar,
}

/// The archive format of `data`, by its magic bytes.
pub fn kind(data: &[u8]) -> Option<Kind> {
    if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") {
        Some(Kind::Zip)
    } else if gzip_header(data) {
        Some(Kind::Gzip)
    } else if data.get(257..262) == Some(b"ustar") {
        Some(Kind::Tar)
    } else {
        None
    }
}

/// RFC 1952 §2.3.1: ID1 ID2, CM 8 (deflate, the only one defined), and the
/// reserved FLG bits zero. Two magic bytes alone would take one random
/// binary attachment in 65,536 for a corrupt (unscannable) archive.
fn gzip_header(data: &[u8]) -> bool {
    matches!(data, [0x1f, 0x8b, 8, flags, ..] if flags & 0xe0 == 0)
}

/// Where members go, and the bounds they are read under.
pub trait Sink {
    /// Members left to open.
    fn files_left(&self) -> usize;
    /// The most one member of `compressed` input bytes may produce, and the
    /// reason to give when it produces more.
    fn cap(&self, compressed: Option<u64>) -> (u64, Unscannable);
    /// Takes one member; returns false to stop.
    fn member(&mut self, name: String, bytes: Vec<u8>) -> Result<bool, Unscannable>;
}

pub fn unpack(kind: Kind, data: &[u8], sink: &mut dyn Sink) -> Result<(), Unscannable> {
    match kind {
        Kind::Zip => zip(data, sink),
        Kind::Gzip => gzip(data, sink),
        Kind::Tar => tar(data, sink),
    }
}

/// Reads at most the cap; more is the cap's reason.
fn bounded(r: impl Read, (cap, why): (u64, Unscannable)) -> Result<Vec<u8>, Unscannable> {
    let mut out = Vec::new();
    r.take(cap.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| Unscannable::Corrupt(e.to_string()))?;
    if out.len() as u64 > cap {
        return Err(why);
    }
    Ok(out)
}

fn corrupt(e: impl ToString) -> Unscannable {
    Unscannable::Corrupt(e.to_string())
}

fn zip(data: &[u8], sink: &mut dyn Sink) -> Result<(), Unscannable> {
    let mut archive = zip::ZipArchive::new(Cursor::new(data)).map_err(corrupt)?;
    if archive.len() > sink.files_left() {
        return Err(Unscannable::TooManyFiles);
    }
    for i in 0..archive.len() {
        let (name, compressed, skip) = {
            let f = archive.by_index_raw(i).map_err(corrupt)?;
            if f.encrypted() {
                return Err(Unscannable::Encrypted);
            }
            let name = f.name().map_err(corrupt)?.into_owned();
            (name, f.compressed_size(), f.is_dir())
        };
        if skip {
            continue;
        }
        let f = archive.by_index(i).map_err(corrupt)?;
        let bytes = bounded(f, sink.cap(Some(compressed)))?;
        if !sink.member(name, bytes)? {
            break;
        }
    }
    Ok(())
}

fn gzip(data: &[u8], sink: &mut dyn Sink) -> Result<(), Unscannable> {
    if sink.files_left() == 0 {
        return Err(Unscannable::TooManyFiles);
    }
    let mut gz = flate2::read::MultiGzDecoder::new(data);
    let bytes = bounded(&mut gz, sink.cap(Some(data.len() as u64)))?;
    let name = gz
        .header()
        .and_then(|h| h.filename())
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_else(|| "(gzip)".into());
    sink.member(name, bytes).map(|_| ())
}

fn tar(data: &[u8], sink: &mut dyn Sink) -> Result<(), Unscannable> {
    let mut archive = tar::Archive::new(data);
    for entry in archive.entries().map_err(corrupt)? {
        let entry = entry.map_err(corrupt)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        if sink.files_left() == 0 {
            return Err(Unscannable::TooManyFiles);
        }
        let name = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Stored, not compressed: only the byte budget applies.
        let bytes = bounded(entry, sink.cap(None))?;
        if !sink.member(name, bytes)? {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes() {
        assert_eq!(kind(b"PK\x03\x04rest"), Some(Kind::Zip));
        assert_eq!(kind(&[0x1f, 0x8b, 8, 0, 0]), Some(Kind::Gzip));
        // Random binary that happens to start like gzip is not an archive.
        assert_eq!(kind(&[0x1f, 0x8b, 0x61, 0, 0]), None);
        assert_eq!(kind(&[0x1f, 0x8b, 8, 0x20, 0]), None);
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(kind(&tar), Some(Kind::Tar));
        assert_eq!(kind(b"plain text"), None);
    }
}
