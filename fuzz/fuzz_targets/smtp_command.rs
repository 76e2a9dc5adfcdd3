//! `parse_command` on arbitrary bytes: it must never panic, and it must only
//! accept lines that are UTF-8 without NUL (RFC 5321 §2.3.8, RFC 6531 §3.3)
//! and without a line feed (one command is one line).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if postern_smtp::parse_command(data).is_ok() {
        assert!(std::str::from_utf8(data).is_ok(), "accepted invalid UTF-8: {data:?}");
        assert!(!data.contains(&0), "accepted a NUL: {data:?}");
        assert!(!data.contains(&b'\n'), "accepted a line feed: {data:?}");
    }
});
