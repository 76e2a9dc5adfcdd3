//! The message body on the wire (RFC 5321 §2.3.8, §4.5.2): the stored body
//! may have bare LF or bare CR line ends (it is kept as received); what a
//! peer gets has CRLF only, so nothing in it can act as an end of data
//! ("SMTP smuggling"). DATA adds dot-stuffing and the final ".", BDAT
//! (RFC 3030) sends the normalised bytes as they are.

/// Streaming encoder: feed the stored bytes in any pieces, then `finish`.
#[derive(Debug)]
pub struct BodyEncoder {
    stuff_dots: bool,
    /// At the start of a line (the next octet begins one).
    line_start: bool,
    /// The previous octet was a CR whose line end is not yet written.
    pending_cr: bool,
}

impl BodyEncoder {
    /// For DATA: CRLF line ends and dot-stuffing.
    pub fn data() -> BodyEncoder {
        BodyEncoder { stuff_dots: true, line_start: true, pending_cr: false }
    }

    /// For BDAT: CRLF line ends only.
    pub fn bdat() -> BodyEncoder {
        BodyEncoder { stuff_dots: false, line_start: true, pending_cr: false }
    }

    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        for &b in input {
            match b {
                b'\r' => {
                    if self.pending_cr {
                        self.end_line(out);
                    }
                    self.pending_cr = true;
                }
                b'\n' => self.end_line(out),
                _ => {
                    if self.pending_cr {
                        self.end_line(out);
                    }
                    if self.line_start && b == b'.' && self.stuff_dots {
                        out.push(b'.');
                    }
                    out.push(b);
                    self.line_start = false;
                }
            }
        }
    }

    fn end_line(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\r\n");
        self.pending_cr = false;
        self.line_start = true;
    }

    /// Ends the body: a last line without its line end gets one; for DATA the
    /// terminating ".\r\n" follows (RFC 5321 §4.1.1.4).
    pub fn finish(mut self, out: &mut Vec<u8>) {
        if self.pending_cr || !self.line_start {
            self.end_line(out);
        }
        if self.stuff_dots {
            out.extend_from_slice(b".\r\n");
        }
    }
}

/// The whole encoding of a body held in memory (tests, small bodies).
pub fn encode(body: &[u8], stuff_dots: bool) -> Vec<u8> {
    let mut e = if stuff_dots { BodyEncoder::data() } else { BodyEncoder::bdat() };
    let mut out = Vec::with_capacity(body.len() + 16);
    e.feed(body, &mut out);
    e.finish(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dot::DotDecoder;

    /// What the peer's server decodes (Postern's own strict decoder).
    fn decode(wire: &[u8]) -> (Vec<u8>, usize) {
        let mut d = DotDecoder::default();
        let mut out = Vec::new();
        let used = d.feed(wire, &mut out);
        assert!(d.is_done(), "no end of data in {:?}", String::from_utf8_lossy(wire));
        (out, used)
    }

    /// The body with every line end made CRLF (what the peer should get).
    fn normalised(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < body.len() {
            match body[i] {
                b'\r' if body.get(i + 1) == Some(&b'\n') => {
                    out.extend_from_slice(b"\r\n");
                    i += 1;
                }
                b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
                b => out.push(b),
            }
            i += 1;
        }
        if !out.is_empty() && !out.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    #[test]
    fn smuggling_sequences_never_end_data_early() {
        for body in [
            &b"a\n.\nb\r\n"[..],
            b"a\r.\rb",
            b"a\n.\r\nb",
            b"a\r\n.\nb",
            b".\r\n",
            b"x\r\n.\r\n",
            b"..\r\n.",
            b"no final newline",
            b"",
            b"\r",
            b"\n.",
            b"trailing cr\r",
        ] {
            let wire = encode(body, true);
            let (decoded, used) = decode(&wire);
            assert_eq!(used, wire.len(), "end of data only at the end for {body:?}");
            assert_eq!(decoded, normalised(body), "for {body:?}");
            assert!(!wire.windows(2).enumerate().any(|(i, w)| w[1] == b'\n' && w[0] != b'\r' && i > 0));
        }
    }

    #[test]
    fn bdat_normalises_without_stuffing() {
        assert_eq!(encode(b".a\nb\rc", false), b".a\r\nb\r\nc\r\n");
        assert_eq!(encode(b"x\r\n", false), b"x\r\n");
        assert_eq!(encode(b"", false), b"");
    }

    #[test]
    fn random_bodies_split_anywhere_round_trip() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..2000 {
            let len = rng.random_range(0..64);
            let body: Vec<u8> = (0..len).map(|_| *[b'\r', b'\n', b'.', b'a'].get(rng.random_range(0..4)).unwrap_or(&b'a')).collect();
            let mut e = BodyEncoder::data();
            let mut wire = Vec::new();
            let mut rest = &body[..];
            while !rest.is_empty() {
                let cut = rng.random_range(1..=rest.len());
                e.feed(&rest[..cut], &mut wire);
                rest = &rest[cut..];
            }
            e.finish(&mut wire);
            assert_eq!(wire, encode(&body, true), "split-independent");
            let (decoded, used) = decode(&wire);
            assert_eq!((decoded, used), (normalised(&body), wire.len()), "{body:?}");
        }
    }
}
