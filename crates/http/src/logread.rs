//! Reading mail.log and security.log newest first, filtered and paged,
//! without loading the file: it is read backwards in chunks from a cursor
//! (a byte offset; the next page starts where this one stopped). One page
//! reads at most [`MAX_SCAN`] bytes, so a filter that matches nothing in a
//! huge log still answers at once, with a cursor to go on from.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

/// Bytes read backwards per read.
const CHUNK: u64 = 64 * 1024;
/// Bytes one page may scan.
pub const MAX_SCAN: u64 = 16 * 1024 * 1024;
/// Lines one page may hold.
pub const MAX_LIMIT: usize = 1000;

/// What a line must have; every field set must match.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// RFC 3339 UTC; lines at or after (compared to the second).
    pub since: Option<String>,
    /// RFC 3339 UTC; lines before.
    pub until: Option<String>,
    /// A value of some field equals this address (IP, or /64 as logged).
    pub ip: Option<String>,
    /// The line mentions this mail address (case-insensitive).
    pub address: Option<String>,
    /// The line contains this text.
    pub text: Option<String>,
}

/// The line's time, text or JSON form, to the second.
fn time_of(line: &str) -> &str {
    let t = if line.starts_with('{') {
        line.split("\"time\":\"").nth(1).unwrap_or("")
    } else {
        line
    };
    t.get(..19).unwrap_or(t)
}

impl Filter {
    pub fn matches(&self, line: &str) -> bool {
        let second = |s: &String| s.get(..19).unwrap_or(s).to_string();
        let t = time_of(line);
        self.since.as_ref().is_none_or(|s| t >= second(s).as_str())
            && self.until.as_ref().is_none_or(|u| t < second(u).as_str())
            && self.text.as_ref().is_none_or(|x| line.contains(x.as_str()))
            && self
                .address
                .as_ref()
                .is_none_or(|a| line.to_ascii_lowercase().contains(&a.to_ascii_lowercase()))
            && self.ip.as_ref().is_none_or(|ip| has_value(line, ip))
    }
}

/// True when a `key=VALUE` (or JSON `"key":"VALUE"`) of the line is `value`.
fn has_value(line: &str, value: &str) -> bool {
    line.split([' ', ',', '{', '}'])
        .filter_map(|field| {
            field
                .split_once(['=', ':'])
                .map(|(_, v)| v.trim_matches('"'))
        })
        .any(|v| v == value)
}

/// One page: matching lines, newest first, and where the next page starts
/// (`None`: the start of the file was reached).
pub fn page(
    file: &mut File,
    before: Option<u64>,
    limit: usize,
    filter: &Filter,
) -> std::io::Result<(Vec<String>, Option<u64>)> {
    let len = file.metadata()?.len();
    let mut pos = before.unwrap_or(len).min(len);
    let (mut carry, mut out, mut scanned) = (Vec::new(), Vec::new(), 0u64);
    loop {
        if pos == 0 {
            if !carry.is_empty() {
                take(&carry, filter, &mut out);
            }
            return Ok((out, None));
        }
        if out.len() >= limit || scanned >= MAX_SCAN {
            return Ok((out, Some(pos + carry.len() as u64)));
        }
        let start = pos.saturating_sub(CHUNK);
        let mut buf = vec![0; (pos - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut buf)?;
        scanned += buf.len() as u64;
        buf.extend_from_slice(&carry);
        // The first piece may continue in the chunk before: keep it for later.
        let first_end = buf
            .iter()
            .position(|&b| b == b'\n')
            .map_or(buf.len(), |i| i + 1);
        let mut end = buf.len();
        for nl in (first_end..buf.len())
            .rev()
            .filter(|&i| buf[i - 1] == b'\n')
        {
            take(&buf[nl..end], filter, &mut out);
            end = nl;
            if out.len() >= limit {
                return Ok((out, Some(start + nl as u64)));
            }
        }
        carry = buf[..end].to_vec();
        pos = start;
    }
}

fn take(line: &[u8], filter: &Filter, out: &mut Vec<String>) {
    let line = String::from_utf8_lossy(line);
    let line = line.trim_end_matches(['\n', '\r']);
    if !line.is_empty() && filter.matches(line) {
        out.push(line.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn log(lines: usize) -> File {
        let mut f = tempfile::tempfile().unwrap();
        for i in 0..lines {
            let ip = if i % 2 == 0 {
                "192.0.2.1"
            } else {
                "192.0.2.10"
            };
            writeln!(
                f,
                "2026-12-07T03:{:02}:{:02}Z event=e{i} client={ip} pad={}",
                i / 60 % 60,
                i % 60,
                "x".repeat(i % 300)
            )
            .unwrap();
        }
        f
    }

    #[test]
    fn pages_walk_the_whole_file_newest_first() {
        let mut f = log(2000);
        let (mut all, mut cursor) = (Vec::new(), None);
        loop {
            let (lines, next) = page(&mut f, cursor, 7, &Filter::default()).unwrap();
            all.extend(lines);
            match next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        assert_eq!(all.len(), 2000);
        assert!(all[0].contains("event=e1999 "));
        assert!(all[1999].contains("event=e0 "));
    }

    #[test]
    fn filters() {
        let mut f = log(200);
        let ip = Filter {
            ip: Some("192.0.2.1".into()),
            ..Default::default()
        };
        let (lines, next) = page(&mut f, None, MAX_LIMIT, &ip).unwrap();
        assert_eq!(
            (lines.len(), next),
            (100, None),
            "192.0.2.10 is another address"
        );
        let window = Filter {
            since: Some("2026-12-07T03:01:00Z".into()),
            until: Some("2026-12-07T03:01:10Z".into()),
            ..Default::default()
        };
        let (lines, _) = page(&mut f, None, MAX_LIMIT, &window).unwrap();
        assert_eq!(lines.len(), 10);
        assert!(lines[0].contains("event=e69 "));
        let text = Filter {
            text: Some("event=e5 ".into()),
            ..Default::default()
        };
        assert_eq!(page(&mut f, None, 5, &text).unwrap().0.len(), 1);
    }
}
