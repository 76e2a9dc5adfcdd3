//! Scans of messages and archives, and every limit crossed.

use crate::*;
use std::io::{Cursor, Write};
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, data) in files {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn gzip_of(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut t = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        t.append_data(&mut h, name, *data).unwrap();
    }
    t.into_inner().unwrap()
}

/// EICAR followed by blanks (still detected), which deflate compresses,
/// so a zip holding it does not carry the string itself.
fn eicar_file() -> Vec<u8> {
    let mut f = EICAR.to_vec();
    f.extend_from_slice(&[b' '; 200]);
    f
}

fn scan(data: &[u8]) -> ScanReport {
    Engine::builtin().scan_file(data, &Limits::default())
}

fn infected_at(r: &ScanReport) -> Vec<String> {
    match &r.verdict {
        Verdict::Infected { name, at } => {
            assert_eq!(name, EICAR_NAME);
            at.path.clone()
        }
        v => panic!("not infected: {v:?}"),
    }
}

fn unscannable(r: &ScanReport) -> Unscannable {
    match &r.verdict {
        Verdict::Unscannable { reason, .. } => reason.clone(),
        v => panic!("not unscannable: {v:?}"),
    }
}

#[test]
fn nested_zip_gzip_tar() {
    let inner = zip_of(&[("readme.txt", b"hi"), ("eicar.com", &eicar_file())]);
    let outer = zip_of(&[("inner.zip", &inner)]);
    assert_eq!(infected_at(&scan(&outer)), ["inner.zip", "eicar.com"]);
    let tgz = gzip_of(&tar_of(&[("a/b.txt", b"clean"), ("a/eicar.txt", EICAR)]));
    assert_eq!(infected_at(&scan(&tgz)), ["(gzip)", "a/eicar.txt"]);
    let clean = scan(&zip_of(&[("x.txt", b"nothing")]));
    assert_eq!(clean.verdict, Verdict::Clean);
    assert_eq!(clean.parts[0].inside, vec![vec!["x.txt".to_string()]]);
}

/// Sets the "encrypted" flag (APPNOTE 4.4.4 bit 0) in every header.
fn mark_encrypted(mut z: Vec<u8>) -> Vec<u8> {
    for (magic, at) in [(b"PK\x03\x04", 6), (b"PK\x01\x02", 8)] {
        let hits: Vec<usize> = z
            .windows(4)
            .enumerate()
            .filter(|(_, w)| w == magic)
            .map(|(i, _)| i)
            .collect();
        for i in hits {
            z[i + at] |= 1;
        }
    }
    z
}

#[test]
fn encrypted_zip_is_unscannable() {
    let z = mark_encrypted(zip_of(&[("secret.txt", b"data")]));
    assert_eq!(unscannable(&scan(&z)), Unscannable::Encrypted);
}

#[test]
fn truncated_zip_is_unscannable() {
    let z = zip_of(&[("a.txt", &[b'a'; 1000])]);
    let r = scan(&z[..z.len() / 2]);
    assert!(matches!(unscannable(&r), Unscannable::Corrupt(_)), "{r:?}");
}

#[test]
fn depth_limit() {
    let mut z = zip_of(&[("eicar.com", &eicar_file())]);
    for i in 0..6 {
        z = zip_of(&[(&format!("level{i}.zip"), &z)]);
    }
    // Seven archives deep: the EICAR file is past max_depth (5).
    assert_eq!(unscannable(&scan(&z)), Unscannable::TooDeep);
    let deep = Limits {
        max_depth: 8,
        ..Limits::default()
    };
    let r = Engine::builtin().scan_file(&z, &deep);
    assert_eq!(infected_at(&r).len(), 7);
}

#[test]
fn ten_thousand_files_cross_max_files() {
    let names: Vec<String> = (0..10_000).map(|i| format!("f{i}.txt")).collect();
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    let z = zip_of(&files);
    let t = std::time::Instant::now();
    assert_eq!(unscannable(&scan(&z)), Unscannable::TooManyFiles);
    assert!(t.elapsed().as_secs() < 5);
    // Exactly at the limit is fine.
    let z = zip_of(&files[..MAX_FILES]);
    assert_eq!(scan(&z).verdict, Verdict::Clean);
}

#[test]
fn high_ratio_deflate_bomb() {
    let zeros = vec![0u8; 64 * 1024 * 1024];
    let z = zip_of(&[("zeros.bin", &zeros)]);
    drop(zeros);
    assert!(z.len() < 200_000, "{}", z.len());
    let r = scan(&z);
    assert_eq!(unscannable(&r), Unscannable::Ratio);
    assert!(
        r.bytes_scanned < 2 * RATIO_FLOOR,
        "stopped early: {}",
        r.bytes_scanned
    );
    // Below the floor, high ratios are fine (small files compress well).
    let small = zip_of(&[("zeros.bin", &vec![0u8; (RATIO_FLOOR / 2) as usize])]);
    assert_eq!(scan(&small).verdict, Verdict::Clean);
    let gz = gzip_of(&vec![0u8; 16 * 1024 * 1024]);
    assert_eq!(unscannable(&scan(&gz)), Unscannable::Ratio);
}

#[test]
fn recursive_bomb_like_42_zip() {
    // Each level holds 16 copies of the level below; the bottom is 8 MiB of
    // zeros. Fully expanded: 16^4 * 8 MiB = 512 GiB; on disk: a few KB.
    let mut z = zip_of(&[("0.bin", &vec![0u8; 8 * 1024 * 1024])]);
    for level in 0..4 {
        let names: Vec<String> = (0..16).map(|i| format!("l{level}-{i}.zip")).collect();
        let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), z.as_slice())).collect();
        z = zip_of(&files);
    }
    assert!(z.len() < 20_000_000, "{}", z.len());
    let t = std::time::Instant::now();
    let r = scan(&z);
    assert_eq!(unscannable(&r), Unscannable::Ratio);
    assert!(r.bytes_scanned <= MAX_SCAN_BYTES);
    // Bounded by bytes, not by time; this only catches a runaway.
    assert!(t.elapsed().as_secs() < 60);
    // With no ratio limit, the byte budget stops it instead.
    let lax = Limits {
        max_ratio: u64::MAX / 2,
        ..Limits::default()
    };
    let r = Engine::builtin().scan_file(&z, &lax);
    assert_eq!(unscannable(&r), Unscannable::TooManyBytes);
    assert!(r.bytes_scanned <= MAX_SCAN_BYTES + 1);
}

#[test]
fn byte_budget_counts_everything() {
    let tight = Limits {
        max_scan_bytes: 1000,
        ..Limits::default()
    };
    let z = tar_of(&[("a", &[1u8; 600]), ("b", &[2u8; 600])]);
    let r = Engine::builtin().scan_file(&z, &tight);
    assert_eq!(unscannable(&r), Unscannable::TooManyBytes);
}

fn message(parts: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut m = b"From: a@example.org\r\nSubject: t\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n".to_vec();
    for (headers, encoding, body) in parts {
        m.extend_from_slice(
            format!("--b1\r\n{headers}\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n")
                .as_bytes(),
        );
        m.extend_from_slice(body);
        m.extend_from_slice(b"\r\n");
    }
    m.extend_from_slice(b"--b1--\r\n");
    m
}

fn b64(data: &[u8]) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    for (i, c) in data.chunks(3).enumerate() {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            out.push(if k <= c.len() {
                A[(n >> (18 - 6 * k) & 63) as usize]
            } else {
                b'='
            });
        }
        if i % 19 == 18 {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

#[test]
fn message_parts_decoded_and_listed() {
    let z = zip_of(&[("doc/eicar.com", &eicar_file())]);
    let raw = message(&[
        ("Content-Type: text/plain", "7bit", b"hello"),
        (
            "Content-Type: application/zip\r\nContent-Disposition: attachment; filename=\"x.zip\"",
            "base64",
            &b64(&z),
        ),
    ]);
    let r = Engine::builtin().scan_message(&raw, &Limits::default());
    assert_eq!(
        r.verdict,
        Verdict::Infected {
            name: EICAR_NAME.into(),
            at: Location {
                part: 2,
                path: vec!["doc/eicar.com".into()]
            }
        }
    );
    assert_eq!(r.parts[1].filename.as_deref(), Some("x.zip"));
    assert_eq!(r.parts[1].content_type, "application/zip");
    assert_eq!(r.parts[1].inside, vec![vec!["doc/eicar.com".to_string()]]);
}

#[test]
fn base64_and_quoted_printable_hide_nothing() {
    let raw = message(&[(
        "Content-Type: application/octet-stream",
        "base64",
        &b64(EICAR),
    )]);
    assert!(!raw.windows(EICAR.len()).any(|w| w == EICAR));
    let r = Engine::builtin().scan_message(&raw, &Limits::default());
    assert!(matches!(
        r.verdict,
        Verdict::Infected {
            at: Location { part: 1, .. },
            ..
        }
    ));
    let qp: Vec<u8> = EICAR
        .iter()
        .flat_map(|b| format!("={b:02X}").into_bytes())
        .collect();
    let raw = message(&[("Content-Type: text/plain", "quoted-printable", &qp)]);
    let r = Engine::builtin().scan_message(&raw, &Limits::default());
    assert!(matches!(r.verdict, Verdict::Infected { .. }), "{r:?}");
}

#[test]
fn uuencoded_file_in_text() {
    let mut body = b"see attached\r\nbegin 644 eicar.com\r\n".to_vec();
    for chunk in EICAR.chunks(45) {
        body.push(b' ' + chunk.len() as u8);
        for c in chunk.chunks(3) {
            let n = (c[0] as u32) << 16
                | (*c.get(1).unwrap_or(&0) as u32) << 8
                | *c.get(2).unwrap_or(&0) as u32;
            for k in 0..4 {
                let v = (n >> (18 - 6 * k) & 63) as u8;
                body.push(if v == 0 { b'`' } else { b' ' + v });
            }
        }
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"`\r\nend\r\n");
    // Hide the plain string: the encoded form must not contain it.
    assert!(!body.windows(EICAR.len()).any(|w| w == EICAR));
    let raw = message(&[("Content-Type: text/plain", "7bit", &body)]);
    let r = Engine::builtin().scan_message(&raw, &Limits::default());
    assert!(
        matches!(&r.verdict, Verdict::Infected { at, .. } if at.path == ["eicar.com"]),
        "{r:?}"
    );
}

#[test]
fn too_many_mime_parts_is_unscannable() {
    let parts: Vec<(&str, &str, &[u8])> = (0..600)
        .map(|_| ("Content-Type: text/plain", "7bit", &b"x"[..]))
        .collect();
    let r = Engine::builtin().scan_message(&message(&parts), &Limits::default());
    assert_eq!(unscannable(&r), Unscannable::TooManyParts);
}

#[test]
fn clean_message_is_clean() {
    let raw = message(&[("Content-Type: text/plain", "7bit", b"hello there")]);
    let r = Engine::builtin().scan_message(&raw, &Limits::default());
    assert_eq!(r.verdict, Verdict::Clean);
    assert_eq!(r.parts.len(), 1);
}

#[test]
fn encoded_forwarded_message_is_walked_into() {
    let inner = message(&[(
        "Content-Type: application/octet-stream",
        "base64",
        &b64(EICAR),
    )]);
    let raw = message(&[
        ("Content-Type: text/plain", "7bit", b"fwd"),
        ("Content-Type: message/rfc822", "base64", &b64(&inner)),
    ]);
    assert!(!raw.windows(EICAR.len()).any(|w| w == EICAR));
    let r = Engine::builtin().scan_message(&raw, &Limits::default());
    assert!(
        matches!(&r.verdict, Verdict::Infected { at, .. } if at.part == 2 && at.path == ["part 1"]),
        "{r:?}"
    );
    // Each level of encoded forwarding is one level of depth.
    let mut m = inner;
    for _ in 0..6 {
        m = message(&[("Content-Type: message/rfc822", "base64", &b64(&m))]);
    }
    let r = Engine::builtin().scan_message(&m, &Limits::default());
    assert_eq!(unscannable(&r), Unscannable::TooDeep);
}

#[test]
fn mangled_archives_and_messages_never_panic() {
    // A poor man's fuzzer (the real targets are fuzz/av_scan and
    // fuzz/av_signatures): flipped bytes and cut ends of valid inputs.
    let inner = zip_of(&[("a.txt", b"hello hello hello"), ("b.bin", &[7u8; 3000])]);
    let tgz = gzip_of(&tar_of(&[("x", &[1u8; 2000]), ("y", b"yy")]));
    let seeds = [
        zip_of(&[("in.zip", &inner), ("t.tgz", &tgz)]),
        tgz.clone(),
        message(&[("Content-Type: application/zip", "base64", &b64(&inner))]),
    ];
    let small = Limits {
        max_depth: 3,
        max_files: 20,
        max_scan_bytes: 1 << 20,
        max_ratio: 100,
    };
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let engine = Engine::builtin();
    for round in 0..3000 {
        let mut data = seeds[round % seeds.len()].clone();
        for _ in 0..1 + next() % 8 {
            let i = (next() as usize) % data.len();
            data[i] = next() as u8;
        }
        if next() % 4 == 0 {
            data.truncate((next() as usize) % data.len());
        }
        let r = engine.scan_file(&data, &small);
        assert!(r.bytes_scanned <= small.max_scan_bytes + 1);
        engine.scan_message(&data, &small);
    }
}
