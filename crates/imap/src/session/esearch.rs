//! ESEARCH (RFC 4731): `SEARCH RETURN (MIN MAX ALL COUNT) …` answered by
//! one `* ESEARCH (TAG "t") [UID] …` line. imap-codec does not parse the
//! RETURN options, so they are taken off here and the rest of the command
//! (`tag [UID] SEARCH criteria`) is handed to imap-codec as usual.

use super::copy::uid_set;
use super::reply::Reply;

/// What `RETURN (…)` asked for; `RETURN ()` means ALL (RFC 4731 §3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Want {
    pub min: bool,
    pub max: bool,
    pub all: bool,
    pub count: bool,
    /// SEARCHRES (RFC 5182 §2.1): keep the result as `$`.
    pub save: bool,
}

/// Most return options one command may list.
const MAX_OPTIONS: usize = 8;

/// Finds `RETURN (…)` right after `tag [UID] SEARCH`: the options, and the
/// command without them. `None` when the command is not such a SEARCH;
/// `Some(Err)` when the options are wrong.
pub(super) fn parse(bytes: &[u8]) -> Option<Result<(Want, Vec<u8>), Reply>> {
    let mut words = bytes.splitn(4, |&b| b == b' ');
    let tag = words.next()?;
    let mut head = tag.len() + 1;
    let mut cmd = words.next()?;
    if cmd.eq_ignore_ascii_case(b"UID") {
        head += cmd.len() + 1;
        cmd = words.next()?;
    }
    if !cmd.eq_ignore_ascii_case(b"SEARCH") {
        return None;
    }
    head += cmd.len() + 1;
    let rest = bytes.get(head..)?;
    if rest.len() < 7 || !rest[..7].eq_ignore_ascii_case(b"RETURN ") {
        return None;
    }
    let bad = || Some(Err(Reply::bad("Syntax error in SEARCH RETURN")));
    let Some(opts) = rest[7..].strip_prefix(b"(") else {
        return bad();
    };
    let Some(close) = opts.iter().position(|&b| b == b')') else {
        return bad();
    };
    let Some(want) = options(&opts[..close]) else {
        return bad();
    };
    let Some(criteria) = opts[close + 1..].strip_prefix(b" ") else {
        return bad();
    };
    let mut out = bytes[..head].to_vec();
    out.extend_from_slice(criteria);
    Some(Ok((want, out)))
}

fn options(list: &[u8]) -> Option<Want> {
    let mut w = Want::default();
    let words: Vec<&[u8]> = list
        .split(|&b| b == b' ')
        .filter(|x| !x.is_empty())
        .collect();
    if words.len() > MAX_OPTIONS {
        return None;
    }
    for word in &words {
        match word.to_ascii_uppercase().as_slice() {
            b"MIN" => w.min = true,
            b"MAX" => w.max = true,
            b"ALL" => w.all = true,
            b"COUNT" => w.count = true,
            b"SAVE" => w.save = true,
            _ => return None,
        }
    }
    if words.is_empty() {
        w.all = true;
    }
    Some(w)
}

impl Want {
    /// RFC 5182 §2.4: RETURN (SAVE) alone is answered without ESEARCH.
    pub fn responds(&self) -> bool {
        self.min || self.max || self.all || self.count
    }
}

/// The `ESEARCH` response (without `* `) for the matching numbers
/// (ascending) and their MODSEQs, when a MODSEQ key was used: then the
/// highest of those reported — of MIN and MAX alone when only they are
/// asked (RFC 7162 §3.1.5).
pub(super) fn response(
    tag: &str,
    uid: bool,
    want: Want,
    hits: &[(u32, u64)],
    modseq: bool,
) -> String {
    let mut line = format!("ESEARCH (TAG \"{}\")", tag.replace(['\\', '"'], ""));
    if uid {
        line.push_str(" UID");
    }
    let (first, last) = (hits.first(), hits.last());
    if let (true, Some(m)) = (want.min, first) {
        line.push_str(&format!(" MIN {}", m.0));
    }
    if let (true, Some(m)) = (want.max, last) {
        line.push_str(&format!(" MAX {}", m.0));
    }
    if want.all && !hits.is_empty() {
        line.push_str(&format!(" ALL {}", uid_set(hits.iter().map(|h| h.0))));
    }
    if want.count {
        line.push_str(&format!(" COUNT {}", hits.len()));
    }
    let reported: Vec<u64> = if want.all || want.count {
        hits.iter().map(|h| h.1).collect()
    } else {
        [first.filter(|_| want.min), last.filter(|_| want.max)]
            .into_iter()
            .flatten()
            .map(|h| h.1)
            .collect()
    };
    if let (true, Some(m)) = (modseq, reported.iter().max()) {
        line.push_str(&format!(" MODSEQ {m}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_options_are_taken_off() {
        let (w, rest) = parse(b"a UID SEARCH RETURN (min COUNT) CHARSET UTF-8 ALL\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(
            w,
            Want {
                min: true,
                count: true,
                ..Want::default()
            }
        );
        assert_eq!(rest, b"a UID SEARCH CHARSET UTF-8 ALL\r\n");
        let (w, rest) = parse(b"b search return () seen\r\n").unwrap().unwrap();
        assert!(w.all && !w.min && !w.count);
        assert_eq!(rest, b"b search seen\r\n");
        assert!(parse(b"c SEARCH ALL\r\n").is_none());
        assert!(parse(b"c FETCH 1 ALL\r\n").is_none());
        let (w, _) = parse(b"e SEARCH RETURN (SAVE) ALL\r\n").unwrap().unwrap();
        assert!(
            w.save && !w.all,
            "SAVE alone asks for no ESEARCH (RFC 5182 §2.4)"
        );
        for bad in [
            &b"d SEARCH RETURN (SAVE X) ALL\r\n"[..],
            b"d SEARCH RETURN MIN ALL\r\n",
            b"d SEARCH RETURN (MIN\r\n",
            b"d SEARCH RETURN (MIN)ALL\r\n",
            b"d SEARCH RETURN (MIN MIN MIN MIN MIN MIN MIN MIN MIN) ALL\r\n",
        ] {
            assert!(
                parse(bad).unwrap().is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn responses() {
        let hits = [(1, 10), (2, 30), (3, 20), (6, 5)];
        let all = Want {
            all: true,
            ..Want::default()
        };
        assert_eq!(
            response("t", false, all, &hits, false),
            "ESEARCH (TAG \"t\") ALL 1:3,6"
        );
        let mm = Want {
            min: true,
            max: true,
            ..Want::default()
        };
        assert_eq!(
            response("t", true, mm, &hits, true),
            "ESEARCH (TAG \"t\") UID MIN 1 MAX 6 MODSEQ 10"
        );
        assert_eq!(
            response("t", false, all, &hits, true),
            "ESEARCH (TAG \"t\") ALL 1:3,6 MODSEQ 30"
        );
        let count = Want {
            count: true,
            ..Want::default()
        };
        assert_eq!(
            response("t", false, count, &[], true),
            "ESEARCH (TAG \"t\") COUNT 0"
        );
        assert_eq!(
            response("t", true, all, &[], false),
            "ESEARCH (TAG \"t\") UID"
        );
    }
}
