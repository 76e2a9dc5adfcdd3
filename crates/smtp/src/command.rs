//! Turning one command line into a request or the reply that refuses it.
//! Pure, so it is unit-tested and fuzzed on its own.

use crate::reply::{self, Reply};
use smtp_proto::Request;

/// Parses a command line (without its CR LF). NUL and invalid UTF-8 are
/// refused before the parser sees them (RFC 5321 §2.3.8, RFC 6531 §3.3),
/// and so are numbers too large and repeated parameters (params.rs).
pub fn parse_command(text: &[u8]) -> Result<Request<String>, Reply> {
    if text.contains(&0) || text.contains(&b'\n') {
        return Err(reply::BAD_CHARACTERS);
    }
    let Ok(utf8) = std::str::from_utf8(text) else {
        return Err(reply::BAD_CHARACTERS);
    };
    crate::params::check(utf8)?;
    let mut line = Vec::with_capacity(text.len() + 2);
    line.extend_from_slice(text);
    line.extend_from_slice(b"\r\n");
    Request::parse(&mut line.iter())
        .map(Request::into_owned)
        .map_err(refusal)
        .and_then(|r| bare_postmaster(r, utf8))
}

/// smtp-proto reads `RCPT TO:<Postmaster>` as the empty address, as `<>`:
/// the first must reach the postmaster (RFC 5321 §4.5.1), the second is no
/// recipient at all.
fn bare_postmaster(mut request: Request<String>, line: &str) -> Result<Request<String>, Reply> {
    if let Request::Rcpt { to } = &mut request {
        if to.address.is_empty() {
            let path = line.split_once(':').map_or("", |(_, p)| p.trim_start());
            if path.starts_with("<>") {
                return Err(reply::BAD_ADDRESS);
            }
            to.address = "postmaster".into();
        }
    }
    Ok(request)
}

fn refusal(e: smtp_proto::Error) -> Reply {
    use smtp_proto::Error as E;
    match e {
        E::UnknownCommand => reply::UNKNOWN_COMMAND,
        E::InvalidSenderAddress => reply::BAD_SENDER,
        E::InvalidRecipientAddress => reply::BAD_ADDRESS,
        E::SyntaxError { syntax } => Reply::owned(501, "5.5.4", format!("Syntax: {syntax}")),
        E::InvalidParameter { param } => {
            Reply::owned(501, "5.5.4", format!("Invalid parameter {param}"))
        }
        E::UnsupportedParameter { param } => {
            let shown: String = param.chars().filter(|c| !c.is_control()).take(64).collect();
            Reply::owned(555, "5.5.4", format!("Unsupported parameter {shown}"))
        }
        E::NeedsMoreData { .. } | E::ResponseTooLong | E::InvalidResponse { .. } => {
            Reply::new(501, "5.5.2", "Syntax error")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(line: &[u8]) -> u16 {
        match parse_command(line) {
            Ok(_) => 0,
            Err(r) => r.code,
        }
    }

    #[test]
    fn good_commands() {
        assert!(matches!(
            parse_command(b"EHLO client.example"),
            Ok(Request::Ehlo { .. })
        ));
        assert!(matches!(
            parse_command(b"mail from:<a@b.c> SIZE=100 BODY=8BITMIME"),
            Ok(Request::Mail { .. })
        ));
        assert!(matches!(
            parse_command(b"BDAT 100 LAST"),
            Ok(Request::Bdat {
                chunk_size: 100,
                is_last: true
            })
        ));
        assert!(matches!(
            parse_command("RCPT TO:<ünï@example.org>".as_bytes()),
            Ok(Request::Rcpt { .. })
        ));
    }

    #[test]
    fn bad_commands() {
        assert_eq!(code(b"EHLO a\0b"), 501);
        assert_eq!(code(b"EHLO \xff"), 501);
        assert_eq!(code(b"BDAT abc"), 501);
        assert_eq!(code(b"FROB"), 500);
        assert_eq!(code(b"MAIL FROM:<a@b.c> FOO=bar"), 555);
        assert_eq!(code(b"RCPT TO:"), 501);
        assert_eq!(code(b"MAIL FROM:<a@b.c> SIZE=x"), 501);
        assert_eq!(code(b""), 500);
        assert_eq!(code(b"RCPT TO:<>"), 501);
        assert!(
            matches!(parse_command(b"RCPT TO:<PostMaster>"), Ok(Request::Rcpt { to }) if to.address == "postmaster")
        );
        // smtp-proto would read these as 5 (issue 13 item 2).
        assert_eq!(code(b"BDAT 999999999999999999995"), 501);
        assert_eq!(code(b"MAIL FROM:<a@b.c> SIZE=999999999999999999995"), 501);
        assert_eq!(code(b"MAIL FROM:<a@b.c> BODY=8BITMIME BODY=7BIT"), 501);
    }
}
