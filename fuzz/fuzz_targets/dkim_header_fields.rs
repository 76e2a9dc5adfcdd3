//! Choosing the fields a DKIM signature covers (postern-dkim's sign.rs) on
//! arbitrary header bytes: never panics; From comes last, once more than
//! the fields listed before it hold (over-signing); every other name is one
//! of RFC 6376 §5.4.1's and appears in the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_dkim::sign::{fields_to_sign, read_header, SIGNED_FIELDS};

fuzz_target!(|data: &[u8]| {
    let header = read_header(&mut &data[..], 4096).expect("reading a slice");
    assert!(header.len() <= data.len() && data.starts_with(&header));
    let fields = fields_to_sign(&header);
    assert_eq!(fields.last().map(String::as_str), Some("From"));
    assert!(fields.iter().filter(|f| *f == "From").count() == 2);
    let lower = String::from_utf8_lossy(&header).to_ascii_lowercase();
    for f in &fields[..fields.len() - 1] {
        assert!(SIGNED_FIELDS.contains(&f.as_str()));
        assert!(f == "From" || lower.contains(&f.to_ascii_lowercase()));
    }
});
