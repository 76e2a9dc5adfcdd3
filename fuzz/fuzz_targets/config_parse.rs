//! `Config::parse` on arbitrary UTF-8 never panics. `edit::set_in_text` with
//! text, key and value taken from the input (split at NUL bytes) never panics,
//! and what it returns always parses: a `postern config set` can never leave a
//! file the server refuses to start with.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_config::{edit, Config};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else { return };
    let _ = Config::parse(input);

    let mut parts = input.splitn(3, '\0');
    let text = parts.next().unwrap_or("");
    let key = parts.next().unwrap_or("");
    let value = parts.next().unwrap_or("");
    if let Ok(out) = edit::set_in_text(text, key, value) {
        if let Err(e) = Config::parse(&out) {
            panic!("set_in_text({text:?}, {key:?}, {value:?}) gave text that does not parse: {e}\n{out}");
        }
    }
});
