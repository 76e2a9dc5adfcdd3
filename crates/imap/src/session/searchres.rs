//! SEARCHRES (RFC 5182): `$`, the result a `SEARCH RETURN (SAVE …)` kept,
//! used as a sequence set. imap-codec does not parse `$`, so before a
//! command is decoded its `$` is written out as the set it stands for: UIDs
//! in UID commands, message numbers in the others, `UID set` as a SEARCH
//! key. The result is kept as UIDs (§2.1), so messages expunged since drop
//! out by themselves.

use super::copy::uid_set;
use super::reply::Reply;
use super::Session;
use tokio::io::{AsyncRead, AsyncWrite};

/// What a command does with `$`.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Dollar {
    /// No `$` where a sequence set goes: the command as it is.
    Absent,
    /// The command with `$` written out.
    Rewritten(Vec<u8>),
    /// `$` names no message: RFC 5182 §2.1, the command succeeds doing
    /// nothing (a FETCH sends no FETCH response). The word is the verb.
    Nothing(&'static str),
}

/// Search keys whose next argument is a string or number, never a set.
const ARG_KEYS: [&str; 16] = [
    "BCC",
    "BODY",
    "CC",
    "FROM",
    "SUBJECT",
    "TEXT",
    "TO",
    "KEYWORD",
    "UNKEYWORD",
    "HEADER",
    "LARGER",
    "SMALLER",
    "BEFORE",
    "ON",
    "SINCE",
    "CHARSET",
];

/// One word of a command: where it starts and ends in the bytes.
type Span = (usize, usize);

/// The words of a command, a quoted string or a literal being one word;
/// parentheses and spaces separate words.
fn words(b: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' | b'(' | b')' | b'\r' | b'\n' => i += 1,
            // Strings are words too (never "$"): the key before a "$" is known.
            b'"' | b'{' => {
                let start = i;
                i = if b[i] == b'"' {
                    quoted_end(b, i)
                } else {
                    literal_end(b, i)
                }
                .min(b.len());
                out.push((start, i));
            }
            _ => {
                let start = i;
                while i < b.len() && !b" ()\r\n\"{".contains(&b[i]) {
                    i += 1;
                }
                out.push((start, i));
            }
        }
    }
    out
}

fn quoted_end(b: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < b.len() && b[i] != b'"' {
        i += if b[i] == b'\\' { 2 } else { 1 };
    }
    i + 1
}

/// After `{n}` or `{n+}` CR LF and its n octets (the framing checked them).
fn literal_end(b: &[u8], i: usize) -> usize {
    let Some(close) = b[i..].iter().position(|&c| c == b'}') else {
        return b.len();
    };
    let digits = String::from_utf8_lossy(&b[i + 1..i + close]);
    let n: usize = digits.trim_end_matches('+').parse().unwrap_or(usize::MAX);
    (i + close + 3).saturating_add(n)
}

/// Rewrites the `$` of `bytes`. `present` are the UIDs of the selected
/// mailbox in order, `saved` the saved UIDs (ascending).
pub(super) fn rewrite(bytes: &[u8], present: &[u32], saved: &[u32]) -> Dollar {
    let w = words(bytes);
    let word = |k: usize| w.get(k).map(|&(a, e)| &bytes[a..e]);
    let is = |k: usize, s: &str| word(k).is_some_and(|x| x.eq_ignore_ascii_case(s.as_bytes()));
    let by_uid = is(1, "UID");
    let verb = if by_uid { 2 } else { 1 };
    let hits: Vec<usize> = saved
        .iter()
        .filter_map(|u| present.binary_search(u).ok())
        .collect();
    let uids = uid_set(hits.iter().map(|&i| present[i]));
    if is(verb, "SEARCH") {
        return search(bytes, &w, verb + 1, &uids);
    }
    let name = match ["FETCH", "STORE", "COPY", "MOVE", "EXPUNGE"]
        .into_iter()
        .find(|v| is(verb, v))
    {
        // EXPUNGE takes a set only as UID EXPUNGE (RFC 4315 §2.1).
        Some("EXPUNGE") if !by_uid => return Dollar::Absent,
        Some(v) => v,
        None => return Dollar::Absent,
    };
    let Some(&(a, e)) = w.get(verb + 1).filter(|_| is(verb + 1, "$")) else {
        return Dollar::Absent;
    };
    if hits.is_empty() {
        return Dollar::Nothing(name);
    }
    let set = if by_uid {
        uids
    } else {
        uid_set(hits.iter().map(|&i| i as u32 + 1))
    };
    Dollar::Rewritten([&bytes[..a], set.as_bytes(), &bytes[e..]].concat())
}

/// `$` as a SEARCH key, alone or after the UID key, becomes `UID set`, or
/// `NOT ALL` when it names nothing (RFC 5182 §2.1: a valid empty set).
fn search(bytes: &[u8], w: &[Span], first: usize, uids: &str) -> Dollar {
    let text = |k: usize| String::from_utf8_lossy(&bytes[w[k].0..w[k].1]).to_ascii_uppercase();
    let mut out = Vec::new();
    let mut copied = 0;
    for k in first..w.len() {
        if &bytes[w[k].0..w[k].1] != b"$" {
            continue;
        }
        let prev = (k > first).then(|| text(k - 1));
        let arg = prev.as_deref().is_some_and(|p| ARG_KEYS.contains(&p))
            || (k > first + 1 && text(k - 2) == "HEADER");
        if arg {
            continue;
        }
        let start = if prev.as_deref() == Some("UID") {
            w[k - 1].0
        } else {
            w[k].0
        };
        out.extend_from_slice(&bytes[copied..start]);
        if uids.is_empty() {
            out.extend_from_slice(b"NOT ALL");
        } else {
            out.extend_from_slice(format!("UID {uids}").as_bytes());
        }
        copied = w[k].1;
    }
    if copied == 0 {
        return Dollar::Absent;
    }
    out.extend_from_slice(&bytes[copied..]);
    Dollar::Rewritten(out)
}

/// Which of the matches `SEARCH RETURN (SAVE …)` keeps (RFC 5182 §2.4):
/// with MIN and/or MAX but neither ALL nor COUNT, only those; else all.
pub(super) fn to_save(uids: &[u32], min: bool, max: bool, all_or_count: bool) -> Vec<u32> {
    if all_or_count || !(min || max) {
        return uids.to_vec();
    }
    let mut out: Vec<u32> = [uids.first().filter(|_| min), uids.last().filter(|_| max)]
        .into_iter()
        .flatten()
        .copied()
        .collect();
    out.dedup();
    out
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// The command with its `$` written out, or the reply it gets without
    /// running. Without a selected mailbox `$` means nothing and is left for
    /// the command to refuse.
    pub(super) fn dollar(&self, bytes: &[u8]) -> Result<Option<Vec<u8>>, Reply> {
        if !bytes.contains(&b'$') {
            return Ok(None);
        }
        let Some(sel) = self.selected.as_ref() else {
            return Ok(None);
        };
        match rewrite(bytes, &sel.uids(), &sel.saved) {
            Dollar::Absent => Ok(None),
            Dollar::Rewritten(b) => Ok(Some(b)),
            Dollar::Nothing(verb) => Err(Reply::ok(match verb {
                "FETCH" => "FETCH completed",
                "STORE" => "STORE completed",
                "COPY" => "COPY completed",
                "MOVE" => "MOVE completed",
                _ => "EXPUNGE completed",
            })),
        }
    }

    /// Keeps (or, after a failed SEARCH, empties: RFC 5182 §2.1) the saved result.
    pub(super) fn save_result(&mut self, uids: Vec<u32>) {
        if let Some(sel) = self.selected.as_mut() {
            sel.saved = uids;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(cmd: &str, saved: &[u32]) -> Dollar {
        rewrite(cmd.as_bytes(), &[3, 5, 7, 8, 20], saved)
    }

    fn text(cmd: &str, saved: &[u32]) -> String {
        match rw(cmd, saved) {
            Dollar::Rewritten(b) => String::from_utf8(b).unwrap(),
            other => panic!("{cmd}: {other:?}"),
        }
    }

    #[test]
    fn sets_are_written_out() {
        assert_eq!(
            text("a UID FETCH $ (FLAGS)\r\n", &[5, 7, 8]),
            "a UID FETCH 5,7:8 (FLAGS)\r\n"
        );
        // Message numbers in a non-UID command.
        assert_eq!(
            text("a FETCH $ FLAGS\r\n", &[5, 7, 8]),
            "a FETCH 2:4 FLAGS\r\n"
        );
        assert_eq!(
            text("a store $ +FLAGS (\\Seen)\r\n", &[20]),
            "a store 5 +FLAGS (\\Seen)\r\n"
        );
        assert_eq!(text("a UID EXPUNGE $\r\n", &[3]), "a UID EXPUNGE 3\r\n");
        assert_eq!(
            text("a UID MOVE $ Trash\r\n", &[3, 20]),
            "a UID MOVE 3,20 Trash\r\n"
        );
    }

    #[test]
    fn expunged_and_empty() {
        // 4 and 6 are gone: they drop out; nothing left means nothing to do.
        assert_eq!(
            text("a UID FETCH $ UID\r\n", &[4, 5, 6]),
            "a UID FETCH 5 UID\r\n"
        );
        assert_eq!(
            rw("a UID FETCH $ UID\r\n", &[4, 6]),
            Dollar::Nothing("FETCH")
        );
        assert_eq!(rw("a COPY $ Trash\r\n", &[]), Dollar::Nothing("COPY"));
        assert_eq!(rw("a FETCH 1 FLAGS\r\n", &[3]), Dollar::Absent);
        assert_eq!(rw("a EXPUNGE\r\n", &[3]), Dollar::Absent);
        assert_eq!(rw("a NOOP $\r\n", &[3]), Dollar::Absent);
        assert_eq!(
            rw("a COPY 1 $\r\n", &[3]),
            Dollar::Absent,
            "a mailbox named $"
        );
    }

    #[test]
    fn search_keys() {
        assert_eq!(
            text("a SEARCH $ SEEN\r\n", &[3, 5]),
            "a SEARCH UID 3,5 SEEN\r\n"
        );
        assert_eq!(
            text("a UID SEARCH OR UID $ (NOT $)\r\n", &[7]),
            "a UID SEARCH OR UID 7 (NOT UID 7)\r\n"
        );
        assert_eq!(
            text("a SEARCH RETURN (SAVE) $\r\n", &[]),
            "a SEARCH RETURN (SAVE) NOT ALL\r\n"
        );
        assert_eq!(text("a SEARCH UID $\r\n", &[]), "a SEARCH NOT ALL\r\n");
        // Strings that happen to be "$" stay.
        assert_eq!(rw("a SEARCH SUBJECT $\r\n", &[3]), Dollar::Absent);
        assert_eq!(rw("a SEARCH HEADER X-Cost $\r\n", &[3]), Dollar::Absent);
        assert_eq!(
            text("a SEARCH BODY \"$\" $\r\n", &[3]),
            "a SEARCH BODY \"$\" UID 3\r\n"
        );
        assert_eq!(rw("a SEARCH TEXT {1}\r\n$ ALL\r\n", &[3]), Dollar::Absent);
    }

    /// Odd input is left for imap-codec to refuse; nothing panics.
    #[test]
    fn broken_commands_do_not_panic() {
        for cmd in [
            "$",
            "a SEARCH {",
            "a SEARCH {99999999999999999999999}\r\n$",
            "a SEARCH {2}\r\n$",
            "a SEARCH \"\\",
            "a SEARCH \"$ $",
            "a UID SEARCH UID",
            "a UID",
            "a FETCH",
            "a SEARCH HEADER $",
            "a SEARCH $ $ {0}\r\n",
        ] {
            let _ = rw(cmd, &[3]);
            let _ = rw(cmd, &[]);
        }
    }

    /// The written-out set grows with the mailbox, not with the command:
    /// 100,000 messages, every other one saved.
    #[test]
    fn big_results_stay_cheap() {
        let present: Vec<u32> = (1..=100_000).collect();
        let saved: Vec<u32> = present.iter().copied().step_by(2).collect();
        let t = std::time::Instant::now();
        let Dollar::Rewritten(b) = rewrite(b"a UID FETCH $ FLAGS\r\n", &present, &saved) else {
            panic!("not rewritten");
        };
        assert!(b.len() < 600_000, "{}", b.len());
        assert!(
            t.elapsed() < std::time::Duration::from_secs(1),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn what_save_keeps() {
        let u = [3, 5, 9];
        assert_eq!(to_save(&u, false, false, false), vec![3, 5, 9]);
        assert_eq!(to_save(&u, true, false, false), vec![3]);
        assert_eq!(to_save(&u, true, true, false), vec![3, 9]);
        assert_eq!(to_save(&u, false, true, true), vec![3, 5, 9]);
        assert_eq!(to_save(&[4], true, true, false), vec![4]);
        assert!(to_save(&[], true, false, false).is_empty());
    }
}
