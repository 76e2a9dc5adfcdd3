//! SRS reversal (postern-directory's srs.rs) on arbitrary RCPT local parts: it
//! never panics, and whatever it accepts was made by `forward` with the same
//! key, the same day stamp and the same original address — so a bounce can
//! only ever reach an address we forwarded from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_directory::srs::{forward, reverse};

const KEY: &[u8] = b"fuzzing key, fuzzing key, fuzzin";

fuzz_target!(|data: &[u8]| {
    let Some((day, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let day = u16::from_le_bytes(*day) as u32 + 20_000;
    let Ok(local) = std::str::from_utf8(rest) else {
        return;
    };
    if let Ok(original) = reverse(KEY, local, day) {
        // Accepted: the address is what forward makes of `original`, up to case.
        let (_, made) = (0..=postern_directory::srs::MAX_AGE_DAYS)
            .map(|age| forward(KEY, &original, "example.org", day - age))
            .map(|a| a.rsplit_once('@').map(|(l, _)| l.to_string()).unwrap_or_default())
            .enumerate()
            .find(|(_, l)| l.eq_ignore_ascii_case(local))
            .expect("a reversed address is one forward made");
        assert!(!made.is_empty());
    }
    // Whatever forward makes reverses to its input.
    let a = forward(KEY, local, "example.org", day);
    if let Some((l, d)) = local.rsplit_once('@') {
        if !l.is_empty() && !d.is_empty() && !d.contains('=') {
            let back = reverse(KEY, a.rsplit_once('@').unwrap().0, day);
            assert_eq!(back.as_deref(), Ok(local));
        }
    }
});
