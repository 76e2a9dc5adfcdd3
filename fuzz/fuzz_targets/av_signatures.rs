//! ClamAV-format databases from arbitrary bytes: the first byte picks the
//! file kind (hdb, ndb, fp, cvd), the rest is its content. Checked: loading
//! never panics, and a set that loads can scan its own bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_av::{Builder, Limits};

fuzz_target!(|data: &[u8]| {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    let name = ["x.hdb", "x.ndb", "x.fp", "x.cvd"][kind as usize % 4];
    let mut b = Builder::default();
    if b.add(name, body).is_err() {
        return;
    }
    if let Ok(engine) = b.build() {
        let _ = engine.scan_file(body, &Limits::default());
    }
});
