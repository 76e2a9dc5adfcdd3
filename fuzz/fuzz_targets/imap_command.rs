//! IMAP client input on arbitrary bytes: the server's framer (lines,
//! literals and their limits, RFC 3501 §4.3, RFC 7888) and every parser a
//! command meets before it runs (imap-codec, SEARCH RETURN, extended LIST,
//! APPEND heads with RFC 6855 UTF8 data, the SEARCH compiler) must never
//! panic, whatever the client sends.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = postern_imap::feed_client_bytes(data);
});
