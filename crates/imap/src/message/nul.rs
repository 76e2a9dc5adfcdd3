//! NUL octets in served content (RFC 9051 §4.3: a literal is CHAR8, which
//! excludes NUL; only a literal8, `~{n}`, may carry it, and only to a client
//! that asked with BINARY, RFC 3516 §4.2). Clients' parsers have crashed on
//! NUL inside an ordinary literal.
//!
//! Our choice (the same as Dovecot's): a message is stored as received, and
//! wherever its octets go out in an ordinary `{n}` literal (BODY[…],
//! RFC822…), each NUL is replaced by [`REPLACEMENT`] — one octet for one, so
//! RFC822.SIZE, BODYSTRUCTURE sizes, partial offsets and every literal
//! length stay exactly what is sent. BINARY[…] still gives the true octets,
//! in a literal8. POP3 does the same (crates/pop3/src/dot.rs).

use std::borrow::Cow;

/// What a NUL is sent as: 0x80 is one octet, not a control character, not
/// a line end, and never a valid UTF-8 sequence on its own, so it cannot be
/// mistaken for text that was there.
pub const REPLACEMENT: u8 = 0x80;

/// `bytes` with every NUL replaced by [`REPLACEMENT`]; borrowed when it has none.
pub fn replace_nul(bytes: &[u8]) -> Cow<'_, [u8]> {
    if !bytes.contains(&0) {
        return Cow::Borrowed(bytes);
    }
    let replaced = bytes
        .iter()
        .map(|&b| if b == 0 { REPLACEMENT } else { b })
        .collect();
    Cow::Owned(replaced)
}

/// The octets of a literal: as they are in a literal8 (`eight`), else with
/// NULs replaced.
pub fn nul_unless(eight: bool, bytes: &[u8]) -> Cow<'_, [u8]> {
    if eight {
        Cow::Borrowed(bytes)
    } else {
        replace_nul(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_octet_for_one() {
        let raw = b"a\0b\0\0c\r\n";
        let out = replace_nul(raw);
        assert_eq!(&*out, b"a\x80b\x80\x80c\r\n");
        assert_eq!(out.len(), raw.len());
        assert!(matches!(replace_nul(b"clean"), Cow::Borrowed(_)));
        assert!(replace_nul(&[0u8; 100]).iter().all(|&b| b == REPLACEMENT));
        assert_eq!(&*nul_unless(true, raw), raw);
        assert_eq!(&*nul_unless(false, raw), &*out);
    }
}
