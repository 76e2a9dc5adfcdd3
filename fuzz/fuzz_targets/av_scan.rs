//! The antivirus engine on arbitrary bytes, as a message and as a file,
//! under small limits. Checked: no panic; no more bytes produced than
//! max_scan_bytes (plus the one member that crossed it, itself capped);
//! EICAR appended to any input is found (a find wins over unscannable).
#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_av::{Engine, Limits, Verdict, EICAR};
use std::sync::OnceLock;

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(Engine::builtin)
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_depth: 3,
        max_files: 50,
        max_scan_bytes: 4 << 20,
        max_ratio: 100,
    };
    for r in [
        engine().scan_message(data, &limits),
        engine().scan_file(data, &limits),
    ] {
        assert!(r.bytes_scanned <= 2 * limits.max_scan_bytes + 1);
    }
    let mut with = data.to_vec();
    with.extend_from_slice(b"\r\n\r\n");
    with.extend_from_slice(EICAR);
    let r = engine().scan_file(&with, &limits);
    assert!(matches!(r.verdict, Verdict::Infected { .. }), "{r:?}");
});
