//! What a server offers, read from its EHLO reply (RFC 5321 §4.1.1.1): the
//! first line greets, each further line names an extension and its
//! parameters. Keywords are case-insensitive.

use super::Reply;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// RFC 3207
    pub starttls: bool,
    /// RFC 2920
    pub pipelining: bool,
    /// RFC 1870: None when SIZE is not offered; Some(0) when offered without
    /// a fixed maximum; Some(n) the largest message the server takes.
    pub size: Option<u64>,
    /// RFC 6152
    pub eight_bit_mime: bool,
    /// RFC 6531
    pub smtputf8: bool,
    /// RFC 3030 (BDAT)
    pub chunking: bool,
    /// RFC 3461
    pub dsn: bool,
    /// RFC 4954: the SASL mechanisms offered, upper case.
    pub auth: Vec<String>,
    /// RFC 2034
    pub enhanced_status_codes: bool,
}

impl Capabilities {
    /// From a positive EHLO reply. Unknown extensions are ignored.
    pub fn from_ehlo(reply: &Reply) -> Capabilities {
        let mut caps = Capabilities::default();
        for line in reply.lines().skip(1) {
            let mut words = line.split_ascii_whitespace();
            if let Some(keyword) = words.next() {
                caps.add(&keyword.to_ascii_uppercase(), words);
            }
        }
        caps
    }

    /// Whether AUTH offers `mechanism` (upper case).
    pub fn offers_auth(&self, mechanism: &str) -> bool {
        self.auth.iter().any(|m| m == mechanism)
    }

    fn add<'a>(&mut self, keyword: &'a str, mut params: impl Iterator<Item = &'a str>) {
        match keyword {
            "STARTTLS" => self.starttls = true,
            "PIPELINING" => self.pipelining = true,
            // "SIZE" alone or "SIZE 0": no fixed maximum (RFC 1870 §4).
            "SIZE" => self.size = Some(params.next().and_then(|n| n.parse().ok()).unwrap_or(0)),
            "8BITMIME" => self.eight_bit_mime = true,
            "SMTPUTF8" => self.smtputf8 = true,
            "CHUNKING" => self.chunking = true,
            "DSN" => self.dsn = true,
            "ENHANCEDSTATUSCODES" => self.enhanced_status_codes = true,
            "AUTH" => self.add_auth(params),
            // The pre-standard form some servers still send: "AUTH=LOGIN PLAIN".
            k if k.starts_with("AUTH=") => {
                self.add_auth(std::iter::once(&k[5..]).chain(params));
            }
            _ => {}
        }
    }

    fn add_auth<'a>(&mut self, mechanisms: impl Iterator<Item = &'a str>) {
        for m in mechanisms.map(str::to_ascii_uppercase) {
            if !m.is_empty() && !self.auth.contains(&m) {
                self.auth.push(m);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(lines: &[&str]) -> Capabilities {
        Capabilities::from_ehlo(&Reply::new(250, None, lines.join("\n")))
    }

    #[test]
    fn a_full_reply() {
        let c = caps(&[
            "mx.example.org greets you",
            "PIPELINING",
            "SIZE 35882577",
            "8BITMIME",
            "SMTPUTF8",
            "CHUNKING",
            "DSN",
            "STARTTLS",
            "ENHANCEDSTATUSCODES",
            "AUTH PLAIN LOGIN",
            "X-UNKNOWN 1 2 3",
        ]);
        assert_eq!(
            c,
            Capabilities {
                starttls: true,
                pipelining: true,
                size: Some(35882577),
                eight_bit_mime: true,
                smtputf8: true,
                chunking: true,
                dsn: true,
                auth: vec!["PLAIN".into(), "LOGIN".into()],
                enhanced_status_codes: true,
            }
        );
    }

    #[test]
    fn the_greeting_line_is_not_an_extension() {
        assert_eq!(caps(&["STARTTLS"]), Capabilities::default());
        assert_eq!(caps(&[""]), Capabilities::default());
    }

    #[test]
    fn keywords_are_case_insensitive_and_auth_merges() {
        let c = caps(&[
            "hi",
            "pipelining",
            "auth=login",
            "Auth login cram-md5 plain",
            "size",
        ]);
        assert!(c.pipelining);
        assert_eq!(c.auth, ["LOGIN", "CRAM-MD5", "PLAIN"]);
        assert!(c.offers_auth("PLAIN") && !c.offers_auth("XOAUTH2"));
        assert_eq!(c.size, Some(0), "SIZE without a number: no fixed maximum");
    }

    #[test]
    fn a_bad_size_means_no_known_maximum() {
        assert_eq!(caps(&["hi", "SIZE lots"]).size, Some(0));
        assert_eq!(caps(&["hi", "SIZE 99999999999999999999999"]).size, Some(0));
    }
}
