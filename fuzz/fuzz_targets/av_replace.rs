//! Part replacement (`av.action = "replace"`, issue 17 item 4) on arbitrary
//! bytes (the first byte picks the leaf). Checked: no panic, on the input
//! and again on the output (a replaced message is replaced again).
#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_av::replace::replace_parts;
use postern_spam::mime;

fn leaves(raw: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    mime::walk(raw, |p| {
        if let Some(b) = p.body {
            out.push((p.content_type.mime, b.to_vec()));
        }
    });
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, raw)) = data.split_first() else {
        return;
    };
    let before = leaves(raw);
    let target = pick as usize % (before.len() + 1);
    let out = replace_parts(raw, &[(target, "REPLACED-BY-FUZZ".into())]);
    let _ = replace_parts(&out, &[(target, "REPLACED-BY-FUZZ".into())]);
});
