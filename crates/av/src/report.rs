//! What a scan found, as data for the SMTP stage, the attachment filter and
//! `av scan`.

use std::fmt;

/// Why an object could not be scanned (issue 17 item 5: delivered with a
/// warning or treated as infected, by setting).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unscannable {
    Encrypted,
    /// An archive that cannot be read (truncated, damaged).
    Corrupt(String),
    TooDeep,
    TooManyFiles,
    TooManyBytes,
    /// Expanded more than the ratio allows (a decompression bomb).
    Ratio,
    /// More MIME parts than the bounded walk visits.
    TooManyParts,
    /// Longer than clamd takes (its StreamMaxLength).
    OverClamdLimit,
}

impl fmt::Display for Unscannable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unscannable::Encrypted => f.write_str("encrypted archive"),
            Unscannable::Corrupt(why) => write!(f, "corrupt archive ({why})"),
            Unscannable::TooDeep => f.write_str("archives nested too deep (av.max_depth)"),
            Unscannable::TooManyFiles => f.write_str("too many files (av.max_files)"),
            Unscannable::TooManyBytes => f.write_str("too many bytes (av.max_scan_bytes)"),
            Unscannable::Ratio => f.write_str("expansion ratio too high (av.max_ratio)"),
            Unscannable::TooManyParts => f.write_str("too many MIME parts"),
            Unscannable::OverClamdLimit => f.write_str("over clamd's StreamMaxLength"),
        }
    }
}

/// Where in the message: a MIME part (0 for a plain file or the raw
/// message), then the archive members leading to the object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    pub part: usize,
    pub path: Vec<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "part {}", self.part)?;
        for name in &self.path {
            write!(f, " > {name}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    Infected { name: String, at: Location },
    Unscannable { reason: Unscannable, at: Location },
}

/// One leaf MIME part, for the attachment filter: its declared name and
/// type, and every archive member found inside it, each as the chain of
/// names from the outer archive's member inwards.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartInfo {
    pub index: usize,
    pub filename: Option<String>,
    pub content_type: String,
    pub inside: Vec<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanReport {
    /// The first infection found; else the first part that could not be
    /// scanned; else Clean.
    pub verdict: Verdict,
    pub parts: Vec<PartInfo>,
    /// Bytes decoded and unpacked (toward `max_scan_bytes`).
    pub bytes_scanned: u64,
}
