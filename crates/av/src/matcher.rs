//! Every body signature at once: one Aho-Corasick automaton over their
//! anchors finds candidate positions in a single pass over the object; only
//! the signatures whose anchor was hit are verified there.

use crate::ndb::BodySig;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

pub struct BodyMatcher {
    sigs: Vec<BodySig>,
    automaton: Option<AhoCorasick>,
}

impl BodyMatcher {
    pub fn new(sigs: Vec<BodySig>) -> Result<BodyMatcher, String> {
        let automaton = if sigs.is_empty() {
            None
        } else {
            let built = AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .build(sigs.iter().map(|s| &s.pattern.anchor))
                .map_err(|e| format!("cannot build the signature automaton: {e}"))?;
            Some(built)
        };
        Ok(BodyMatcher { sigs, automaton })
    }

    pub fn len(&self) -> usize {
        self.sigs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sigs.is_empty()
    }

    /// The first signature (by position of its anchor) that matches `data`.
    pub fn find(&self, data: &[u8]) -> Option<&str> {
        let ac = self.automaton.as_ref()?;
        let len = data.len();
        ac.find_overlapping_iter(data).find_map(|m| {
            let sig = &self.sigs[m.pattern().as_usize()];
            let ok = |start: usize| sig.offset.allows(start, len);
            sig.pattern
                .verify(data, m.start(), &ok)
                .map(|_| sig.name.as_str())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ndb::parse_line;

    fn matcher(lines: &[&str]) -> BodyMatcher {
        BodyMatcher::new(lines.iter().map(|l| parse_line(l).unwrap()).collect()).unwrap()
    }

    #[test]
    fn many_signatures_one_pass() {
        let m = matcher(&["A:0:*:41414141", "B:0:*:4242{2}4242", "C:0:*:4343*4444"]);
        assert_eq!(m.find(b"xxBB..BB"), Some("B"));
        assert_eq!(m.find(b"CC-----DD"), Some("C"));
        assert_eq!(m.find(b"AAA BB.BB CC"), None);
    }

    #[test]
    fn shared_anchor_each_verified() {
        let m = matcher(&["One:0:*:4142434431", "Two:0:*:4142434432"]);
        assert_eq!(m.find(b"..ABCD2"), Some("Two"));
    }

    #[test]
    fn offsets_constrain_the_start() {
        let m = matcher(&["At2:0:2:4142", "End:0:EOF-2:5859"]);
        assert_eq!(m.find(b"..AB"), Some("At2"));
        assert_eq!(m.find(b"...AB"), None);
        assert_eq!(m.find(b"XY..."), None);
        assert_eq!(m.find(b"...XY"), Some("End"));
        let m = matcher(&["Later:0:4:4142"]);
        assert_eq!(m.find(b"AB..AB"), Some("Later"), "the second hit counts");
    }
}
