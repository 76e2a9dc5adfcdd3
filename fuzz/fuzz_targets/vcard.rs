//! The webmail's vCard import (issue 20 item 4) on hostile files. Checked:
//! never a panic; at most MAX_VCARD_CARDS cards, each with a name or an
//! address; nothing past MAX_VCARD_BYTES is read; and what is exported
//! reads back the same (values with a bare CR aside: export drops it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_webmail::vcard::{parse, write, MAX_VCARD_BYTES, MAX_VCARD_CARDS};

fuzz_target!(|data: &[u8]| {
    let Ok(cards) = parse(data) else {
        return;
    };
    assert!(data.len() <= MAX_VCARD_BYTES);
    assert!(cards.len() <= MAX_VCARD_CARDS);
    for c in &cards {
        assert!(!c.name.trim().is_empty() || !c.emails.is_empty(), "{c:?}");
    }
    let has_cr = cards.iter().any(|c| format!("{c:?}").contains("\\r"));
    if !has_cr {
        for version in ["3.0", "4.0"] {
            let text = write(&cards, version);
            assert_eq!(parse(text.as_bytes()).ok().as_ref(), Some(&cards), "{text}");
        }
    }
});
