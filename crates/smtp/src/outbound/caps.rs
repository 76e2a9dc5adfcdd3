//! What the peer's EHLO reply offers (RFC 5321 §4.1.1.1: keyword and parameters per line).

use super::Reply;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub starttls: bool,
    pub pipelining: bool,
    /// SIZE's limit; Some(0) = no fixed limit (RFC 1870 §4).
    pub size: Option<u64>,
    pub eight_bit_mime: bool,
    pub smtputf8: bool,
    pub chunking: bool,
    pub dsn: bool,
    /// AUTH mechanisms, uppercase.
    pub auth: Vec<String>,
    pub enhanced_status_codes: bool,
}

impl Capabilities {
    pub fn parse(ehlo: &Reply) -> Capabilities {
        let mut c = Capabilities::default();
        for line in ehlo.lines().skip(1) {
            let mut words = line.split_ascii_whitespace();
            let Some(keyword) = words.next() else { continue };
            match keyword.to_ascii_uppercase().as_str() {
                "STARTTLS" => c.starttls = true,
                "PIPELINING" => c.pipelining = true,
                "SIZE" => c.size = Some(words.next().and_then(|n| n.parse().ok()).unwrap_or(0)),
                "8BITMIME" => c.eight_bit_mime = true,
                "SMTPUTF8" => c.smtputf8 = true,
                "CHUNKING" => c.chunking = true,
                "DSN" => c.dsn = true,
                "ENHANCEDSTATUSCODES" => c.enhanced_status_codes = true,
                "AUTH" => c.auth.extend(words.map(|m| m.to_ascii_uppercase())),
                _ => {}
            }
        }
        c
    }
}
