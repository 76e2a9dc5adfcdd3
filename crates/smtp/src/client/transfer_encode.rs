//! Content-Transfer-Encodings that make 8-bit content 7-bit (RFC 2045 §6):
//! quoted-printable for text (line breaks kept as hard breaks, §6.7 rule 4)
//! and base64 for everything else (§6.8), both in lines of at most 76
//! characters ending in CR LF.

use base64::Engine;

/// RFC 2045 §6.7 rule 5 and §6.8: encoded lines are at most 76 characters.
pub const MAX_ENCODED_LINE: usize = 76;

/// `body` as quoted-printable. A CR LF or bare LF is a line break (sent as
/// CR LF); a lone CR, '=', other controls and 8-bit octets are `=XX`;
/// white space before a line break is encoded so it survives (rule 3).
pub fn quoted_printable(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + body.len() / 8 + 8);
    let mut rest = body;
    while !rest.is_empty() {
        let (line, broke, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(lf) => {
                let line = &rest[..lf];
                (
                    line.strip_suffix(b"\r").unwrap_or(line),
                    true,
                    &rest[lf + 1..],
                )
            }
            None => (rest, false, &rest[rest.len()..]),
        };
        qp_line(line, &mut out);
        if broke {
            out.extend_from_slice(b"\r\n");
        }
        rest = next;
    }
    out
}

fn qp_line(line: &[u8], out: &mut Vec<u8>) {
    let mut width = 0;
    for (i, &b) in line.iter().enumerate() {
        let last = i + 1 == line.len();
        let literal = (b == b' ' || b == b'\t') && !last || (33..=126).contains(&b) && b != b'=';
        let token_len = if literal { 1 } else { 3 };
        // Room for the token and, unless it ends the line, a soft break "=".
        let room = if last {
            MAX_ENCODED_LINE
        } else {
            MAX_ENCODED_LINE - 1
        };
        if width + token_len > room {
            out.extend_from_slice(b"=\r\n");
            width = 0;
        }
        if literal {
            out.push(b);
        } else {
            out.extend_from_slice(format!("={b:02X}").as_bytes());
        }
        width += token_len;
    }
}

/// `body` as base64 in lines of [`MAX_ENCODED_LINE`] characters, each
/// ending in CR LF.
pub fn base64_lines(body: &[u8]) -> Vec<u8> {
    let per_line = MAX_ENCODED_LINE / 4 * 3;
    let mut out = Vec::with_capacity(body.len() * 4 / 3 + body.len() / 28 + 4);
    for chunk in body.chunks(per_line) {
        let line = base64::engine::general_purpose::STANDARD.encode(chunk);
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reference decoder (RFC 2045 §6.7) for the round trips.
    fn qp_decode(enc: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < enc.len() {
            match enc[i] {
                b'=' if enc[i + 1..].starts_with(b"\r\n") => i += 3,
                b'=' => {
                    let hex = std::str::from_utf8(&enc[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 3;
                }
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        out
    }

    #[test]
    fn quoted_printable_round_trips_and_stays_seven_bit() {
        let cases: &[&[u8]] = &[
            "Grüße aus Köln\r\n".as_bytes(),
            b"a=b \t\r\ntrailing space \r\n",
            b"no final break \xff",
            b"lone\rcr\r\n",
            &[0xC3; 300],
            b"",
        ];
        for body in cases {
            let enc = quoted_printable(body);
            assert!(enc.is_ascii(), "{enc:?}");
            for line in enc.split(|&b| b == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                assert!(line.len() <= MAX_ENCODED_LINE, "{}", line.len());
                assert!(!line.ends_with(b" ") && !line.ends_with(b"\t"));
            }
            assert_eq!(qp_decode(&enc), *body, "{}", String::from_utf8_lossy(&enc));
        }
        assert_eq!(quoted_printable(b"x\ny\n"), b"x\r\ny\r\n");
        assert_eq!(quoted_printable("é=\r\n".as_bytes()), b"=C3=A9=3D\r\n");
    }

    #[test]
    fn base64_lines_are_76_characters() {
        let body: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let enc = base64_lines(&body);
        let lines: Vec<&[u8]> = enc
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert!(lines[..lines.len() - 1]
            .iter()
            .all(|l| l.len() == MAX_ENCODED_LINE + 1));
        let joined: Vec<u8> = enc
            .iter()
            .copied()
            .filter(|b| !b"\r\n".contains(b))
            .collect();
        let back = base64::engine::general_purpose::STANDARD
            .decode(joined)
            .unwrap();
        assert_eq!(back, body);
    }
}
