//! Signing (RFC 6376 §5): one DKIM-Signature per key, relaxed/relaxed
//! (§3.4.2, §3.4.4), rsa-sha256 or ed25519-sha256 (RFC 8463). The message
//! is read once, in blocks; only its header block is held in memory.
//!
//! Signed fields: those of §5.4.1's list the message has, every instance,
//! and From once more than it has (§5.4.2 over-signing): nobody can add a
//! second From that the signature would still cover.

use crate::keys::Algorithm;
use crate::DkimError;
use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256, SigningKey};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{Canonicalization, DkimSigner, DkimSigningStream, Done, Signature};
use postern_directory::DkimPrivateKey;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs1KeyDer};
use std::io::Read;

/// RFC 6376 §5.4.1: the fields a signature should cover, when present.
pub const SIGNED_FIELDS: &[&str] = &[
    "From",
    "Reply-To",
    "Subject",
    "Date",
    "To",
    "Cc",
    "Resent-Date",
    "Resent-From",
    "Resent-To",
    "Resent-Cc",
    "In-Reply-To",
    "References",
    "List-Id",
    "List-Help",
    "List-Unsubscribe",
    "List-Subscribe",
    "List-Post",
    "List-Owner",
    "List-Archive",
    "List-Unsubscribe-Post",
    "Message-ID",
    "Sender",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-ID",
    "Content-Description",
];

/// Read from the message at a time.
const READ_BLOCK: usize = 64 * 1024;

/// A key ready to sign with.
pub enum Key {
    Rsa(DkimSigner<RsaKey<Sha256>, Done>),
    Ed25519(DkimSigner<Ed25519Key, Done>),
}

/// One signing stream, whatever its key type.
trait Stream {
    fn feed(&mut self, chunk: &[u8]);
    fn end(self: Box<Self>) -> mail_auth::Result<Signature>;
}

impl<T: SigningKey> Stream for DkimSigningStream<'_, T> {
    fn feed(&mut self, chunk: &[u8]) {
        self.write(chunk)
    }
    fn end(self: Box<Self>) -> mail_auth::Result<Signature> {
        self.finish()
    }
}

impl Key {
    /// Opens a stored key for `domain`, to sign the fields named in `fields`.
    pub fn open(
        domain: &str,
        stored: &DkimPrivateKey,
        fields: &[String],
    ) -> Result<Key, DkimError> {
        let bad = |reason: String| DkimError::Key {
            domain: domain.to_string(),
            selector: stored.selector.clone(),
            reason,
        };
        let der = stored.private_key.expose();
        let key = match Algorithm::parse(&stored.algorithm) {
            Some(Algorithm::Rsa) => {
                let der = PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der.as_slice()));
                let k = RsaKey::<Sha256>::from_key_der(der).map_err(|e| bad(e.to_string()))?;
                Key::Rsa(configure(
                    DkimSigner::from_key(k),
                    domain,
                    &stored.selector,
                    fields,
                ))
            }
            Some(Algorithm::Ed25519) => {
                let k = Ed25519Key::from_pkcs8_der(der).map_err(|e| bad(e.to_string()))?;
                Key::Ed25519(configure(
                    DkimSigner::from_key(k),
                    domain,
                    &stored.selector,
                    fields,
                ))
            }
            None => return Err(bad(format!("unknown algorithm {}", stored.algorithm))),
        };
        Ok(key)
    }

    fn stream(&self) -> Box<dyn Stream + '_> {
        match self {
            Key::Rsa(s) => Box::new(s.sign_streaming()),
            Key::Ed25519(s) => Box::new(s.sign_streaming()),
        }
    }
}

fn configure<T: SigningKey>(
    signer: mail_auth::dkim::DkimSigner<T, mail_auth::dkim::NeedDomain>,
    domain: &str,
    selector: &str,
    fields: &[String],
) -> DkimSigner<T, Done> {
    signer
        .domain(domain)
        .selector(selector)
        .headers(fields.iter().cloned())
        .header_canonicalization(Canonicalization::Relaxed)
        .body_canonicalization(Canonicalization::Relaxed)
}

/// The `h=` list for a header block: the fields of [`SIGNED_FIELDS`] it has,
/// then From once more. (mail-auth signs every instance of a listed field and
/// lists a field it did not find once more at the end: the second From.)
pub fn fields_to_sign(header: &[u8]) -> Vec<String> {
    let present = field_names(header);
    let mut fields: Vec<String> = SIGNED_FIELDS
        .iter()
        .filter(|f| present.iter().any(|p| p.eq_ignore_ascii_case(f)))
        .map(|f| f.to_string())
        .collect();
    if !fields.iter().any(|f| f == "From") {
        fields.insert(0, "From".into());
    }
    fields.push("From".into());
    fields
}

/// The names of the header fields in a header block (RFC 5322 §2.2).
fn field_names(header: &[u8]) -> Vec<String> {
    header
        .split(|b| *b == b'\n')
        .take_while(|l| !l.is_empty() && *l != b"\r")
        .filter(|l| !l.starts_with(b" ") && !l.starts_with(b"\t"))
        .filter_map(|l| {
            let colon = l.iter().position(|b| *b == b':')?;
            std::str::from_utf8(&l[..colon])
                .ok()
                .map(|n| n.trim().to_string())
        })
        .collect()
}

/// Reads `message` up to the end of its header block (or `limit` octets).
pub fn read_header(message: &mut impl Read, limit: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(8192);
    let mut block = vec![0u8; 8192];
    while buf.len() < limit {
        let n = message.read(&mut block)?;
        if n == 0 {
            break;
        }
        // Only the new octets (and three before them) can complete the blank line.
        let from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&block[..n]);
        if buf.starts_with(b"\r\n") || buf[from..].windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    Ok(buf)
}

/// Signs the message whose first octets are `start` (already read) and the
/// rest `message`, with every key; returns the DKIM-Signature fields to put
/// before it, CRLF-terminated, in key order.
pub fn sign(keys: &[Key], start: &[u8], message: &mut impl Read) -> Result<Vec<u8>, DkimError> {
    let mut streams: Vec<_> = keys.iter().map(Key::stream).collect();
    streams.iter_mut().for_each(|s| s.feed(start));
    let mut block = vec![0u8; READ_BLOCK];
    loop {
        let n = message.read(&mut block)?;
        if n == 0 {
            break;
        }
        streams.iter_mut().for_each(|s| s.feed(&block[..n]));
    }
    let mut out = Vec::new();
    for s in streams {
        let signature = s.end().map_err(|e| DkimError::Sign(e.to_string()))?;
        out.extend_from_slice(signature.to_header().as_bytes());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_read_to_its_blank_line_or_the_limit() {
        let msg = b"A: 1\r\nB: 2\r\n\r\nbody";
        let mut r = &msg[..];
        assert_eq!(read_header(&mut r, 1 << 20).unwrap(), msg);
        let big = vec![b'x'; 100_000];
        assert_eq!(read_header(&mut &big[..], 20_000).unwrap().len(), 24_576);
        assert_eq!(
            read_header(&mut &b"\r\nbody"[..], 100).unwrap(),
            b"\r\nbody"
        );
    }

    #[test]
    fn fields_to_sign_are_those_present_and_from_once_more() {
        let header = b"Received: x\r\nfrom: a@b\r\nSubject: s\r\n folded\r\nX-Mailer: y\r\n\r\n";
        assert_eq!(fields_to_sign(header), ["From", "Subject", "From"]);
        assert_eq!(
            fields_to_sign(b"Subject: s\r\n\r\n"),
            ["From", "Subject", "From"]
        );
    }
}
