//! Splitting an mbox into messages, line by line (sans-I/O: the driver
//! feeds lines and writes what comes out, so a 2 GB file needs one line of
//! memory). Handles:
//! - separators: a "From " line at the start of the file or after a blank
//!   line, with a date (asctime, as `export` and most writers put it);
//! - mboxrd/mboxo quoting: `>From `, `>>From `… lose one '>' (RFC 4155 §A);
//! - the blank line that ends each message in the file is framing, not mail;
//! - Status / X-Status / X-Keywords headers become flags and are dropped;
//! - a "From " line that is no separator (no blank line before it, or no
//!   date) is kept as text and reported by line number.
//!
//! Lines come out CRLF-terminated, as mail is stored.

use super::flags::MboxFlags;

#[derive(Debug, PartialEq, Eq)]
pub enum Out {
    /// A message starts; its INTERNALDATE from the separator.
    Begin { date: Option<i64> },
    /// Bytes of the current message.
    Bytes(Vec<u8>),
}

#[derive(Debug, Default)]
pub struct Splitter {
    line_no: u64,
    in_message: bool,
    in_header: bool,
    /// Blank lines held back: the last one before a separator is framing.
    blanks: usize,
    flags: MboxFlags,
    /// The flags of the message a separator just ended.
    ended: MboxFlags,
    /// Line numbers of "From " lines taken as text.
    pub malformed: Vec<u64>,
    /// Lines before the first separator (not an mbox, or garbage), skipped.
    pub skipped: u64,
}

impl Splitter {
    /// One line of the file, with or without its line ending.
    pub fn line(&mut self, raw: &[u8], out: &mut Vec<Out>) {
        self.line_no += 1;
        let line = strip_eol(raw);
        let at_boundary = !self.in_message || self.blanks > 0;
        if line.starts_with(b"From ") {
            match (at_boundary, from_line_date(line)) {
                (true, Some(date)) => return self.begin(Some(date), out),
                _ if !self.in_message => return self.begin(None, out),
                _ => self.malformed.push(self.line_no),
            }
        }
        if !self.in_message {
            self.skipped += 1;
            return;
        }
        if line.is_empty() {
            if self.in_header {
                self.in_header = false;
                out.push(Out::Bytes(b"\r\n".to_vec()));
            } else {
                self.blanks += 1;
            }
            return;
        }
        self.flush_blanks(out);
        if self.in_header && self.flags.header(line) {
            return;
        }
        let mut bytes = unquote(line).to_vec();
        bytes.extend_from_slice(b"\r\n");
        out.push(Out::Bytes(bytes));
    }

    /// A new message: the previous one's last held blank line is dropped.
    fn begin(&mut self, date: Option<i64>, out: &mut Vec<Out>) {
        self.blanks = self.blanks.saturating_sub(1);
        self.flush_blanks(out);
        self.in_message = true;
        self.in_header = true;
        self.ended = std::mem::take(&mut self.flags);
        out.push(Out::Begin { date });
    }

    fn flush_blanks(&mut self, out: &mut Vec<Out>) {
        for _ in 0..std::mem::take(&mut self.blanks) {
            out.push(Out::Bytes(b"\r\n".to_vec()));
        }
    }

    /// End of the file: the last message's held blank lines, less the framing one.
    pub fn finish(&mut self, out: &mut Vec<Out>) {
        self.blanks = self.blanks.saturating_sub(1);
        self.flush_blanks(out);
    }

    /// The flags of the message the last [`Out::Begin`] ended.
    pub fn ended_flags(&self) -> Vec<String> {
        self.ended.to_flags()
    }

    /// The flags read from the current message's headers so far.
    pub fn flags(&self) -> Vec<String> {
        self.flags.to_flags()
    }
}

fn strip_eol(raw: &[u8]) -> &[u8] {
    let l = raw.strip_suffix(b"\n").unwrap_or(raw);
    l.strip_suffix(b"\r").unwrap_or(l)
}

/// mboxrd: `>+From ` loses one '>' (mboxo's `>From ` is read the same way).
fn unquote(line: &[u8]) -> &[u8] {
    let quotes = line.iter().take_while(|&&c| c == b'>').count();
    if quotes > 0 && line[quotes..].starts_with(b"From ") {
        &line[1..]
    } else {
        line
    }
}

/// The date of a separator: "From SENDER Www Mmm dd hh:mm:ss [zone] yyyy"
/// (asctime, UTC unless a numeric zone is given).
pub fn from_line_date(line: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(line.strip_prefix(b"From ")?).ok()?;
    let words: Vec<&str> = s.split_whitespace().collect();
    let m = words.iter().position(|w| month(w).is_some())?;
    let month = month(words[m])?;
    let day: u8 = words.get(m + 1)?.parse().ok()?;
    let (h, rest) = words.get(m + 2)?.split_once(':')?;
    let (mi, sec) = rest.split_once(':').unwrap_or((rest, "0"));
    let year: i32 = words[m + 3..].iter().find_map(|w| {
        (w.len() == 4 && w.bytes().all(|c| c.is_ascii_digit())).then(|| w.parse().ok())?
    })?;
    let offset = words[m + 3..].iter().find_map(|w| zone(w)).unwrap_or(0);
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    let t = time::Time::from_hms(h.parse().ok()?, mi.parse().ok()?, sec.parse().ok()?).ok()?;
    Some(date.with_time(t).assume_utc().unix_timestamp() - offset)
}

fn month(w: &str) -> Option<time::Month> {
    const NAMES: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let i = NAMES.iter().position(|n| n.eq_ignore_ascii_case(w))?;
    time::Month::try_from(i as u8 + 1).ok()
}

/// "+0130" → seconds east of UTC.
fn zone(w: &str) -> Option<i64> {
    let (sign, digits) = match w.as_bytes().first()? {
        b'+' => (1, &w[1..]),
        b'-' => (-1, &w[1..]),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    Some(sign * ((n / 100) * 3600 + (n % 100) * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (date, text, flags) of one message.
    type Msg = (Option<i64>, String, Vec<String>);

    fn split(text: &str) -> (Vec<Msg>, Vec<u64>) {
        let mut s = Splitter::default();
        let mut msgs: Vec<Msg> = Vec::new();
        let mut out = Vec::new();
        let take = |s: &Splitter, out: &mut Vec<Out>, msgs: &mut Vec<Msg>| {
            for o in out.drain(..) {
                match o {
                    Out::Begin { date } => msgs.push((date, String::new(), vec![])),
                    Out::Bytes(b) => msgs
                        .last_mut()
                        .unwrap()
                        .1
                        .push_str(&String::from_utf8(b).unwrap()),
                }
            }
            if let Some(m) = msgs.last_mut() {
                m.2 = s.flags();
            }
        };
        for line in text.split_inclusive('\n') {
            s.line(line.as_bytes(), &mut out);
            take(&s, &mut out, &mut msgs);
        }
        s.finish(&mut out);
        take(&s, &mut out, &mut msgs);
        (msgs, s.malformed)
    }

    #[test]
    fn two_messages_flags_dates_and_quoting() {
        let text = "From a@b Thu Jan  1 00:00:00 1970\nStatus: RO\nX-Status: AF\nX-Keywords: $Work, Later\nSubject: one\n\n>From here\n>>From there\n\nFrom c@d Fri Jan  2 00:00:10 1970\nSubject: two\n\nbody\n\n";
        let (msgs, bad) = split(text);
        assert!(bad.is_empty());
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].0, Some(0));
        assert_eq!(
            msgs[0].1,
            "Subject: one\r\n\r\nFrom here\r\n>From there\r\n"
        );
        assert_eq!(
            msgs[0].2,
            ["\\Seen", "\\Answered", "\\Flagged", "$Work", "Later"]
        );
        assert_eq!(msgs[1].0, Some(86_410));
        assert_eq!(msgs[1].1, "Subject: two\r\n\r\nbody\r\n");
        assert!(msgs[1].2.is_empty());
    }

    #[test]
    fn unquoted_from_lines_are_text_and_reported() {
        // mboxo writers left these unquoted: no blank line before, or no date.
        let text = "From a@b Thu Jan  1 00:00:00 1970\nSubject: x\n\nline\nFrom me to you\n\nFrom the start, no date\nend\n";
        let (msgs, bad) = split(text);
        assert_eq!(msgs.len(), 1);
        assert_eq!(bad, [5, 7]);
        assert_eq!(
            msgs[0].1,
            "Subject: x\r\n\r\nline\r\nFrom me to you\r\n\r\nFrom the start, no date\r\nend\r\n"
        );
    }

    #[test]
    fn dates_with_zones() {
        assert_eq!(
            from_line_date(b"From x Thu Jan  1 01:00:00 +0100 1970"),
            Some(0)
        );
        assert_eq!(
            from_line_date(b"From MAILER-DAEMON Sat Dec  5 10:11:12 2026"),
            Some(1796465472)
        );
        assert_eq!(from_line_date(b"From the start"), None);
    }
}
