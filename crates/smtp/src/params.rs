//! What smtp-proto lets through and we refuse before it parses a line:
//! numbers too large for 64 bits (its parser saturates, then starts again
//! from the next digit, so `BDAT 999999999999999999995` reads as a 5-octet
//! chunk and `SIZE=999…995` as 5) and a parameter given twice (it ORs the
//! flags of two `BODY=`). Pure; unit-tested beside the command parser.

use crate::reply::Reply;

/// A number that does not fit in 64 bits; nothing about the session changes.
pub const NUMBER_TOO_LARGE: Reply = Reply::new(501, "5.5.4", "Number too large");

/// MAIL and RCPT parameters whose value is a number (RFC 1870 SIZE, RFC 4865 HOLDFOR/HOLDUNTIL).
const NUMERIC_PARAMS: [&str; 3] = ["SIZE", "HOLDFOR", "HOLDUNTIL"];

/// Refuses a command line whose numbers overflow or whose parameters repeat.
pub fn check(line: &str) -> Result<(), Reply> {
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    if verb.eq_ignore_ascii_case("BDAT") {
        // RFC 3030 §2: bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ].
        let size = rest.trim_start().split(' ').next().unwrap_or("");
        return number(size);
    }
    if !(verb.eq_ignore_ascii_case("MAIL") || verb.eq_ignore_ascii_case("RCPT")) {
        return Ok(());
    }
    let mut seen: Vec<String> = Vec::new();
    for param in parameters(rest).split(' ').filter(|p| !p.is_empty()) {
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        let key = key.to_ascii_uppercase();
        if seen.contains(&key) {
            // RFC 5321 §4.1.2: each esmtp-keyword once; a repeat is ambiguous.
            let shown: String = key.chars().filter(|c| !c.is_control()).take(32).collect();
            return Err(Reply::owned(
                501,
                "5.5.4",
                format!("Duplicate parameter {shown}"),
            ));
        }
        if NUMERIC_PARAMS.contains(&key.as_str()) {
            number(value)?;
        }
        seen.push(key);
    }
    Ok(())
}

/// Digits that do not fit in a u64 are refused; anything else is left to the parser.
fn number(text: &str) -> Result<(), Reply> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    match text.parse::<u64>() {
        Ok(_) => Ok(()),
        Err(_) => Err(NUMBER_TOO_LARGE),
    }
}

/// The text after MAIL FROM:<path> or RCPT TO:<path>: the path ends at the
/// `>` that is not inside a quoted string (RFC 5321 §4.1.2 Quoted-string).
fn parameters(rest: &str) -> &str {
    let Some(open) = rest.find('<') else {
        // No angle brackets: the parser decides; the first word is the path.
        return rest.trim_start().split_once(' ').map_or("", |(_, p)| p);
    };
    let (mut quoted, mut escaped) = (false, false);
    for (i, c) in rest[open..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '>' if !quoted => return &rest[open + i + 1..],
            _ => {}
        }
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_past_64_bits_are_refused() {
        assert_eq!(check("BDAT 999999999999999999995"), Err(NUMBER_TOO_LARGE));
        assert_eq!(
            check("bdat 99999999999999999990 LAST"),
            Err(NUMBER_TOO_LARGE)
        );
        assert_eq!(
            check("MAIL FROM:<a@b.c> SIZE=999999999999999999995"),
            Err(NUMBER_TOO_LARGE)
        );
        assert_eq!(
            check("MAIL FROM:<a@b.c> size=18446744073709551616"),
            Err(NUMBER_TOO_LARGE)
        );
        // The largest u64 and leading zeros still parse (the limits judge them).
        assert_eq!(check("BDAT 18446744073709551615"), Ok(()));
        assert_eq!(check("BDAT 000000000000000000000005 LAST"), Ok(()));
        assert_eq!(check("MAIL FROM:<a@b.c> SIZE=18446744073709551615"), Ok(()));
        // Digits elsewhere are not numbers.
        assert_eq!(
            check("MAIL FROM:<999999999999999999999999@b.c> ENVID=999999999999999999999999"),
            Ok(())
        );
        assert_eq!(check("BDAT abc"), Ok(()));
    }

    #[test]
    fn a_parameter_given_twice_is_refused() {
        let r = check("MAIL FROM:<a@b.c> BODY=8BITMIME body=7BIT").unwrap_err();
        assert_eq!(
            (r.code, r.enhanced, &*r.text),
            (501, "5.5.4", "Duplicate parameter BODY")
        );
        assert!(check("MAIL FROM:<a@b.c> SIZE=1 SIZE=2").is_err());
        assert!(check("RCPT TO:<a@b.c> NOTIFY=NEVER NOTIFY=SUCCESS").is_err());
        assert!(check("MAIL FROM:<a@b.c> SMTPUTF8 SMTPUTF8").is_err());
        assert_eq!(
            check("MAIL FROM:<a@b.c> BODY=8BITMIME SIZE=1 SMTPUTF8"),
            Ok(())
        );
    }

    #[test]
    fn the_path_ends_outside_quotes() {
        assert_eq!(parameters(":<\"a> b\"@c.d> SIZE=1"), " SIZE=1");
        assert_eq!(parameters(":<\"a\\\" >x\"@c.d> BODY=7BIT"), " BODY=7BIT");
        assert_eq!(parameters(":<a@b.c>"), "");
        assert_eq!(parameters(":a@b.c SIZE=2"), "SIZE=2");
        assert_eq!(parameters(":<unterminated"), "");
        assert_eq!(check("MAIL FROM:<\"x BODY=7BIT\"@c.d> BODY=7BIT"), Ok(()));
    }
}
