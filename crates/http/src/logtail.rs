//! Following mail.log or security.log as it grows, for the live tail
//! (`GET /api/v1/logs/{log}/tail`): sans-I/O, the driver reads the bytes
//! after [`Follower::pos`] and feeds them in. Memory is bounded: one read
//! takes at most [`MAX_READ`] bytes (the driver reads again only once the
//! lines of the last are sent, so a slow client falls behind in the file,
//! not in memory), and an unfinished line is kept up to [`MAX_LINE`] bytes,
//! then sent cut. A file shorter than the position was rotated or truncated:
//! following starts again at its beginning.

/// Bytes one read may take.
pub const MAX_READ: u64 = 64 * 1024;
/// Bytes of a line kept before it is sent cut.
pub const MAX_LINE: usize = 16 * 1024;

/// A position in the log and the unfinished line read so far.
#[derive(Debug)]
pub struct Follower {
    pos: u64,
    partial: Vec<u8>,
}

/// A whole line and the offset just after it (the event's id: a client
/// that reconnects with it as `Last-Event-ID` goes on from there).
#[derive(Debug, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub end: u64,
}

impl Follower {
    pub fn at(pos: u64) -> Follower {
        Follower {
            pos,
            partial: Vec::new(),
        }
    }

    /// The offset to read from next.
    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// How many bytes to read for a file now `len` long (0: nothing new);
    /// a file shorter than the position is followed from its start.
    pub fn next_read(&mut self, len: u64) -> u64 {
        if len < self.pos {
            *self = Follower::at(0);
        }
        (len - self.pos).min(MAX_READ)
    }

    /// The lines completed by `bytes`, read at [`Follower::pos`].
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Line> {
        let mut out = Vec::new();
        for (i, &b) in bytes.iter().enumerate() {
            let at = self.pos + i as u64 + 1;
            if b == b'\n' {
                out.push(self.take(at));
            } else if self.partial.len() < MAX_LINE {
                self.partial.push(b);
            } else {
                out.push(self.take(at - 1));
                self.partial.push(b);
            }
        }
        self.pos += bytes.len() as u64;
        out
    }

    fn take(&mut self, end: u64) -> Line {
        let bytes = std::mem::take(&mut self.partial);
        let text = String::from_utf8_lossy(&bytes);
        Line {
            text: text.trim_end_matches('\r').to_string(),
            end,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[Line]) -> Vec<&str> {
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn lines_complete_across_reads_with_their_end_offsets() {
        let mut f = Follower::at(100);
        assert_eq!(f.next_read(110), 10);
        assert!(f.feed(b"one=1 ").is_empty());
        let lines = f.feed(b"two\nthree\nfo");
        assert_eq!(texts(&lines), ["one=1 two", "three"]);
        assert_eq!(lines[0].end, 110);
        assert_eq!(lines[1].end, 116);
        assert_eq!(f.pos(), 118);
        assert_eq!(
            f.feed(b"ur\n")[0],
            Line {
                text: "four".into(),
                end: 121
            }
        );
    }

    #[test]
    fn one_read_takes_at_most_max_read() {
        let mut f = Follower::at(0);
        assert_eq!(f.next_read(MAX_READ), MAX_READ);
        assert_eq!(f.next_read(MAX_READ + 1), MAX_READ);
        assert_eq!(f.next_read(0), 0);
    }

    #[test]
    fn a_line_longer_than_max_line_is_sent_cut() {
        let mut f = Follower::at(0);
        let long = vec![b'x'; MAX_LINE + 5];
        let lines = f.feed(&long);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].text.len(), MAX_LINE);
        assert_eq!(lines[0].end, MAX_LINE as u64);
        assert_eq!(texts(&f.feed(b"\n")), ["xxxxx"]);
        // Exactly MAX_LINE bytes is still one line.
        let mut f = Follower::at(0);
        let mut exact = vec![b'y'; MAX_LINE];
        exact.push(b'\n');
        assert_eq!(f.feed(&exact).len(), 1);
    }

    #[test]
    fn a_shorter_file_was_rotated_and_is_followed_from_its_start() {
        let mut f = Follower::at(500);
        f.feed(b"half a li");
        assert_eq!(f.next_read(20), 20);
        assert_eq!(f.pos(), 0);
        assert_eq!(texts(&f.feed(b"new\n")), ["new"]);
    }
}
