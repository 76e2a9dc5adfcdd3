//! Every body signature at once, in one pass over the object: anchors of at
//! least [`GRAM`] bytes through the hashed 4-gram index ([`crate::grams`]),
//! shorter ones through one Aho-Corasick automaton; only the signatures
//! whose anchor was hit are verified there.

use crate::grams::{GramIndex, GRAM};
use crate::ndb::BodySig;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

pub struct BodyMatcher {
    sigs: Vec<BodySig>,
    grams: GramIndex,
    /// The automaton over the short anchors, and their signatures.
    short: Option<(AhoCorasick, Vec<usize>)>,
}

impl BodyMatcher {
    pub fn new(sigs: Vec<BodySig>) -> Result<BodyMatcher, String> {
        let long = |s: &&BodySig| s.pattern.anchor.len() >= GRAM;
        let grams = GramIndex::new(
            sigs.iter()
                .enumerate()
                .filter(|(_, s)| long(s))
                .map(|(i, s)| (i, s.pattern.anchor.as_slice())),
        );
        let ids: Vec<usize> = (0..sigs.len()).filter(|&i| !long(&&sigs[i])).collect();
        let short = if ids.is_empty() {
            None
        } else {
            let built = AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .build(ids.iter().map(|&i| &sigs[i].pattern.anchor))
                .map_err(|e| format!("cannot build the signature automaton: {e}"))?;
            Some((built, ids))
        };
        Ok(BodyMatcher { sigs, grams, short })
    }

    pub fn len(&self) -> usize {
        self.sigs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sigs.is_empty()
    }

    /// Whether signature `i` matches with its anchor at `at`.
    fn verify(&self, i: usize, data: &[u8], at: usize) -> bool {
        let sig = &self.sigs[i];
        let anchor = &sig.pattern.anchor;
        let len = data.len();
        data[at..].starts_with(anchor)
            && sig
                .pattern
                .verify(data, at, &|start| sig.offset.allows(start, len))
                .is_some()
    }

    /// The name of a signature that matches `data`, if any.
    pub fn find(&self, data: &[u8]) -> Option<&str> {
        let mut found = None;
        self.grams.scan(data, &mut |i, at| {
            let ok = self.verify(i, data, at);
            if ok {
                found = Some(i);
            }
            ok
        });
        if found.is_none() {
            if let Some((ac, ids)) = &self.short {
                for m in ac.find_overlapping_iter(data) {
                    let i = ids[m.pattern().as_usize()];
                    if self.verify(i, data, m.start()) {
                        found = Some(i);
                        break;
                    }
                }
            }
        }
        found.map(|i| self.sigs[i].name.as_str())
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
