//! The Authentication-Results values we read from outside: whether one
//! claims our authserv-id (such headers are removed, RFC 8601 §5) and
//! whether an ARC-Authentication-Results says dmarc=pass (a trusted
//! sealer's override). Never panics; leading white space and comments
//! before the id change nothing; a value that starts with the id claims it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_filter::fuzzing::auth_results;

const ID: &str = "mx.example.org";

fuzz_target!(|data: &[u8]| {
    let (claims, pass) = auth_results(data, ID);
    let mut spaced = b" \t".to_vec();
    spaced.extend_from_slice(data);
    assert_eq!(auth_results(&spaced, ID).0, claims);
    let mut commented = b"(a comment (nested)) ".to_vec();
    commented.extend_from_slice(data);
    assert_eq!(auth_results(&commented, ID).0, claims);
    let mut ours = format!("{ID}; ").into_bytes();
    ours.extend_from_slice(data);
    assert!(
        auth_results(&ours, ID).0,
        "a value starting with our id claims it"
    );
    if pass {
        assert!(String::from_utf8_lossy(data)
            .to_ascii_lowercase()
            .contains("dmarc=pass"));
    }
});
