//! Transfer decodings, tolerant as mail readers are (anything a client
//! would still decode must be scanned decoded): base64 (RFC 2045 §6.8,
//! characters outside the alphabet skipped), quoted-printable (§6.7), and
//! uuencoded blocks inside a text (`begin MODE NAME` … `end`). Output is
//! never longer than the input.

/// Base64 alphabet values (RFC 2045 §6.8 Table 1); [`SKIP`] for the rest
/// and [`PAD`] for `=`. A table: one load per input byte, no branches on
/// the character class (the decode runs over every attachment).
const B64: [u8; 256] = {
    let mut t = [SKIP; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    t[b'+' as usize] = 62;
    t[b'/' as usize] = 63;
    t[b'=' as usize] = PAD;
    t
};
const SKIP: u8 = 0xff;
const PAD: u8 = 0xfe;

pub fn base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let (mut acc, mut n) = (0u32, 0);
    let mut i = 0;
    while i < input.len() {
        // Four alphabet characters at a group boundary (nearly all of a
        // well-formed body): three bytes at once.
        if let (0, Some(&[a, b, c, d])) = (n, input.get(i..i + 4)) {
            let v = [
                B64[a as usize],
                B64[b as usize],
                B64[c as usize],
                B64[d as usize],
            ];
            if (v[0] | v[1] | v[2] | v[3]) < 64 {
                let q = u32::from(v[0]) << 18
                    | u32::from(v[1]) << 12
                    | u32::from(v[2]) << 6
                    | u32::from(v[3]);
                out.extend_from_slice(&[(q >> 16) as u8, (q >> 8) as u8, q as u8]);
                i += 4;
                continue;
            }
        }
        let c = input[i];
        i += 1;
        let v = B64[c as usize];
        if v >= PAD {
            if v == PAD {
                break;
            }
            continue;
        }
        acc = acc << 6 | v as u32;
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            (acc, n) = (0, 0);
        }
    }
    match n {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => {}
    }
    out
}

pub fn quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let c = input[i];
        if c != b'=' {
            out.push(c);
            i += 1;
            continue;
        }
        let rest = &input[i + 1..];
        let hex = |b: u8| (b as char).to_digit(16);
        if let [h, l, ..] = rest {
            if let (Some(h), Some(l)) = (hex(*h), hex(*l)) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        // A soft line break: `=` then optional blanks then CRLF or LF.
        let blanks = rest
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        match &rest[blanks..] {
            [b'\r', b'\n', ..] => i += 1 + blanks + 2,
            [b'\n', ..] => i += 1 + blanks + 1,
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Each uuencoded block in `text`: (file name, bytes).
pub fn uuencoded(text: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut lines = text
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    while let Some(line) = lines.next() {
        let Some(name) = begin_line(line) else {
            continue;
        };
        let mut data = Vec::new();
        for l in lines.by_ref() {
            if l == b"end" || l.is_empty() {
                break;
            }
            uu_line(l, &mut data);
        }
        out.push((name, data));
    }
    out
}

/// `begin 644 name`: the name.
fn begin_line(line: &[u8]) -> Option<String> {
    let rest = line.strip_prefix(b"begin ")?;
    let space = rest.iter().position(|&b| b == b' ')?;
    let mode = &rest[..space];
    let octal = (3..=4).contains(&mode.len()) && mode.iter().all(|b| (b'0'..=b'7').contains(b));
    octal.then(|| String::from_utf8_lossy(&rest[space + 1..]).into_owned())
}

fn uu_line(line: &[u8], out: &mut Vec<u8>) {
    let val = |c: u8| c.wrapping_sub(b' ') & 0x3f;
    let Some((&len, body)) = line.split_first() else {
        return;
    };
    let len = val(len) as usize;
    let mut produced = Vec::with_capacity(len + 2);
    for quad in body.chunks(4) {
        let q: Vec<u8> = (0..4).map(|i| val(*quad.get(i).unwrap_or(&b'`'))).collect();
        produced.push(q[0] << 2 | q[1] >> 4);
        produced.push(q[1] << 4 | q[2] >> 2);
        produced.push(q[2] << 6 | q[3]);
    }
    produced.truncate(len);
    out.extend_from_slice(&produced);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_tolerates_noise() {
        assert_eq!(base64(b"aGVs\r\nbG8=\r\n"), b"hello");
        assert_eq!(base64(b"aGV*sbG8"), b"hello");
        assert_eq!(base64(b"aGk"), b"hi");
    }

    #[test]
    fn base64_table_is_the_alphabet() {
        // Every byte value: the table agrees with RFC 2045's alphabet, so
        // the decode is what the character-class version produced.
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for c in 0..=255u8 {
            let want = match alphabet.iter().position(|&a| a == c) {
                Some(v) => v as u8,
                None if c == b'=' => PAD,
                None => SKIP,
            };
            assert_eq!(B64[c as usize], want, "byte {c:#04x}");
        }
        let all: Vec<u8> = (0..=255u8).collect();
        let mut text = Vec::new();
        for chunk in all.chunks(57) {
            text.extend_from_slice(&encode(chunk));
            text.extend_from_slice(b"\r\n");
        }
        assert_eq!(base64(&text), all);
        // Noise inside a group of four takes the byte-by-byte path.
        assert_eq!(base64(b"aG\r\nVsbG8=="), b"hello");
        assert_eq!(base64(b"aGVsbG8=aGVs"), b"hello", "stops at padding");
        assert_eq!(base64(b"aGVs bG8"), b"hello");
    }

    /// A plain encoder for the round trip above.
    fn encode(data: &[u8]) -> Vec<u8> {
        let a = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = Vec::new();
        for c in data.chunks(3) {
            let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
            let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
            for k in 0..=c.len() {
                out.push(a[(n >> (18 - 6 * k) & 63) as usize]);
            }
            out.extend(std::iter::repeat_n(b'=', 3 - c.len()));
        }
        out
    }

    #[test]
    fn quoted_printable_soft_breaks() {
        assert_eq!(quoted_printable(b"a=3Db=\r\nc= \nd=zz"), b"a=bcd=zz");
    }

    #[test]
    fn uuencode_block() {
        // `uuencode` of "hello\n" named x.txt.
        let text = b"intro\nbegin 644 x.txt\n&:&5L;&\\*\n`\nend\nafter\n";
        assert_eq!(
            uuencoded(text),
            vec![("x.txt".to_string(), b"hello\n".to_vec())]
        );
        assert!(uuencoded(b"begin the story\n").is_empty());
    }
}
