//! The body on the wire. A stored body may hold bare LF, bare CR, or lack a
//! final line end; on the wire every line ends in CR LF (RFC 5321 §2.3.8), so
//! each bare CR or bare LF becomes CR LF and a missing final CR LF is added.
//! For DATA a line starting with "." gets a second one (§4.5.2) and
//! "." CR LF ends the data; for BDAT (RFC 3030) nothing is stuffed.
//! Together this means no stored body can end the data early or smuggle a
//! second message (SMTP smuggling, CVE-2023-51764/5/6, seen from our side).
//! Sans-I/O and streaming: bytes in, bytes out, any split.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At the start of a line (or of the body).
    LineStart,
    /// Inside a line.
    Mid,
    /// After a CR not yet known to be followed by LF.
    Cr,
}

/// Encodes one body. Feed it with [`BodyEncoder::encode`], end it with
/// [`BodyEncoder::finish`]. Output is at most twice the input, plus 5.
#[derive(Clone, Debug)]
pub struct BodyEncoder {
    dot_stuffing: bool,
    state: State,
}

impl BodyEncoder {
    /// For DATA: CR LF lines, dot-stuffed, ended by "." CR LF.
    pub fn data() -> BodyEncoder {
        BodyEncoder {
            dot_stuffing: true,
            state: State::LineStart,
        }
    }

    /// For BDAT: CR LF lines, nothing else.
    pub fn bdat() -> BodyEncoder {
        BodyEncoder {
            dot_stuffing: false,
            state: State::LineStart,
        }
    }

    /// Appends the encoding of `input` to `out`.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len() + input.len() / 8);
        for &b in input {
            self.step(b, out);
        }
    }

    /// Appends what ends the body: the line end the last line lacked, and
    /// for DATA the end-of-data line.
    pub fn finish(self, out: &mut Vec<u8>) {
        if self.state != State::LineStart {
            out.extend_from_slice(b"\r\n");
        }
        if self.dot_stuffing {
            out.extend_from_slice(b".\r\n");
        }
    }

    fn step(&mut self, b: u8, out: &mut Vec<u8>) {
        if self.state == State::Cr {
            // The pending CR ends the line, whether bare or followed by LF.
            out.extend_from_slice(b"\r\n");
            self.state = State::LineStart;
            if b == b'\n' {
                return;
            }
        }
        self.state = match b {
            b'\r' => State::Cr,
            b'\n' => {
                out.extend_from_slice(b"\r\n");
                State::LineStart
            }
            b'.' if self.state == State::LineStart && self.dot_stuffing => {
                out.extend_from_slice(b"..");
                State::Mid
            }
            _ => {
                out.push(b);
                State::Mid
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dot::DotDecoder;
    use rand::{Rng, SeedableRng};

    /// The body as it should arrive: every bare CR or LF is a CR LF, and a
    /// non-empty body ends with CR LF. Written plainly, as the reference.
    fn normalised(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < input.len() {
            match (input[i], input.get(i + 1)) {
                (b'\r', Some(b'\n')) => i += 1,
                (b'\r' | b'\n', _) => {}
                (b, _) => {
                    out.push(b);
                    i += 1;
                    continue;
                }
            }
            out.extend_from_slice(b"\r\n");
            i += 1;
        }
        if !out.is_empty() && !out.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    fn encode_split(mut enc: BodyEncoder, input: &[u8], cuts: &[usize]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut start = 0;
        for &cut in cuts {
            enc.encode(&input[start..cut], &mut out);
            start = cut;
        }
        enc.encode(&input[start..], &mut out);
        enc.finish(&mut out);
        out
    }

    fn data(input: &[u8]) -> Vec<u8> {
        encode_split(BodyEncoder::data(), input, &[])
    }

    /// What the server's own decoder makes of `wire`; it must end exactly at
    /// the end of `wire`.
    fn server_decodes(wire: &[u8]) -> Vec<u8> {
        let mut d = DotDecoder::default();
        let mut body = Vec::new();
        let used = d.feed(wire, &mut body);
        assert!(d.is_done(), "no end of data in {wire:?}");
        assert_eq!(used, wire.len(), "end of data before the end in {wire:?}");
        body
    }

    #[test]
    fn line_ends_become_crlf() {
        assert_eq!(data(b"a\nb\rc\r\nd"), b"a\r\nb\r\nc\r\nd\r\n.\r\n");
        assert_eq!(data(b"a\r\r\n"), b"a\r\n\r\n.\r\n");
        assert_eq!(data(b"a\n\r"), b"a\r\n\r\n.\r\n");
    }

    #[test]
    fn dots_are_stuffed_for_data_only() {
        assert_eq!(data(b".\r\n"), b"..\r\n.\r\n");
        assert_eq!(data(b".."), b"...\r\n.\r\n");
        assert_eq!(data(b"a\n.b\n"), b"a\r\n..b\r\n.\r\n");
        assert_eq!(data(b"a.b"), b"a.b\r\n.\r\n");
        let bdat = encode_split(BodyEncoder::bdat(), b".\n.x", &[]);
        assert_eq!(bdat, b".\r\n.x\r\n");
    }

    #[test]
    fn empty_body() {
        assert_eq!(data(b""), b".\r\n");
        assert_eq!(encode_split(BodyEncoder::bdat(), b"", &[]), b"");
        assert_eq!(server_decodes(&data(b"")), b"");
    }

    #[test]
    fn smuggling_sequences_never_end_the_data() {
        for seq in [
            &b"\n.\n"[..],
            b"\r.\r",
            b"\n.\r\n",
            b"\r\n.\n",
            b"\r.\r\n",
            b"\r\n.\r",
            b"\r\n.\r\n",
            b".",
            b".\r\n",
            b"\r\n.",
            b"x\r\n.\r\nMAIL FROM:<evil@x>\r\n",
        ] {
            for wrap in [&b""[..], b"a", b"\r\n", b"\n", b"\r"] {
                let input = [wrap, seq, wrap].concat();
                let wire = data(&input);
                assert_eq!(server_decodes(&wire), normalised(&input), "{input:?}");
            }
        }
    }

    #[test]
    fn a_final_line_without_crlf_gets_one() {
        assert_eq!(data(b"last line"), b"last line\r\n.\r\n");
        assert_eq!(data(b"ends in cr\r"), b"ends in cr\r\n.\r\n");
        assert_eq!(data(b"."), b"..\r\n.\r\n");
    }

    #[test]
    fn a_cr_at_a_buffer_boundary() {
        let input = b"a\r\nb\r\r\n.\r.\n";
        let whole = data(input);
        for cut in 0..=input.len() {
            assert_eq!(
                encode_split(BodyEncoder::data(), input, &[cut]),
                whole,
                "cut at {cut}"
            );
        }
        // The CR is the last byte of one buffer, the LF the first of the next.
        assert_eq!(
            encode_split(BodyEncoder::data(), b"a\r\n.", &[2]),
            b"a\r\n..\r\n.\r\n"
        );
    }

    #[test]
    fn output_is_at_most_twice_the_input_plus_five() {
        for input in [&b"\n\n\n"[..], b"\r\r\r", b"...", b".\n.\n"] {
            assert!(data(input).len() <= 2 * input.len() + 5, "{input:?}");
        }
    }

    /// Random bodies over a small alphabet rich in CR, LF and dots, split at
    /// random points: the server's decoder ends exactly at the end and gives
    /// back the normalised body; BDAT output is the normalised body.
    #[test]
    fn random_bodies_round_trip_through_the_server_decoder() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5350_4f4f);
        let alphabet = b"\r\n.\r\n.ab";
        for _ in 0..20_000 {
            let len = rng.random_range(0..40);
            let input: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                .collect();
            let mut cuts: Vec<usize> = (0..rng.random_range(0..4))
                .map(|_| rng.random_range(0..=len))
                .collect();
            cuts.sort_unstable();
            let wire = encode_split(BodyEncoder::data(), &input, &cuts);
            assert_eq!(
                server_decodes(&wire),
                normalised(&input),
                "{input:?} cut {cuts:?}"
            );
            let bdat = encode_split(BodyEncoder::bdat(), &input, &cuts);
            assert_eq!(bdat, normalised(&input), "{input:?} cut {cuts:?}");
        }
    }

    #[test]
    fn random_binary_bodies_round_trip() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(42);
        for _ in 0..2_000 {
            let len = rng.random_range(0..600);
            let input: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            let cut = rng.random_range(0..=len);
            let wire = encode_split(BodyEncoder::data(), &input, &[cut]);
            assert_eq!(server_decodes(&wire), normalised(&input));
        }
    }
}
