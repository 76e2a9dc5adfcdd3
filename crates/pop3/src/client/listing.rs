//! The data of UIDL and LIST replies (RFC 1939 §5, §7): one `msg value` a
//! line. A unique-id is 1 to 70 octets in 0x21..0x7E.

/// Longest unique-id (RFC 1939 §7).
pub const MAX_UIDL: usize = 70;

/// `(message number, value)` pairs; an error names the first bad line.
pub fn pairs(data: &[u8]) -> Result<Vec<(u32, String)>, String> {
    let text = String::from_utf8_lossy(data);
    let mut out = Vec::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        let mut words = line.split_ascii_whitespace();
        let (Some(n), Some(v)) = (words.next(), words.next()) else {
            return Err(format!("bad listing line {line:?}"));
        };
        let n = n
            .parse()
            .map_err(|_| format!("bad message number in {line:?}"))?;
        out.push((n, v.to_string()));
    }
    Ok(out)
}

/// RFC 1939 §7: 1–70 characters 0x21 to 0x7E.
pub fn valid_uidl(u: &str) -> bool {
    (1..=MAX_UIDL).contains(&u.len()) && u.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairs() {
        let got = pairs(b"1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n").unwrap();
        assert_eq!(got[1], (2, "QhdPYR:00WBw1Ph7x7".to_string()));
        assert!(pairs(b"x 1\r\n").is_err());
        assert!(pairs(b"1\r\n").is_err());
    }

    #[test]
    fn a_uidl_crossing_max_uidl_is_invalid() {
        assert!(valid_uidl(&"a".repeat(MAX_UIDL)));
        assert!(!valid_uidl(&"a".repeat(MAX_UIDL + 1)));
        assert!(!valid_uidl(""));
        assert!(!valid_uidl("a b"));
    }
}
