//! `parse_size` and `parse_duration` on arbitrary UTF-8 never panic. A size
//! that parses also survives a round trip through its display form (the form
//! `postern config get` shows).
#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_config::{parse_duration, parse_size, Size};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(n) = parse_size(text) {
        let shown = Size(n).to_string();
        assert_eq!(parse_size(&shown), Ok(n), "{text:?} -> {n} -> {shown:?}");
    }
    let _ = parse_duration(text);
});
