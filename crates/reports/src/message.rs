//! The report as mail (RFC 7489 §7.2.1.1): the XML gzip'd as an
//! `application/gzip` attachment named
//! `receiver!policy-domain!begin!end.xml.gz`, a short text part, and the
//! Subject the RFC gives.

use base64::Engine;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;

/// What goes around the report.
pub struct Envelope<'a> {
    /// Our host name (the receiver, and the Message-ID's right side).
    pub receiver: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub policy_domain: &'a str,
    pub report_id: &'a str,
    pub begin: i64,
    pub end: i64,
    /// Date: of the message, Unix seconds.
    pub now: i64,
}

/// §7.2.1.1: the attachment's file name.
pub fn file_name(e: &Envelope<'_>) -> String {
    format!(
        "{}!{}!{}!{}.xml.gz",
        e.receiver, e.policy_domain, e.begin, e.end
    )
}

/// The XML gzip'd (RFC 1952).
pub fn gzip(xml: &str) -> std::io::Result<Vec<u8>> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(xml.as_bytes())?;
    gz.finish()
}

/// The whole message, CRLF line ends.
pub fn render(e: &Envelope<'_>, gzipped: &[u8]) -> Vec<u8> {
    let name = file_name(e);
    let boundary = format!("=_dmarc_{}_{}", e.begin, e.report_id.len());
    let date = time::OffsetDateTime::from_unix_timestamp(e.now)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc2822)
                .ok()
        })
        .unwrap_or_default();
    let mut m = String::with_capacity(gzipped.len() * 4 / 3 + 1024);
    m.push_str(&format!(
        "From: <{}>\r\nTo: <{}>\r\nDate: {date}\r\n",
        e.from, e.to
    ));
    m.push_str(&format!(
        "Subject: Report Domain: {} Submitter: {} Report-ID: <{}>\r\n",
        e.policy_domain, e.receiver, e.report_id
    ));
    m.push_str(&format!(
        "Message-ID: <dmarc.{}.{}@{}>\r\n",
        e.begin, e.policy_domain, e.receiver
    ));
    m.push_str("MIME-Version: 1.0\r\n");
    m.push_str(&format!(
        "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n"
    ));
    m.push_str(&format!(
        "--{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
    ));
    m.push_str(&format!(
        "DMARC aggregate report (RFC 7489) for {} from {}, {} to {} (Unix time).\r\n\r\n",
        e.policy_domain, e.receiver, e.begin, e.end
    ));
    m.push_str(&format!(
        "--{boundary}\r\nContent-Type: application/gzip; name=\"{name}\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"{name}\"\r\n\r\n"
    ));
    let b64 = base64::engine::general_purpose::STANDARD.encode(gzipped);
    for line in b64.as_bytes().chunks(76) {
        m.push_str(std::str::from_utf8(line).unwrap_or_default());
        m.push_str("\r\n");
    }
    m.push_str(&format!("--{boundary}--\r\n"));
    m.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attachment_is_named_and_gunzips_to_the_xml() {
        let e = Envelope {
            receiver: "mx.example.org",
            from: "postmaster@mx.example.org",
            to: "d@example.net",
            policy_domain: "example.net",
            report_id: "1.example.net",
            begin: 0,
            end: 86_400,
            now: 86_401,
        };
        assert_eq!(file_name(&e), "mx.example.org!example.net!0!86400.xml.gz");
        let gz = gzip("<feedback/>").unwrap();
        let m = String::from_utf8(render(&e, &gz)).unwrap();
        assert!(m.contains("Subject: Report Domain: example.net Submitter: mx.example.org Report-ID: <1.example.net>\r\n"));
        assert!(m.contains(
            "Content-Type: application/gzip; name=\"mx.example.org!example.net!0!86400.xml.gz\""
        ));
        let b64: String = m
            .split("filename=\"mx.example.org!example.net!0!86400.xml.gz\"\r\n\r\n")
            .nth(1)
            .unwrap()
            .lines()
            .take_while(|l| !l.starts_with("--"))
            .collect();
        let back = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let mut xml = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&back[..]), &mut xml)
            .unwrap();
        assert_eq!(xml, "<feedback/>");
        assert!(
            m.lines().all(|l| l.len() <= 998),
            "RFC 5322 §2.1.1 line length"
        );
    }
}
