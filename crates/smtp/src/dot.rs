//! The DATA body decoder (RFC 5321 §4.1.1.4, §4.5.2): removes dot-stuffing and
//! finds the end of data. Only CR LF "." CR LF ends the message: a bare LF or
//! bare CR around the dot never does (SMTP smuggling, CVE-2023-51764/5/6).
//! Sans-I/O: bytes in, body bytes out, so it is fuzzed and tested alone.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Just after CR LF (or at the very start of the data).
    LineStart,
    /// Inside a line.
    Mid,
    /// Inside a line, after a CR.
    Cr,
    /// A "." at the start of a line.
    Dot,
    /// "." CR at the start of a line.
    DotCr,
    /// The end-of-data line has been seen.
    Done,
}

/// Decodes one DATA body. Feed it bytes until [`DotDecoder::is_done`].
#[derive(Clone, Debug)]
pub struct DotDecoder {
    state: State,
}

impl Default for DotDecoder {
    fn default() -> Self {
        DotDecoder {
            state: State::LineStart,
        }
    }
}

impl DotDecoder {
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from `input`, appending body bytes to `out`. Returns how many
    /// input bytes were consumed: all of them, or fewer when the end of data was
    /// reached (what follows belongs to the next command).
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> usize {
        for (i, &b) in input.iter().enumerate() {
            self.step(b, out);
            if self.state == State::Done {
                return i + 1;
            }
        }
        input.len()
    }

    fn step(&mut self, b: u8, out: &mut Vec<u8>) {
        self.state = match (self.state, b) {
            (State::Done, _) => State::Done,
            (State::LineStart, b'.') => State::Dot,
            (State::LineStart | State::Mid, b'\r') => State::Cr,
            (State::LineStart | State::Mid, _) => {
                out.push(b);
                State::Mid
            }
            (State::Cr, b'\n') => {
                out.extend_from_slice(b"\r\n");
                State::LineStart
            }
            (State::Cr, b'\r') => {
                out.push(b'\r');
                State::Cr
            }
            (State::Cr, _) => {
                out.extend_from_slice(&[b'\r', b]);
                State::Mid
            }
            // A leading dot followed by more text was stuffing: drop it (§4.5.2).
            (State::Dot, b'\r') => State::DotCr,
            (State::Dot, _) => {
                out.push(b);
                State::Mid
            }
            (State::DotCr, b'\n') => State::Done,
            (State::DotCr, b'\r') => {
                out.push(b'\r');
                State::Cr
            }
            (State::DotCr, _) => {
                out.extend_from_slice(&[b'\r', b]);
                State::Mid
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(input: &[u8]) -> (Vec<u8>, usize, bool) {
        let mut d = DotDecoder::default();
        let mut out = Vec::new();
        let n = d.feed(input, &mut out);
        (out, n, d.is_done())
    }

    #[test]
    fn plain_end() {
        let (out, n, done) = decode(b"Subject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n");
        assert!(done);
        assert_eq!(out, b"Subject: x\r\n\r\nhello\r\n");
        assert_eq!(n, 24);
    }

    #[test]
    fn empty_message() {
        let (out, n, done) = decode(b".\r\n");
        assert!(done);
        assert!(out.is_empty());
        assert_eq!(n, 3);
    }

    #[test]
    fn unstuffing() {
        let (out, _, done) = decode(b"..hidden\r\n...\r\n.\r\n");
        assert!(done);
        assert_eq!(out, b".hidden\r\n..\r\n");
    }

    #[test]
    fn smuggling_sequences_do_not_end_data() {
        for seq in [
            &b"a\n.\nb"[..],
            b"a\r.\rb",
            b"a\n.\r\nb",
            b"a\r\n.\nb",
            b"a\r.\r\nb",
            b"a\r\n.\rb",
        ] {
            let mut input = seq.to_vec();
            input.extend_from_slice(b"\r\n.\r\n");
            let (out, n, done) = decode(&input);
            assert!(done, "{seq:?}");
            assert_eq!(n, input.len(), "{seq:?} ended early");
            assert!(out.ends_with(b"b\r\n"), "{seq:?} -> {out:?}");
        }
    }

    #[test]
    fn split_anywhere_gives_same_result() {
        let input = b"x\r\n..y\r\n.\rz\r\n\r\r\n.\r\n";
        let (whole, _, _) = decode(input);
        for cut in 0..input.len() {
            let mut d = DotDecoder::default();
            let mut out = Vec::new();
            d.feed(&input[..cut], &mut out);
            d.feed(&input[cut..], &mut out);
            assert!(d.is_done());
            assert_eq!(out, whole, "cut at {cut}");
        }
    }

    #[test]
    fn bare_cr_kept() {
        let (out, _, done) = decode(b"a\rb\r\r\n.\r\n");
        assert!(done);
        assert_eq!(out, b"a\rb\r\r\n");
    }
}
