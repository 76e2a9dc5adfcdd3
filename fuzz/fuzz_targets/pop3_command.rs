//! POP3 `parse_command` on arbitrary bytes: it must never panic, whatever the
//! client sends (RFC 1939 §3 commands, RFC 2449 line limits).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = postern_pop3::parse_command(data);
});
