//! A stored message on arbitrary bytes, read every way a session reads one
//! (`postern_imap::walk_message`): the MIME structure, BODYSTRUCTURE,
//! ENVELOPE, every section and BINARY decoding, the SEARCH text. Hostile
//! nesting must stay within the depth bound (asserted inside) and nothing may
//! panic; run with -rss_limit_mb / -malloc_limit_mb / -timeout (run-all.sh
//! does) so unbounded allocation or quadratic work fails too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = postern_imap::walk_message(data);
});
