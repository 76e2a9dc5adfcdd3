//! ClamAV's database containers, `.cvd` and `.cld`: a 512-byte ASCII header
//! `ClamAV-VDB:date:version:signatures:flevel:md5:dsig:builder:stime`
//! (space-padded), then a tar archive of the database files, gzip'd in a
//! `.cvd` and usually plain in a `.cld`. The header's MD5 of what follows is
//! checked for a `.cvd`; the digital signature (`dsig`, ClamAV's own key) is
//! not: trust comes from where `av update` fetched the file.

use md5::{Digest, Md5};
use std::io::Read;

pub const HEADER_LEN: usize = 512;
/// Largest member read from a container (today's main.cvd unpacks to
/// about 300 MB in total; no single member comes near this).
pub const MAX_MEMBER_BYTES: u64 = 1 << 30;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// As written, e.g. `07 Dec 2026 10-50 +0000`.
    pub date: String,
    pub version: u32,
    pub signatures: u64,
    pub flevel: u32,
    pub md5: String,
    pub builder: String,
    /// Build time, seconds since the epoch.
    pub stime: u64,
}

pub fn parse_header(data: &[u8]) -> Result<Header, String> {
    let head = data
        .get(..HEADER_LEN)
        .ok_or("shorter than the 512-byte header")?;
    let text = std::str::from_utf8(head).map_err(|_| "header is not ASCII")?;
    let f: Vec<&str> = text.trim_end_matches([' ', '\0']).split(':').collect();
    if f.first() != Some(&"ClamAV-VDB") || f.len() < 9 {
        return Err("not a ClamAV-VDB header".into());
    }
    let num = |i: usize, what: &str| {
        f[i].trim()
            .parse::<u64>()
            .map_err(|_| format!("header {what} '{}' is not a number", f[i]))
    };
    Ok(Header {
        date: f[1].to_string(),
        version: num(2, "version")? as u32,
        signatures: num(3, "signature count")?,
        flevel: num(4, "functionality level")? as u32,
        md5: f[5].to_string(),
        builder: f[7].to_string(),
        stime: num(8, "build time")?,
    })
}

/// Database files as (file name, bytes).
pub type Files = Vec<(String, Vec<u8>)>;

/// The header and the database files inside.
pub fn unpack(data: &[u8], check_md5: bool) -> Result<(Header, Files), String> {
    let header = parse_header(data)?;
    let body = &data[HEADER_LEN..];
    if check_md5 && header.md5.len() == 32 {
        let got: String = Md5::digest(body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if !got.eq_ignore_ascii_case(&header.md5) {
            return Err(format!(
                "MD5 {got} differs from the header's {}",
                header.md5
            ));
        }
    }
    let members = if body.starts_with(&[0x1f, 0x8b]) {
        members(flate2::read::GzDecoder::new(body))?
    } else {
        members(body)?
    };
    Ok((header, members))
}

fn members(r: impl Read) -> Result<Files, String> {
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(r);
    let entries = archive.entries().map_err(|e| format!("bad tar: {e}"))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("bad tar: {e}"))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry
            .path()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        let mut bytes = Vec::new();
        entry
            .take(MAX_MEMBER_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{name}: {e}"))?;
        if bytes.len() as u64 > MAX_MEMBER_BYTES {
            return Err(format!("{name}: larger than {MAX_MEMBER_BYTES} bytes"));
        }
        out.push((name, bytes));
    }
    Ok(out)
}

/// Builds a container (for tests and the benchmark): header, then the
/// gzip'd tar of `files`.
pub fn build(version: u32, stime: u64, files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, name, *bytes).expect("in memory");
    }
    let tar = tar.into_inner().expect("in memory");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar).expect("in memory");
    let body = gz.finish().expect("in memory");
    let md5: String = Md5::digest(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let sigs: usize = files
        .iter()
        .map(|(_, b)| b.split(|&c| c == b'\n').filter(|l| !l.is_empty()).count())
        .sum();
    let text = format!(
        "ClamAV-VDB:07 Dec 2026 00-00 +0000:{version}:{sigs}:90:{md5}:nosig:postern:{stime}"
    );
    let mut out = format!("{text:<HEADER_LEN$}").into_bytes();
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_header_fields() {
        let cvd = build(
            42,
            1_800_000_000,
            &[("x.hdb", b"a\n"), ("y.ndb", b"b\nc\n")],
        );
        let (h, files) = unpack(&cvd, true).unwrap();
        assert_eq!((h.version, h.signatures, h.stime), (42, 3, 1_800_000_000));
        assert_eq!(h.date, "07 Dec 2026 00-00 +0000");
        assert_eq!(files[1], ("y.ndb".to_string(), b"b\nc\n".to_vec()));
    }

    #[test]
    fn cld_with_a_plain_tar() {
        let gz = build(9, 5, &[("z.hdb", b"line\n")]);
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&gz[HEADER_LEN..])
            .read_to_end(&mut tar)
            .unwrap();
        let mut cld = gz[..HEADER_LEN].to_vec();
        cld.extend_from_slice(&tar);
        let (h, files) = unpack(&cld, false).unwrap();
        assert_eq!((h.version, files[0].0.as_str()), (9, "z.hdb"));
    }

    #[test]
    fn damage_is_refused() {
        let mut cvd = build(1, 0, &[("x.hdb", b"a\n")]);
        assert!(parse_header(b"ClamAV-VDB:x").is_err());
        let n = cvd.len();
        cvd[n - 3] ^= 0xff;
        assert!(unpack(&cvd, true).unwrap_err().contains("MD5"));
        let mut bad = vec![b' '; HEADER_LEN];
        bad[..11].copy_from_slice(b"NotClamAV:x");
        assert!(parse_header(&bad).is_err());
    }
}
