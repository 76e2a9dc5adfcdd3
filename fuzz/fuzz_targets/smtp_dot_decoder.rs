//! `DotDecoder` on arbitrary DATA bytes. Checked:
//! - fed whole, or split in two at a point taken from the first byte, the
//!   output, consumed count and done state are the same;
//! - consumed <= input length, output length <= consumed;
//! - the decoder is done exactly when the input holds an end of data
//!   (CR LF "." CR LF, or "." CR LF at the very start), and then it consumed
//!   exactly up to the end of the first one; otherwise it consumed everything;
//! - the output equals a naive reference decoder (split at CR LF, drop one
//!   leading dot per line), minus at most one held-back CR when not done.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_smtp::dot::DotDecoder;

/// Where the first end-of-data line ends, if any.
fn end_of_data(input: &[u8]) -> Option<usize> {
    if input.starts_with(b".\r\n") {
        return Some(3);
    }
    input.windows(5).position(|w| w == b"\r\n.\r\n").map(|i| i + 5)
}

/// Naive dot-unstuffing: lines end at CR LF only; a line's leading dot is dropped.
fn reference(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let (mut i, mut line_start) = (0, true);
    while i < body.len() {
        if line_start && body[i] == b'.' {
            line_start = false;
            i += 1;
        } else if body[i..].starts_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
            line_start = true;
            i += 2;
        } else {
            out.push(body[i]);
            line_start = false;
            i += 1;
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    // Whole.
    let mut whole = DotDecoder::default();
    let mut whole_out = Vec::new();
    let whole_n = whole.feed(data, &mut whole_out);

    // Split in two, the point taken from the first byte.
    let cut = data.first().map_or(0, |&b| b as usize % (data.len() + 1));
    let mut split = DotDecoder::default();
    let mut split_out = Vec::new();
    let mut split_n = split.feed(&data[..cut], &mut split_out);
    assert!(split_n <= cut);
    if !split.is_done() {
        assert_eq!(split_n, cut, "not done yet it left input unconsumed");
        split_n += split.feed(&data[cut..], &mut split_out);
    }

    assert_eq!(whole_out, split_out, "output differs when split at {cut}");
    assert_eq!(whole_n, split_n, "consumed count differs when split at {cut}");
    assert_eq!(whole.is_done(), split.is_done(), "done differs when split at {cut}");

    assert!(whole_n <= data.len(), "consumed {whole_n} of {}", data.len());
    assert!(whole_out.len() <= data.len(), "output {} longer than input {}", whole_out.len(), data.len());
    assert!(whole_out.len() <= whole_n, "output {} longer than consumed {whole_n}", whole_out.len());

    match end_of_data(data) {
        None => {
            assert!(!whole.is_done(), "done without an end-of-data line");
            assert_eq!(whole_n, data.len(), "not done yet it left input unconsumed");
            // Everything decoded except possibly one CR still held back.
            let expected = reference(data);
            assert!(expected.starts_with(&whole_out), "output is not the unstuffed input");
            assert!(expected.len() - whole_out.len() <= 1, "more than one byte held back");
            if expected.len() > whole_out.len() {
                assert_eq!(expected.last(), Some(&b'\r'), "held back something other than a CR");
            }
        }
        Some(end) => {
            assert!(whole.is_done(), "end of data at {end} not recognised");
            assert_eq!(whole_n, end, "consumed past (or short of) the end of data");
            // The body is everything before the final ". CR LF".
            assert_eq!(whole_out, reference(&data[..end - 3]), "output differs from the reference decoder");
        }
    }
});
