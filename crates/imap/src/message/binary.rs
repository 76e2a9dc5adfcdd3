//! Content-Transfer-Encoding removed for BINARY (RFC 3516): base64 and
//! quoted-printable decoded in chunks as the data is sent, so a large
//! attachment is never held decoded; its size is found by a first pass.

/// The transfer encodings a BINARY fetch can undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cte {
    /// 7bit, 8bit, binary: the content is as written.
    Identity,
    Base64,
    QuotedPrintable,
}

impl Cte {
    /// None for an encoding this server does not know (RFC 3516 §4.3: the
    /// fetch then fails with UNKNOWN-CTE).
    pub fn parse(name: &str) -> Option<Cte> {
        match name.to_ascii_uppercase().as_str() {
            "7BIT" | "8BIT" | "BINARY" => Some(Cte::Identity),
            "BASE64" => Some(Cte::Base64),
            "QUOTED-PRINTABLE" => Some(Cte::QuotedPrintable),
            _ => None,
        }
    }
}

/// A pull decoder over encoded content.
pub struct Decoder<'a> {
    cte: Cte,
    src: &'a [u8],
    pos: usize,
    /// base64: sextets gathered and how many (0..4); set `done` at padding.
    acc: u32,
    sextets: u8,
    done: bool,
}

impl<'a> Decoder<'a> {
    pub fn new(cte: Cte, src: &'a [u8]) -> Decoder<'a> {
        Decoder {
            cte,
            src,
            pos: 0,
            acc: 0,
            sextets: 0,
            done: false,
        }
    }

    /// Appends decoded octets to `out`, at least `want` unless the content
    /// ends first (then it may append fewer, finally none). Returns the count.
    pub fn read(&mut self, out: &mut Vec<u8>, want: usize) -> usize {
        let before = out.len();
        match self.cte {
            Cte::Identity => {
                let end = self.src.len().min(self.pos.saturating_add(want));
                out.extend_from_slice(&self.src[self.pos..end]);
                self.pos = end;
            }
            Cte::Base64 => self.base64(out, before + want),
            Cte::QuotedPrintable => self.quoted_printable(out, before + want),
        }
        out.len() - before
    }

    /// The decoded size of the whole content, and whether it holds a NUL
    /// (then only a literal8 can carry it, RFC 3516 §4.2).
    pub fn measure(cte: Cte, src: &[u8]) -> (u64, bool) {
        if cte == Cte::Identity {
            return (src.len() as u64, src.contains(&0));
        }
        let mut d = Decoder::new(cte, src);
        let mut buf = Vec::with_capacity(CHUNK + 4);
        let (mut total, mut nul) = (0u64, false);
        loop {
            buf.clear();
            match d.read(&mut buf, CHUNK) {
                0 => return (total, nul),
                n => {
                    total += n as u64;
                    nul |= buf.contains(&0);
                }
            }
        }
    }

    /// RFC 2045 §6.8: characters outside the alphabet are ignored; "="
    /// ends the data, completing a partial quantum.
    fn base64(&mut self, out: &mut Vec<u8>, until: usize) {
        while out.len() < until && !self.done && self.pos < self.src.len() {
            let c = self.src[self.pos];
            self.pos += 1;
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                b'=' => {
                    self.done = true;
                    break;
                }
                _ => continue,
            };
            self.acc = (self.acc << 6) | u32::from(v);
            self.sextets += 1;
            if self.sextets == 4 {
                out.extend_from_slice(&self.acc.to_be_bytes()[1..]);
                self.acc = 0;
                self.sextets = 0;
            }
        }
        if self.done || self.pos >= self.src.len() {
            // The last quantum: 2 sextets give 1 octet, 3 give 2.
            match std::mem::take(&mut self.sextets) {
                2 => out.push((self.acc >> 4) as u8),
                3 => out.extend_from_slice(&((self.acc >> 2) as u16).to_be_bytes()),
                _ => {}
            }
            self.acc = 0;
        }
    }

    /// RFC 2045 §6.7: "=XX" octets, "=" line ends (soft breaks) removed,
    /// white space at the end of a line removed; anything malformed kept.
    fn quoted_printable(&mut self, out: &mut Vec<u8>, until: usize) {
        let s = self.src;
        while out.len() < until && self.pos < s.len() {
            let c = s[self.pos];
            match c {
                b'=' => {
                    let hex = s.get(self.pos + 1..self.pos + 3).and_then(|h| {
                        let h = std::str::from_utf8(h).ok()?;
                        u8::from_str_radix(h, 16)
                            .ok()
                            .filter(|_| h.bytes().all(|b| b.is_ascii_hexdigit()))
                    });
                    if let Some(b) = hex {
                        out.push(b);
                        self.pos += 3;
                    } else if let Some(next) = soft_break(s, self.pos + 1) {
                        self.pos = next;
                    } else {
                        out.push(b'=');
                        self.pos += 1;
                    }
                }
                b' ' | b'\t' => {
                    let run = s[self.pos..]
                        .iter()
                        .take_while(|&&b| b == b' ' || b == b'\t')
                        .count();
                    let after = self.pos + run;
                    let at_eol =
                        after == s.len() || s[after] == b'\n' || s[after..].starts_with(b"\r\n");
                    if !at_eol {
                        out.extend_from_slice(&s[self.pos..after]);
                    }
                    self.pos = after;
                }
                _ => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }
}

/// Bytes decoded at a time.
pub const CHUNK: usize = 64 * 1024;

/// After an "=" at `at - 1`: the offset past its line end when only
/// transport padding separates them (a soft line break).
fn soft_break(s: &[u8], at: usize) -> Option<usize> {
    let pad = s[at..]
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    let rest = &s[at + pad..];
    if rest.starts_with(b"\r\n") {
        Some(at + pad + 2)
    } else if rest.starts_with(b"\n") {
        Some(at + pad + 1)
    } else if rest.is_empty() {
        Some(s.len())
    } else {
        None
    }
}

/// Decodes all of `src`.
#[cfg(test)]
pub fn decode(cte: Cte, src: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut d = Decoder::new(cte, src);
    while d.read(&mut out, CHUNK) > 0 {}
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64() {
        assert_eq!(decode(Cte::Base64, b"aGVs\r\nbG8=\r\n"), b"hello");
        assert_eq!(decode(Cte::Base64, b"AAEC/w=="), [0, 1, 2, 255]);
        assert_eq!(decode(Cte::Base64, b"YQ"), b"a");
        assert_eq!(decode(Cte::Base64, b"YWI"), b"ab");
        assert_eq!(decode(Cte::Base64, b""), b"");
        // A chunk boundary inside a quantum.
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 256) as u8).collect();
        let enc = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &data);
        let wrapped: Vec<u8> = enc
            .as_bytes()
            .chunks(76)
            .flat_map(|l| [l, b"\r\n"].concat())
            .collect();
        assert_eq!(decode(Cte::Base64, &wrapped), data);
        assert_eq!(
            Decoder::measure(Cte::Base64, &wrapped),
            (data.len() as u64, true)
        );
    }

    #[test]
    fn quoted_printable() {
        let qp = b"caf=C3=A9 =\r\nsoft  \r\nend=3D=\r\n=ZZ = \t\r\nx";
        let want = "café soft\r\nend==ZZ x".as_bytes();
        assert_eq!(decode(Cte::QuotedPrintable, qp), want);
        assert_eq!(
            Decoder::measure(Cte::QuotedPrintable, qp),
            (want.len() as u64, false)
        );
        assert_eq!(decode(Cte::QuotedPrintable, b"a=\n b"), b"a b");
    }

    #[test]
    fn encodings() {
        assert_eq!(Cte::parse("7bit"), Some(Cte::Identity));
        assert_eq!(Cte::parse("Base64"), Some(Cte::Base64));
        assert_eq!(Cte::parse("x-uuencode"), None);
        let mut d = Decoder::new(Cte::Identity, b"abcdef");
        let mut out = Vec::new();
        assert_eq!(d.read(&mut out, 4), 4);
        assert_eq!(d.read(&mut out, 4), 2);
        assert_eq!(d.read(&mut out, 4), 0);
        assert_eq!(out, b"abcdef");
    }
}
