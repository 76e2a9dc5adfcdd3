//! A domain's TXT records as the SPF stage checks them (mail-auth's parser
//! for each SPF record, our checks for several records and bad ip4/ip6
//! terms). Never panics, and the verdict follows RFC 7208 §4.5: TXT
//! records that are not SPF are ignored; two SPF records are a permerror.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_filter::fuzzing::{is_spf_record, spf_records};
use postern_filter::AuthResult;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let (parsed, alone) = spf_records(std::slice::from_ref(&text));
    assert_eq!(parsed.len(), 1);
    // Another TXT record that is not SPF changes nothing.
    let other = "google-site-verification=abc".to_string();
    let (_, with_other) = spf_records(&[other, text.clone()]);
    assert_eq!(alone, with_other);
    // The same record twice is two records: a permerror when it is one.
    let (_, twice) = spf_records(&[text.clone(), text.clone()]);
    if is_spf_record(&text) {
        assert_eq!(twice, Some(AuthResult::PermError));
    } else {
        assert_eq!((alone, twice), (None, None));
    }
});
