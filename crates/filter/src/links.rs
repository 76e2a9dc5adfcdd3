//! The domains a message links to (for URIBLs, RFC 5782 §2.2): the hosts of
//! `http://` and `https://` links in its text parts (text/plain and
//! text/html, transfer encoding undone), as registered domains (the Public
//! Suffix List, orgdomain.rs), distinct, in order met. Bounded: at most
//! [`MAX_LINK_DOMAINS`] domains, [`MAX_LINK_BYTES`] of text looked at, and
//! the MIME walk's own bounds (postern_spam::mime).

use crate::orgdomain::org_domain;
use mail_parser::decoders::{base64::base64_decode, quoted_printable::quoted_printable_decode};
use std::net::IpAddr;

/// Distinct domains asked about per message (each is one query per list).
pub const MAX_LINK_DOMAINS: usize = 20;
/// Decoded text searched for links per message, over all parts.
pub const MAX_LINK_BYTES: usize = 1024 * 1024;
/// Longest host name read from a link (RFC 1035 §2.3.4: 253 octets).
const MAX_HOST: usize = 253;

/// The registered domains linked to, at most `MAX_LINK_DOMAINS`.
pub fn link_domains(raw: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut budget = MAX_LINK_BYTES;
    postern_spam::mime::walk(raw, |part| {
        let Some(body) = part.body else { return };
        let mime = part.content_type.mime.as_str();
        if !mime.starts_with("text/") || budget == 0 || out.len() >= MAX_LINK_DOMAINS {
            return;
        }
        let body = &body[..body.len().min(budget)];
        budget -= body.len();
        let decoded = match part.encoding().as_str() {
            "base64" => base64_decode(body),
            "quoted-printable" => quoted_printable_decode(body),
            _ => None,
        };
        let text = decoded.as_deref().unwrap_or(body);
        domains_in(text, &mut out);
    });
    out
}

/// Adds the registered domains of the links in `text` to `out`, up to the bound.
pub fn domains_in(text: &[u8], out: &mut Vec<String>) {
    let mut at = 0;
    while out.len() < MAX_LINK_DOMAINS {
        let Some(found) = find_scheme(&text[at..]) else {
            return;
        };
        let start = at + found;
        let host_at = start
            + if text[start + 4].eq_ignore_ascii_case(&b's') {
                8
            } else {
                7
            };
        at = host_at;
        if let Some(domain) = host(&text[host_at..]).and_then(registered) {
            if !out.contains(&domain) {
                out.push(domain);
            }
        }
    }
}

/// Where the next `http://` or `https://` (any case) starts.
fn find_scheme(text: &[u8]) -> Option<usize> {
    let lower = |i: usize, s: &[u8]| {
        text.get(i..i + s.len())
            .is_some_and(|t| t.eq_ignore_ascii_case(s))
    };
    (0..text.len()).find(|&i| lower(i, b"http://") || lower(i, b"https://"))
}

/// The host of a link after its scheme: up to `/ ? # :` or anything not in
/// a host name; user info (`user@`) skipped.
fn host(rest: &[u8]) -> Option<String> {
    let end = rest
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || b"-.@_".contains(b)))
        .unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = match authority.iter().rposition(|&b| b == b'@') {
        Some(i) => &authority[i + 1..],
        None => authority,
    };
    let host = std::str::from_utf8(host).ok()?.trim_end_matches('.');
    if host.is_empty() || host.len() > MAX_HOST || !host.contains('.') {
        return None;
    }
    Some(host.to_ascii_lowercase())
}

/// The registered domain of a host name; None for an address literal or a
/// name with an empty label (not a domain a URIBL lists).
fn registered(host: String) -> Option<String> {
    if host.parse::<IpAddr>().is_ok() || host.split('.').any(str::is_empty) {
        return None;
    }
    Some(org_domain(&host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_links_become_registered_domains() {
        let raw = b"From: a@b.example\r\nContent-Type: text/html\r\n\r\n<a href=\"HTTPS://www.Bad.co.uk/x?y\">x</a> http://user@evil.example:8080/ http://192.0.2.1/ https://bad.co.uk/again ftp://no.example/ http://ok.example";
        assert_eq!(
            link_domains(raw),
            ["bad.co.uk", "evil.example", "ok.example"]
        );
    }

    #[test]
    fn encoded_parts_are_decoded() {
        let raw = b"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nsee http://qp.exa=\r\nmple/=3D\r\n--b\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\nPGEgaHJlZj0iaHR0cDovL2I2NC5leGFtcGxlLyI+\r\n--b--\r\n";
        assert_eq!(link_domains(raw), ["qp.example", "b64.example"]);
    }

    #[test]
    fn domain_count_bound_is_crossed() {
        let links: String = (0..MAX_LINK_DOMAINS + 5)
            .map(|i| format!("http://d{i}.example/ http://d{i}.example/again\r\n"))
            .collect();
        let raw = format!("Content-Type: text/plain\r\n\r\n{links}");
        let got = link_domains(raw.as_bytes());
        assert_eq!(got.len(), MAX_LINK_DOMAINS);
        assert_eq!(
            got[MAX_LINK_DOMAINS - 1],
            format!("d{}.example", MAX_LINK_DOMAINS - 1)
        );
    }

    #[test]
    fn text_bound_is_crossed() {
        // A link past MAX_LINK_BYTES of text is not looked at.
        let pad = "x".repeat(MAX_LINK_BYTES);
        let raw =
            format!("Content-Type: text/plain\r\n\r\nhttp://in.example/ {pad} http://out.example/");
        assert_eq!(link_domains(raw.as_bytes()), ["in.example"]);
        // Attachments are not text.
        let raw = b"Content-Type: application/pdf\r\n\r\nhttp://pdf.example/";
        assert!(link_domains(raw).is_empty());
    }
}
