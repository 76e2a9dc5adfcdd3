//! Turning one command line into a command or the reply that refuses it.
//! Pure, so it is unit-tested and fuzzed on its own. Keywords are
//! case-insensitive (RFC 1939 §3); arguments are separated by single spaces,
//! extra ones tolerated, except PASS whose argument is the rest of the line.

use crate::reply::{self, Reply};
use postern_store::Secret;

#[derive(Debug)]
pub enum Command {
    // AUTHORIZATION state (RFC 1939 §4, §7; RFC 2595 §4; RFC 5034 §4).
    User(String),
    Pass(Secret<String>),
    Apop {
        name: String,
        digest: String,
    },
    Auth {
        mechanism: Option<String>,
        initial: Option<String>,
    },
    Stls,
    // Either state.
    Capa,
    Quit,
    Noop,
    // TRANSACTION state (RFC 1939 §5, §7).
    Stat,
    List(Option<u32>),
    Retr(u32),
    Dele(u32),
    Rset,
    Top(u32, u64),
    Uidl(Option<u32>),
}

/// Parses a command line (without its CR LF). NUL and invalid UTF-8 are refused.
pub fn parse_command(text: &[u8]) -> Result<Command, Reply> {
    if text.contains(&0) || text.contains(&b'\r') || text.contains(&b'\n') {
        return Err(reply::BAD_CHARACTERS);
    }
    let line = std::str::from_utf8(text).map_err(|_| reply::BAD_CHARACTERS)?;
    let (keyword, rest) = line.split_once(' ').unwrap_or((line, ""));
    let keyword = keyword.to_ascii_uppercase();
    if keyword == "PASS" {
        // RFC 1939 §7: a server may take spaces as part of the password.
        return Ok(Command::Pass(Secret::new(rest.to_string())));
    }
    let args: Vec<&str> = rest.split_ascii_whitespace().collect();
    match (keyword.as_str(), args.as_slice()) {
        ("USER", [name]) => Ok(Command::User(name.to_string())),
        ("APOP", [name, digest]) => Ok(Command::Apop {
            name: name.to_string(),
            digest: digest.to_string(),
        }),
        ("AUTH", []) => Ok(Command::Auth {
            mechanism: None,
            initial: None,
        }),
        ("AUTH", [mech]) => Ok(auth(mech, None)),
        ("AUTH", [mech, initial]) => Ok(auth(mech, Some(initial))),
        ("STLS", []) => Ok(Command::Stls),
        ("CAPA", []) => Ok(Command::Capa),
        ("QUIT", []) => Ok(Command::Quit),
        ("NOOP", []) => Ok(Command::Noop),
        ("STAT", []) => Ok(Command::Stat),
        ("RSET", []) => Ok(Command::Rset),
        ("LIST", []) => Ok(Command::List(None)),
        ("LIST", [n]) => Ok(Command::List(Some(msg(n)?))),
        ("UIDL", []) => Ok(Command::Uidl(None)),
        ("UIDL", [n]) => Ok(Command::Uidl(Some(msg(n)?))),
        ("RETR", [n]) => Ok(Command::Retr(msg(n)?)),
        ("DELE", [n]) => Ok(Command::Dele(msg(n)?)),
        ("TOP", [n, lines]) => Ok(Command::Top(msg(n)?, count(lines)?)),
        (
            "USER" | "APOP" | "AUTH" | "STLS" | "CAPA" | "QUIT" | "NOOP" | "STAT" | "RSET" | "LIST"
            | "UIDL" | "RETR" | "DELE" | "TOP",
            _,
        ) => Err(reply::SYNTAX),
        _ => Err(reply::UNKNOWN_COMMAND),
    }
}

fn auth(mechanism: &str, initial: Option<&str>) -> Command {
    Command::Auth {
        mechanism: Some(mechanism.to_ascii_uppercase()),
        initial: initial.map(str::to_string),
    }
}

/// A message number: decimal digits (RFC 1939 §3). Numbers too large to name
/// any message are refused as such.
fn msg(arg: &str) -> Result<u32, Reply> {
    if arg.is_empty() || !arg.bytes().all(|b| b.is_ascii_digit()) {
        return Err(reply::BAD_NUMBER);
    }
    arg.parse().map_err(|_| reply::NO_SUCH_MESSAGE)
}

/// TOP's line count: a non-negative number; huge values mean "all lines".
fn count(arg: &str) -> Result<u64, Reply> {
    if arg.is_empty() || !arg.bytes().all(|b| b.is_ascii_digit()) {
        return Err(reply::SYNTAX);
    }
    Ok(arg.parse().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(line: &[u8]) -> Reply {
        parse_command(line).expect_err("should be refused")
    }

    #[test]
    fn good_commands() {
        assert!(
            matches!(parse_command(b"user alice@example.org"), Ok(Command::User(u)) if u == "alice@example.org")
        );
        assert!(
            matches!(parse_command(b"PASS a secret with spaces "), Ok(Command::Pass(p)) if p.expose() == "a secret with spaces ")
        );
        assert!(matches!(parse_command(b"PASS"), Ok(Command::Pass(p)) if p.expose().is_empty()));
        assert!(matches!(parse_command(b"STAT"), Ok(Command::Stat)));
        assert!(matches!(parse_command(b"list"), Ok(Command::List(None))));
        assert!(matches!(
            parse_command(b"LIST 3"),
            Ok(Command::List(Some(3)))
        ));
        assert!(matches!(
            parse_command(b"UIDL 12"),
            Ok(Command::Uidl(Some(12)))
        ));
        assert!(matches!(parse_command(b"RETR 1"), Ok(Command::Retr(1))));
        assert!(matches!(parse_command(b"DELE  2"), Ok(Command::Dele(2))));
        assert!(matches!(parse_command(b"TOP 1 0"), Ok(Command::Top(1, 0))));
        assert!(matches!(
            parse_command(b"TOP 1 99999999999999999999999"),
            Ok(Command::Top(1, u64::MAX))
        ));
        assert!(matches!(parse_command(b"capa"), Ok(Command::Capa)));
        assert!(matches!(parse_command(b"STLS"), Ok(Command::Stls)));
        assert!(matches!(parse_command(b"QUIT"), Ok(Command::Quit)));
        assert!(matches!(
            parse_command(b"APOP mrose c4c9334bac560ecc979e58001b3e22fb"),
            Ok(Command::Apop { name, digest }) if name == "mrose" && digest == "c4c9334bac560ecc979e58001b3e22fb"
        ));
        assert!(matches!(
            parse_command(b"AUTH plain AGEAYg=="),
            Ok(Command::Auth { mechanism: Some(m), initial: Some(i) }) if m == "PLAIN" && i == "AGEAYg=="
        ));
        assert!(matches!(
            parse_command(b"AUTH"),
            Ok(Command::Auth {
                mechanism: None,
                initial: None
            })
        ));
    }

    #[test]
    fn bad_commands() {
        assert_eq!(err(b"FROB"), reply::UNKNOWN_COMMAND);
        assert_eq!(err(b""), reply::UNKNOWN_COMMAND);
        assert_eq!(err(b"LAST"), reply::UNKNOWN_COMMAND);
        assert_eq!(err(b"RETR"), reply::SYNTAX);
        assert_eq!(err(b"RETR 1 2"), reply::SYNTAX);
        assert_eq!(err(b"STAT now"), reply::SYNTAX);
        assert_eq!(err(b"USER"), reply::SYNTAX);
        assert_eq!(err(b"TOP 1"), reply::SYNTAX);
        assert_eq!(err(b"TOP 1 -1"), reply::SYNTAX);
        assert_eq!(err(b"RETR -1"), reply::BAD_NUMBER);
        assert_eq!(err(b"DELE x"), reply::BAD_NUMBER);
        assert_eq!(err(b"DELE +1"), reply::BAD_NUMBER);
        assert_eq!(err(b"RETR 99999999999"), reply::NO_SUCH_MESSAGE);
        assert_eq!(err(b"NOOP\0"), reply::BAD_CHARACTERS);
        assert_eq!(err(b"USER \xff"), reply::BAD_CHARACTERS);
        assert_eq!(err(b"USER a\rb"), reply::BAD_CHARACTERS);
    }

    #[test]
    fn any_bytes_are_a_command_or_a_reply() {
        // A cheap stand-in for the fuzzer: every short input parses or is refused, never panics.
        let alphabet = b"A1 .\xc3\x00PSTLIRE";
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    let _ = parse_command(&[*a, *b, *c]);
                    let _ = parse_command(&[b'T', b'O', b'P', b' ', *a, b' ', *b, *c]);
                }
            }
        }
    }
}
