//! ENVELOPE strings for clients that cannot take UTF-8 (RFC 6855 §3: until
//! a client enables UTF8=ACCEPT — or IMAP4rev2 — the server must not send it
//! 8-bit header text). A string with 8-bit octets is sent as RFC 2047
//! encoded words (`=?UTF-8?B?…?=`), which IMAP4rev1 clients decode as they
//! do any encoded header. Header octets that are not UTF-8 are taken as
//! UTF-8 with U+FFFD for what does not decode: the charset is unknown, and a
//! replacement character is better than a false label.

use super::fields::nstring;
use base64::Engine;
use imap_codec::imap_types::core::NString;
use imap_codec::imap_types::envelope::{Address, Envelope};

/// RFC 2047 §2: an encoded word is at most 75 characters.
const MAX_WORD: usize = 75;
const PREFIX: &str = "=?UTF-8?B?";
const SUFFIX: &str = "?=";
/// Octets per word: the most whose base64 fits in [`MAX_WORD`].
const OCTETS_PER_WORD: usize = (MAX_WORD - PREFIX.len() - SUFFIX.len()) / 4 * 3;

/// The envelope with every string that holds 8-bit octets as encoded words.
pub fn ascii_envelope(env: Envelope<'static>) -> Envelope<'static> {
    let list = |v: Vec<Address<'static>>| v.into_iter().map(ascii_address).collect();
    Envelope {
        date: ascii(env.date),
        subject: ascii(env.subject),
        from: list(env.from),
        sender: list(env.sender),
        reply_to: list(env.reply_to),
        to: list(env.to),
        cc: list(env.cc),
        bcc: list(env.bcc),
        in_reply_to: ascii(env.in_reply_to),
        message_id: ascii(env.message_id),
    }
}

/// An address with an 8-bit display name encoded (RFC 2047 §5 (3)). An
/// 8-bit mailbox or host (an internationalised address, RFC 6532) has no
/// 7-bit form; it is encoded the same way, so the client at least shows it.
fn ascii_address(a: Address<'static>) -> Address<'static> {
    Address {
        name: ascii(a.name),
        adl: ascii(a.adl),
        mailbox: ascii(a.mailbox),
        host: ascii(a.host),
    }
}

fn ascii(s: NString<'static>) -> NString<'static> {
    match &s.0 {
        Some(v) if !v.as_ref().is_ascii() => nstring(Some(encode_words(v.as_ref()).into_bytes())),
        _ => s,
    }
}

/// `text` as RFC 2047 "B" encoded words of at most 75 characters, split
/// between characters (§5: a word holds whole characters) and joined by a
/// space, which decoders drop between adjacent encoded words (§6.2).
pub fn encode_words(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    let mut words = Vec::new();
    let mut rest: &str = &text;
    while !rest.is_empty() {
        let mut cut = rest.len().min(OCTETS_PER_WORD);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (word, tail) = rest.split_at(cut);
        let b64 = base64::engine::general_purpose::STANDARD.encode(word);
        words.push(format!("{PREFIX}{b64}{SUFFIX}"));
        rest = tail;
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(words: &str) -> String {
        let mut out = Vec::new();
        for w in words.split(' ') {
            assert!(w.len() <= MAX_WORD, "{w}");
            let b64 = w
                .strip_prefix(PREFIX)
                .unwrap()
                .strip_suffix(SUFFIX)
                .unwrap();
            out.extend(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap(),
            );
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn words_are_short_and_hold_whole_characters() {
        assert_eq!(encode_words("Grüße".as_bytes()), "=?UTF-8?B?R3LDvMOfZQ==?=");
        let long = "日本語のメール件名はとても長くなることがあります。".repeat(3);
        let enc = encode_words(long.as_bytes());
        assert!(enc.split(' ').count() > 1);
        assert_eq!(decode(&enc), long);
        assert_eq!(decode(&encode_words(b"caf\xe9")), "caf\u{FFFD}");
    }

    #[test]
    fn only_eight_bit_strings_change() {
        let header = "Subject: Grüße\r\nFrom: Jörg <j@example.org>\r\nTo: plain <p@example.org>\r\nDate: Mon, 7 Dec 2026 00:00:00 +0000\r\n\r\n";
        let env = ascii_envelope(super::super::envelope::envelope(header.as_bytes()));
        let wire = crate::session::encode_envelope(env);
        assert!(wire.is_ascii(), "{}", String::from_utf8_lossy(&wire));
        let wire = String::from_utf8(wire).unwrap();
        assert!(wire.contains("\"=?UTF-8?B?R3LDvMOfZQ==?=\""), "{wire}");
        assert!(
            wire.contains(&format!(
                "(\"{}\" NIL \"j\" \"example.org\")",
                encode_words("Jörg".as_bytes())
            )),
            "{wire}"
        );
        assert!(
            wire.contains("(\"plain\" NIL \"p\" \"example.org\")"),
            "{wire}"
        );
    }
}
