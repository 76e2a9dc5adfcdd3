//! One scan: the raw message, each MIME leaf decoded, uuencoded files in
//! text parts, and archive members, recursively, under [`Limits`]. The MIME
//! walk is the shared bounded one (`postern_spam::mime`, issue 13).

use crate::archive::{self, Sink};
use crate::decode;
use crate::engine::Engine;
use crate::limits::{Limits, RATIO_FLOOR};
use crate::report::{Location, PartInfo, ScanReport, Unscannable, Verdict};
use postern_spam::header::{self, ContentType};
use postern_spam::mime;
use std::borrow::Cow;

impl Engine {
    /// Scans a whole message (RFC 5322 bytes as received).
    pub fn scan_message(&self, raw: &[u8], limits: &Limits) -> ScanReport {
        let mut s = Scanner::new(self, limits);
        s.detect(raw, &Location::default());
        let mut leaves = Vec::new();
        let seen = mime::walk(raw, |p| {
            if let Some(body) = p.body {
                leaves.push((p.encoding(), p.fields, p.content_type, body));
            }
        });
        if seen >= mime::MAX_PARTS {
            s.note(Unscannable::TooManyParts, &Location::default());
        }
        for (i, (encoding, fields, ct, body)) in leaves.into_iter().enumerate() {
            if s.infected() {
                break;
            }
            s.part(i + 1, &encoding, &fields, ct, body);
        }
        s.report()
    }

    /// Scans one file (not a message): itself and, if it is an archive,
    /// what it holds.
    pub fn scan_file(&self, data: &[u8], limits: &Limits) -> ScanReport {
        let mut s = Scanner::new(self, limits);
        s.parts.push(PartInfo::default());
        s.object(data, &Location::default(), 0);
        s.report()
    }
}

struct Scanner<'e> {
    engine: &'e Engine,
    limits: Limits,
    bytes: u64,
    files: usize,
    verdict: Verdict,
    parts: Vec<PartInfo>,
}

impl<'e> Scanner<'e> {
    fn new(engine: &'e Engine, limits: &Limits) -> Self {
        Scanner {
            engine,
            limits: *limits,
            bytes: 0,
            files: 0,
            verdict: Verdict::Clean,
            parts: Vec::new(),
        }
    }

    fn report(self) -> ScanReport {
        ScanReport {
            verdict: self.verdict,
            parts: self.parts,
            bytes_scanned: self.bytes,
        }
    }

    fn infected(&self) -> bool {
        matches!(self.verdict, Verdict::Infected { .. })
    }

    /// Records the first reason something could not be scanned.
    fn note(&mut self, reason: Unscannable, at: &Location) {
        if self.verdict == Verdict::Clean {
            self.verdict = Verdict::Unscannable {
                reason,
                at: at.clone(),
            };
        }
    }

    fn detect(&mut self, data: &[u8], at: &Location) -> bool {
        match self.engine.detect(data) {
            Some(name) => {
                self.verdict = Verdict::Infected {
                    name: name.to_string(),
                    at: at.clone(),
                };
                true
            }
            None => false,
        }
    }

    /// Charges decoded or unpacked bytes; false when over the budget.
    fn charge(&mut self, n: usize) -> bool {
        self.bytes = self.bytes.saturating_add(n as u64);
        self.bytes <= self.limits.max_scan_bytes
    }

    fn part(
        &mut self,
        index: usize,
        encoding: &str,
        fields: &[(String, String)],
        ct: ContentType,
        body: &[u8],
    ) {
        let at = Location {
            part: index,
            path: Vec::new(),
        };
        let data = transfer_decode(encoding, body);
        let encoded = matches!(data, Cow::Owned(_));
        if encoded && !self.charge(data.len()) {
            return self.note(Unscannable::TooManyBytes, &at);
        }
        let text = ct.mime.starts_with("text/");
        let message = ct.is_message();
        self.parts.push(PartInfo {
            index,
            filename: filename(fields).or(ct.name.clone()),
            content_type: ct.mime,
            inside: Vec::new(),
        });
        self.object(&data, &at, 0);
        if message && encoded && !self.infected() {
            self.embedded(&data, &at, 0);
        }
        if text && !self.infected() {
            for (name, bytes) in decode::uuencoded(&data) {
                if self.member(&at, 0, name, bytes) == Ok(false) {
                    break;
                }
            }
        }
    }

    /// An encoded message/rfc822 part, which the MIME walk sees as one
    /// leaf: its own leaves, decoded, as members named `part N`, nested as
    /// archives are.
    fn embedded(&mut self, raw: &[u8], at: &Location, depth: usize) {
        if depth >= self.limits.max_depth {
            return self.note(Unscannable::TooDeep, at);
        }
        let mut leaves = Vec::new();
        mime::walk(raw, |p| {
            if let Some(body) = p.body {
                leaves.push((p.encoding(), p.content_type.is_message(), body));
            }
        });
        for (j, (encoding, message, body)) in leaves.into_iter().enumerate() {
            let data = transfer_decode(&encoding, body);
            let nested = (message && matches!(data, Cow::Owned(_))).then(|| data.to_vec());
            let name = format!("part {}", j + 1);
            match self.member(at, depth, name.clone(), data.into_owned()) {
                Ok(true) => {}
                Ok(false) => return,
                Err(why) => return self.note(why, at),
            }
            if let Some(inner) = nested {
                let mut inner_at = at.clone();
                inner_at.path.push(name);
                self.embedded(&inner, &inner_at, depth + 1);
            }
        }
    }

    /// Scans one object and, if it is an archive within the depth, its members.
    fn object(&mut self, data: &[u8], at: &Location, depth: usize) {
        if self.infected() {
            return;
        }
        // Members first, so an infection is reported where it is; then the
        // archive itself (a signature for the whole file, or bytes stored
        // uncompressed in an archive that could not be opened).
        if let Some(kind) = archive::kind(data) {
            self.unpack(kind, data, at, depth);
        }
        if !self.infected() {
            self.detect(data, at);
        }
    }

    fn unpack(&mut self, kind: archive::Kind, data: &[u8], at: &Location, depth: usize) {
        if depth >= self.limits.max_depth {
            return self.note(Unscannable::TooDeep, at);
        }
        let mut sink = Nested {
            scanner: self,
            at,
            depth,
        };
        if let Err(why) = archive::unpack(kind, data, &mut sink) {
            self.note(why, at);
        }
    }

    /// One member found at `depth` in the object at `at`.
    fn member(
        &mut self,
        at: &Location,
        depth: usize,
        name: String,
        bytes: Vec<u8>,
    ) -> Result<bool, Unscannable> {
        self.files += 1;
        if self.files > self.limits.max_files {
            return Err(Unscannable::TooManyFiles);
        }
        if !self.charge(bytes.len()) {
            return Err(Unscannable::TooManyBytes);
        }
        let mut inner = at.clone();
        inner.path.push(name);
        if let Some(p) = self.parts.last_mut() {
            p.inside.push(inner.path.clone());
        }
        self.object(&bytes, &inner, depth + 1);
        Ok(!self.infected())
    }
}

/// The archive at `at` being unpacked.
struct Nested<'a, 'e> {
    scanner: &'a mut Scanner<'e>,
    at: &'a Location,
    depth: usize,
}

impl Sink for Nested<'_, '_> {
    fn files_left(&self) -> usize {
        self.scanner
            .limits
            .max_files
            .saturating_sub(self.scanner.files)
    }

    fn cap(&self, compressed: Option<u64>) -> (u64, Unscannable) {
        let l = &self.scanner.limits;
        let left = l.max_scan_bytes.saturating_sub(self.scanner.bytes);
        match compressed.map(|c| c.saturating_mul(l.max_ratio).max(RATIO_FLOOR)) {
            Some(ratio) if ratio < left => (ratio, Unscannable::Ratio),
            _ => (left, Unscannable::TooManyBytes),
        }
    }

    fn member(&mut self, name: String, bytes: Vec<u8>) -> Result<bool, Unscannable> {
        self.scanner.member(self.at, self.depth, name, bytes)
    }
}

/// A part's content after its Content-Transfer-Encoding (RFC 2045 §6).
fn transfer_decode<'a>(encoding: &str, body: &'a [u8]) -> Cow<'a, [u8]> {
    match encoding {
        "base64" => Cow::Owned(decode::base64(body)),
        "quoted-printable" => Cow::Owned(decode::quoted_printable(body)),
        _ => Cow::Borrowed(body),
    }
}

/// Content-Disposition's `filename` (RFC 2183 §2.3), encoded words decoded.
fn filename(fields: &[(String, String)]) -> Option<String> {
    let cd = header::get(fields, "content-disposition")?;
    cd.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        let v = v.trim().trim_matches('"');
        (k.trim().eq_ignore_ascii_case("filename") && !v.is_empty())
            .then(|| header::decode_words(v))
    })
}
