//! Bounds on one scan (issue 17 item 2): archive nesting, files, bytes
//! produced by decoding and extraction, and the expansion ratio of each
//! compressed object. Crossing any makes the message Unscannable, never a
//! crash or an unbounded allocation.

/// Archives nested deeper than this (a part is depth 0, a file in a zip 1).
pub const MAX_DEPTH: usize = 5;
/// Archive members looked at in one scan, all archives together.
pub const MAX_FILES: usize = 1000;
/// Bytes produced by decoding parts and unpacking archives in one scan.
pub const MAX_SCAN_BYTES: u64 = 100 * 1024 * 1024;
/// Output bytes per compressed input byte allowed for one object…
pub const MAX_RATIO: u64 = 100;
/// …once it has produced more than this (small files compress well too).
pub const RATIO_FLOOR: u64 = 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_depth: usize,
    pub max_files: usize,
    pub max_scan_bytes: u64,
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: MAX_DEPTH,
            max_files: MAX_FILES,
            max_scan_bytes: MAX_SCAN_BYTES,
            max_ratio: MAX_RATIO,
        }
    }
}
