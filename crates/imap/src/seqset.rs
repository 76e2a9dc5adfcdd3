//! Resolving sequence sets (RFC 3501 §9 sequence-set) against the messages of
//! the selected mailbox. The cost follows the number of ranges and of messages
//! present, never the numbers written: `1:4294967295` is as cheap as `1:*`.

use imap_codec::imap_types::sequence::{SeqOrUid, Sequence, SequenceSet};

/// Indexes (0-based positions) of the messages a set names, ascending, each
/// once. `uids` is the mailbox's UIDs in ascending order. `None` when a
/// message sequence number names no message (RFC 9051 §6.4.5: BAD).
pub fn resolve(set: &SequenceSet, uids: &[u32], by_uid: bool) -> Option<Vec<usize>> {
    let mut spans: Vec<(usize, usize)> = Vec::new(); // half-open index ranges
    for seq in set.0.as_ref() {
        let (a, b) = match seq {
            Sequence::Single(x) => (x, x),
            Sequence::Range(x, y) => (x, y),
        };
        let span = if by_uid {
            uid_span(a, b, uids)
        } else {
            seq_span(a, b, uids.len())?
        };
        if span.0 < span.1 {
            spans.push(span);
        }
    }
    spans.sort_unstable();
    let mut out = Vec::new();
    let mut next = 0;
    for (start, end) in spans {
        for i in start.max(next)..end {
            out.push(i);
        }
        next = next.max(end);
    }
    Some(out)
}

/// Whether a UID set names `uid`; "*" stands for `star` (the largest UID).
/// For UIDs that need not be present (RFC 7162 VANISHED, known-uids).
pub fn contains_uid(set: &SequenceSet, uid: u32, star: u32) -> bool {
    set.0.as_ref().iter().any(|seq| {
        let (a, b) = match seq {
            Sequence::Single(x) => (value(x, star), value(x, star)),
            Sequence::Range(x, y) => (value(x, star), value(y, star)),
        };
        (a.min(b)..=a.max(b)).contains(&uid)
    })
}

fn value(x: &SeqOrUid, star: u32) -> u32 {
    match x {
        SeqOrUid::Value(v) => v.get(),
        SeqOrUid::Asterisk => star,
    }
}

fn seq_span(a: &SeqOrUid, b: &SeqOrUid, count: usize) -> Option<(usize, usize)> {
    // "1:*" in an empty mailbox names nothing rather than something absent.
    if count == 0 && (*a == SeqOrUid::Asterisk || *b == SeqOrUid::Asterisk) {
        return Some((0, 0));
    }
    let (a, b) = (value(a, count as u32), value(b, count as u32));
    let (lo, hi) = (a.min(b), a.max(b));
    if lo == 0 || hi as usize > count {
        return None;
    }
    Some((lo as usize - 1, hi as usize))
}

/// RFC 3501 §6.4.8: in a UID range, "*" is the largest UID in use, and the
/// range names the UIDs present between its ends.
fn uid_span(a: &SeqOrUid, b: &SeqOrUid, uids: &[u32]) -> (usize, usize) {
    let star = uids.last().copied().unwrap_or(0);
    let (a, b) = (value(a, star), value(b, star));
    let (lo, hi) = (a.min(b), a.max(b));
    (
        uids.partition_point(|&u| u < lo),
        uids.partition_point(|&u| u <= hi),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> SequenceSet {
        SequenceSet::try_from(s).unwrap()
    }

    #[test]
    fn uid_membership() {
        assert!(contains_uid(&set("1:3,7"), 7, 9));
        assert!(!contains_uid(&set("1:3,7"), 5, 9));
        assert!(contains_uid(&set("5:*"), 9, 9) && !contains_uid(&set("5:*"), 10, 9));
    }

    #[test]
    fn numbers_and_uids() {
        let uids = [3, 5, 9, 10];
        assert_eq!(resolve(&set("1:*"), &uids, false), Some(vec![0, 1, 2, 3]));
        assert_eq!(resolve(&set("2,1,2"), &uids, false), Some(vec![0, 1]));
        assert_eq!(resolve(&set("*:3"), &uids, false), Some(vec![2, 3]));
        assert_eq!(resolve(&set("5"), &uids, false), None);
        assert_eq!(resolve(&set("4:6"), &uids, true), Some(vec![1]));
        assert_eq!(
            resolve(&set("1:4294967295"), &uids, true),
            Some(vec![0, 1, 2, 3])
        );
        assert_eq!(
            resolve(&set("11:*"), &uids, true),
            Some(vec![3]),
            "n:* includes the last"
        );
        assert_eq!(resolve(&set("20"), &uids, true), Some(vec![]));
        assert_eq!(resolve(&set("1:*"), &[], true), Some(vec![]));
        assert_eq!(resolve(&set("1:*"), &[], false), Some(vec![]));
        assert_eq!(resolve(&set("1"), &[], false), None);
    }

    #[test]
    fn huge_sets_cost_what_is_present() {
        let uids: Vec<u32> = (1..=10).collect();
        let many = (1..2000)
            .map(|i| format!("1:{}", u32::MAX - i))
            .collect::<Vec<_>>()
            .join(",");
        let t = std::time::Instant::now();
        assert_eq!(resolve(&set(&many), &uids, true).unwrap().len(), 10);
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
    }
}
