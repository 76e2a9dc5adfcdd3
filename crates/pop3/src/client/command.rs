//! Commands as the client sends them (RFC 1939 §5–7, RFC 2595 §4), each a
//! line ending CR LF. Arguments come from the account settings; a CR or LF
//! in one would smuggle a second command, so they are refused.

use postern_sasl::Secret;

/// A command line, or why it cannot be sent.
pub fn line(verb: &str, args: &[&str]) -> Result<Vec<u8>, &'static str> {
    let mut out = verb.as_bytes().to_vec();
    for a in args {
        if a.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err("an argument holds a line break");
        }
        out.push(b' ');
        out.extend_from_slice(a.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    Ok(out)
}

/// The greeting's APOP timestamp (RFC 1939 §7: a msg-id, `<...>`).
pub fn apop_timestamp(greeting: &str) -> Option<&str> {
    let start = greeting.find('<')?;
    let len = greeting[start..].find('>')?;
    Some(&greeting[start..=start + len])
}

/// `APOP name digest` for the greeting's timestamp.
pub fn apop(
    user: &str,
    timestamp: &str,
    password: &Secret<String>,
) -> Result<Vec<u8>, &'static str> {
    let digest = postern_sasl::apop::digest(timestamp, password.expose());
    line("APOP", &[user, &digest])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_smuggling() {
        assert_eq!(line("RETR", &["3"]).unwrap(), b"RETR 3\r\n");
        assert_eq!(line("QUIT", &[]).unwrap(), b"QUIT\r\n");
        assert!(line("USER", &["a\r\nDELE 1"]).is_err());
    }

    #[test]
    fn apop_follows_rfc_1939_example() {
        // RFC 1939 §7's example.
        let ts = apop_timestamp("POP3 server ready <1896.697170952@dbc.mtview.ca.us>").unwrap();
        assert_eq!(ts, "<1896.697170952@dbc.mtview.ca.us>");
        let cmd = apop("mrose", ts, &Secret::new("tanstaaf".to_string())).unwrap();
        assert_eq!(cmd, b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n");
        assert_eq!(apop_timestamp("+OK ready"), None);
    }
}
