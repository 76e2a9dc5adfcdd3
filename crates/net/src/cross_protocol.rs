//! Cross-protocol junk (ALPACA, USENIX Security 2021): a browser can be made
//! to send an HTTP request to a mail port, or a TLS client for HTTPS can be
//! redirected to one, so that the mail server's error replies are read as
//! HTTP or the request body's lines are run as commands. Mail sessions close
//! at the first line that is an HTTP request (as Postfix's
//! smtpd_forbidden_commands), and TLS listeners refuse an ALPN offer that
//! names only other protocols (RFC 7301 §3.2, no_application_protocol).

/// HTTP methods a request line may start with (RFC 9110 §9, RFC 5789 PATCH,
/// and `PRI` of the HTTP/2 connection preface, RFC 9113 §3.4).
const METHODS: [&[u8]; 10] = [
    b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"CONNECT", b"OPTIONS", b"TRACE", b"PATCH", b"PRI",
];

/// Bytes of a refused line kept for the security log.
pub const LOGGED_PREFIX: usize = 64;

/// True when `line` (without its CR LF) is an HTTP/1.x request line or the
/// HTTP/2 preface: `METHOD SP target SP HTTP/d.d` (RFC 9112 §3). No SMTP,
/// POP3 or IMAP command has this form (an IMAP tag named like a method would
/// need a command `HTTP/1.1`, which does not exist).
pub fn is_http_request(line: &[u8]) -> bool {
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    METHODS.contains(&method) && !target.is_empty() && is_http_version(version)
}

/// `HTTP/` then digit `.` digit, or a bare digit (`HTTP/2`).
fn is_http_version(v: &[u8]) -> bool {
    match v.strip_prefix(b"HTTP/") {
        Some([d]) => d.is_ascii_digit(),
        Some([a, b'.', b]) => a.is_ascii_digit() && b.is_ascii_digit(),
        _ => false,
    }
}

/// The start of a refused line as it may go into a log: printable ASCII,
/// anything else as `?`, at most [`LOGGED_PREFIX`] bytes.
pub fn loggable(line: &[u8]) -> String {
    let head = &line[..line.len().min(LOGGED_PREFIX)];
    head.iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '?'
            }
        })
        .collect()
}

/// The ALPN protocol IDs (IANA TLS ALPN registry) a mail listener accepts.
/// A client that offers ALPN without one of them is refused in the handshake.
pub fn alpn_ids(protocol: MailProtocol) -> Vec<Vec<u8>> {
    match protocol {
        MailProtocol::Smtp => vec![b"smtp".to_vec()],
        MailProtocol::Imap => vec![b"imap".to_vec()],
        MailProtocol::Pop3 => vec![b"pop3".to_vec()],
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailProtocol {
    Smtp,
    Imap,
    Pop3,
}

/// The security log's `reason` for a refused ALPN offer.
pub const ALPN_REASON: &str = "TLS ALPN offer names another protocol";
/// The security log's `reason` for an HTTP request line.
pub const HTTP_REASON: &str = "HTTP request on a mail port";
/// The security log's `event` for both.
pub const EVENT: &str = "cross-protocol";

/// True when a failed TLS handshake failed because the client's ALPN offer
/// named none of our protocols (rustls answers no_application_protocol).
pub fn is_alpn_refusal(e: &std::io::Error) -> bool {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|e| *e == rustls::Error::NoApplicationProtocol)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_request_lines_are_recognised() {
        for line in [
            &b"GET / HTTP/1.1"[..],
            b"POST /form HTTP/1.0",
            b"CONNECT mx.example.org:25 HTTP/1.1",
            b"OPTIONS * HTTP/1.1",
            b"PRI * HTTP/2.0",
            b"HEAD /x HTTP/2",
        ] {
            assert!(is_http_request(line), "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn mail_commands_are_not() {
        for line in [
            &b"EHLO client.example"[..],
            b"MAIL FROM:<a@b> BODY=8BITMIME",
            b"a1 LOGIN user pass",
            b"GET INBOX HTTP",
            b"get / http/1.1",
            b"GET  HTTP/1.1",
            b"GET / HTTP/1.1 extra",
            b"POST / HTTP/x.1",
            b"USER alice",
            b"",
        ] {
            assert!(!is_http_request(line), "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn logged_prefix_is_bounded_and_printable() {
        assert_eq!(loggable(b"GET /\x00\xff HTTP/1.1"), "GET /?? HTTP/1.1");
        assert_eq!(loggable(&[b'a'; 200]).len(), LOGGED_PREFIX);
    }

    #[test]
    fn only_no_application_protocol_is_an_alpn_refusal() {
        let alpn = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::NoApplicationProtocol,
        );
        assert!(is_alpn_refusal(&alpn));
        let other =
            std::io::Error::new(std::io::ErrorKind::InvalidData, rustls::Error::DecryptError);
        assert!(!is_alpn_refusal(&other));
        assert!(!is_alpn_refusal(&std::io::Error::other("x")));
    }
}
