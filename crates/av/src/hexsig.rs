//! A body signature's hex pattern (ClamAV's `.ndb` HexSignature): bytes as
//! hex pairs, `??` any byte, `a?`/`?a` a nibble, `*` any number of bytes,
//! `{n}`, `{n-m}`, `{-n}`, `{n-}` bounded gaps, `(aa|bbcc)` alternatives.
//! The longest run of plain bytes is the pattern's anchor, fed to the shared
//! automaton; [`Pattern::verify`] checks the rest around each anchor hit.
//!
//! Known but not supported (the line is skipped and counted, not refused):
//! `!(…)` negated alternatives, `[n-m]` anchored byte ranges, `(B)`/`(L)`
//! word and line boundaries.

/// A pattern's elements; more is refused (a signature, not a program).
pub const MAX_ELEMENTS: usize = 4096;
/// Shortest anchor: a run of plain bytes the automaton can look for.
pub const MIN_ANCHOR: usize = 2;
/// Steps one verification may take before it gives up (no match): bounds
/// the backtracking of patterns with many variable gaps.
pub const MAX_VERIFY_STEPS: usize = 100_000;

/// One byte compared under a mask (0xff: exact; 0x00: any).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Byte {
    pub value: u8,
    pub mask: u8,
}

impl Byte {
    fn matches(self, b: u8) -> bool {
        b & self.mask == self.value
    }
    fn plain(self) -> bool {
        self.mask == 0xff
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Elem {
    Bytes(Vec<Byte>),
    /// Any `min..=max` bytes (`usize::MAX`: unbounded).
    Gap {
        min: usize,
        max: usize,
    },
    Alt(Vec<Vec<Byte>>),
}

/// Why a hex signature cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    #[error("bad hex signature: {0}")]
    Malformed(String),
    /// Valid ClamAV syntax this engine does not implement.
    #[error("unsupported signature feature: {0}")]
    Unsupported(&'static str),
}

/// A parsed pattern split at its anchor.
#[derive(Clone, Debug)]
pub struct Pattern {
    /// Elements before the anchor, reversed (each run reversed too), so the
    /// backward match walks them in order.
    before: Vec<Elem>,
    pub anchor: Vec<u8>,
    after: Vec<Elem>,
}

fn malformed(what: impl Into<String>) -> HexError {
    HexError::Malformed(what.into())
}

fn nibble(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// `hh`, `h?`, `?h` or `??`.
fn byte(pair: &[u8]) -> Result<Byte, HexError> {
    let half = |c: u8| match c {
        b'?' => Ok((0, 0)),
        _ => nibble(c)
            .map(|n| (n, 0xf))
            .ok_or_else(|| malformed(format!("'{}' is not a hex digit", c as char))),
    };
    let ((hi, hm), (lo, lm)) = (half(pair[0])?, half(pair[1])?);
    Ok(Byte {
        value: hi << 4 | lo,
        mask: hm << 4 | lm,
    })
}

fn bytes(s: &[u8]) -> Result<Vec<Byte>, HexError> {
    if s.is_empty() || !s.len().is_multiple_of(2) {
        return Err(malformed("odd number of hex digits"));
    }
    s.chunks(2).map(byte).collect()
}

fn number(s: &str) -> Result<usize, HexError> {
    s.parse()
        .map_err(|_| malformed(format!("bad number '{s}' in {{}}")))
}

/// `{n}`, `{n-m}`, `{-n}`, `{n-}` (the text between the braces).
fn gap(inner: &str) -> Result<Elem, HexError> {
    let (min, max) = match inner.split_once('-') {
        None => {
            let n = number(inner)?;
            (n, n)
        }
        Some(("", m)) => (0, number(m)?),
        Some((n, "")) => (number(n)?, usize::MAX),
        Some((n, m)) => (number(n)?, number(m)?),
    };
    if min > max {
        return Err(malformed(format!("empty range {{{inner}}}")));
    }
    Ok(Elem::Gap { min, max })
}

fn alternatives(inner: &[u8]) -> Result<Elem, HexError> {
    if inner == b"B" || inner == b"L" {
        return Err(HexError::Unsupported("(B)/(L) boundaries"));
    }
    let alts = inner
        .split(|&c| c == b'|')
        .map(bytes)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Elem::Alt(alts))
}

fn elements(sig: &[u8]) -> Result<Vec<Elem>, HexError> {
    let mut out: Vec<Elem> = Vec::new();
    let mut i = 0;
    while i < sig.len() {
        if out.len() >= MAX_ELEMENTS {
            return Err(malformed("too long"));
        }
        let close = |c: u8| {
            sig[i..]
                .iter()
                .position(|&x| x == c)
                .map(|n| i + n)
                .ok_or_else(|| malformed(format!("no closing '{}'", c as char)))
        };
        match sig[i] {
            b'*' => {
                out.push(Elem::Gap {
                    min: 0,
                    max: usize::MAX,
                });
                i += 1;
            }
            b'{' => {
                let end = close(b'}')?;
                out.push(gap(&String::from_utf8_lossy(&sig[i + 1..end]))?);
                i = end + 1;
            }
            b'(' => {
                let end = close(b')')?;
                out.push(alternatives(&sig[i + 1..end])?);
                i = end + 1;
            }
            b'!' => return Err(HexError::Unsupported("!(…) negated alternatives")),
            b'[' => return Err(HexError::Unsupported("[n-m] byte ranges")),
            _ => {
                let pair = sig
                    .get(i..i + 2)
                    .ok_or_else(|| malformed("odd number of hex digits"))?;
                let b = byte(pair)?;
                match out.last_mut() {
                    Some(Elem::Bytes(run)) => run.push(b),
                    _ => out.push(Elem::Bytes(vec![b])),
                }
                i += 2;
            }
        }
    }
    Ok(out)
}

/// Where the longest plain run is: (element, start, length).
fn longest_plain(elems: &[Elem]) -> Option<(usize, usize, usize)> {
    let mut best: Option<(usize, usize, usize)> = None;
    for (e, elem) in elems.iter().enumerate() {
        let Elem::Bytes(run) = elem else { continue };
        let mut start = 0;
        for j in 0..=run.len() {
            if j < run.len() && run[j].plain() {
                continue;
            }
            let len = j - start;
            if len > best.map_or(0, |b| b.2) {
                best = Some((e, start, len));
            }
            start = j + 1;
        }
    }
    best
}

fn reversed(elems: &[Elem]) -> Vec<Elem> {
    let rev = |run: &Vec<Byte>| run.iter().rev().copied().collect::<Vec<_>>();
    elems
        .iter()
        .rev()
        .map(|e| match e {
            Elem::Bytes(run) => Elem::Bytes(rev(run)),
            Elem::Alt(alts) => Elem::Alt(alts.iter().map(rev).collect()),
            gap => gap.clone(),
        })
        .collect()
}

impl Pattern {
    pub fn parse(sig: &str) -> Result<Pattern, HexError> {
        let mut elems = elements(sig.trim().as_bytes())?;
        if elems.is_empty() {
            return Err(malformed("empty"));
        }
        let (e, start, len) = longest_plain(&elems)
            .filter(|b| b.2 >= MIN_ANCHOR)
            .ok_or_else(|| malformed("no run of two plain bytes to anchor on"))?;
        let Elem::Bytes(run) = elems.remove(e) else {
            unreachable!("longest_plain returns runs")
        };
        let mut after = elems.split_off(e);
        let mut before = elems;
        if start > 0 {
            before.push(Elem::Bytes(run[..start].to_vec()));
        }
        if start + len < run.len() {
            after.insert(0, Elem::Bytes(run[start + len..].to_vec()));
        }
        Ok(Pattern {
            before: reversed(&before),
            anchor: run[start..start + len].iter().map(|b| b.value).collect(),
            after,
        })
    }

    /// Whether the pattern matches with its anchor at `at`, starting at an
    /// offset `start_ok` accepts; returns that start.
    pub fn verify(
        &self,
        data: &[u8],
        at: usize,
        start_ok: &dyn Fn(usize) -> bool,
    ) -> Option<usize> {
        let mut steps = MAX_VERIFY_STEPS;
        let fwd = Cursor {
            data,
            origin: at + self.anchor.len(),
            backward: false,
        };
        if !walk(&self.after, 0, &fwd, 0, &mut steps, &mut |_| true) {
            return None;
        }
        let back = Cursor {
            data,
            origin: at,
            backward: true,
        };
        let mut found = None;
        walk(&self.before, 0, &back, 0, &mut steps, &mut |k| {
            let ok = start_ok(at - k);
            if ok {
                found = Some(at - k);
            }
            ok
        });
        found
    }
}

/// The data seen from an origin, forwards or backwards.
struct Cursor<'a> {
    data: &'a [u8],
    origin: usize,
    backward: bool,
}

impl Cursor<'_> {
    fn len(&self) -> usize {
        if self.backward {
            self.origin
        } else {
            self.data.len() - self.origin
        }
    }
    fn get(&self, k: usize) -> u8 {
        if self.backward {
            self.data[self.origin - 1 - k]
        } else {
            self.data[self.origin + k]
        }
    }
    fn run_at(&self, k: usize, run: &[Byte]) -> bool {
        k + run.len() <= self.len()
            && run
                .iter()
                .enumerate()
                .all(|(j, b)| b.matches(self.get(k + j)))
    }
}

/// Backtracking match of `elems[e..]` at `k` bytes from the origin; `done`
/// is called with the matched length and may refuse it.
fn walk(
    elems: &[Elem],
    e: usize,
    cur: &Cursor,
    k: usize,
    steps: &mut usize,
    done: &mut dyn FnMut(usize) -> bool,
) -> bool {
    if *steps == 0 {
        return false;
    }
    *steps -= 1;
    let Some(elem) = elems.get(e) else {
        return done(k);
    };
    match elem {
        Elem::Bytes(run) => {
            cur.run_at(k, run) && walk(elems, e + 1, cur, k + run.len(), steps, done)
        }
        Elem::Alt(alts) => alts
            .iter()
            .any(|run| cur.run_at(k, run) && walk(elems, e + 1, cur, k + run.len(), steps, done)),
        Elem::Gap { min, max } => {
            let last = cur.len().min(k.saturating_add(*max));
            (k.saturating_add(*min)..=last).any(|n| walk(elems, e + 1, cur, n, steps, done))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(sig: &str, data: &[u8]) -> Option<usize> {
        let p = Pattern::parse(sig).unwrap();
        let ac = &p.anchor;
        (0..data.len())
            .filter(|&i| data[i..].starts_with(ac))
            .find_map(|i| p.verify(data, i, &|_| true))
    }

    #[test]
    fn plain_bytes() {
        assert_eq!(find("414243", b"xxABCxx"), Some(2));
        assert_eq!(find("414243", b"xxABxCx"), None);
    }

    #[test]
    fn any_byte_and_nibbles() {
        assert_eq!(find("4142??44", b"-ABzD"), Some(1));
        assert_eq!(find("4142??44", b"-ABD"), None);
        assert_eq!(find("41424?", b"ABO"), Some(0));
        assert_eq!(find("41424?", b"ABa"), None);
        assert_eq!(find("4142?f", b"ABo"), Some(0));
        assert_eq!(find("4142?f", b"ABn"), None);
    }

    #[test]
    fn star_gap() {
        assert_eq!(find("4142*5859", b"AB.........XY"), Some(0));
        assert_eq!(find("4142*5859", b"ABXY"), Some(0));
        assert_eq!(find("4142*5859", b"XYAB"), None);
    }

    #[test]
    fn bounded_gaps() {
        assert_eq!(find("4142{2}5859", b"AB..XY"), Some(0));
        assert_eq!(find("4142{2}5859", b"AB...XY"), None);
        assert_eq!(find("4142{1-3}5859", b"AB...XY"), Some(0));
        assert_eq!(find("4142{1-3}5859", b"ABXY"), None);
        assert_eq!(find("4142{1-3}5859", b"AB....XY"), None);
        assert_eq!(find("4142{-2}5859", b"ABXY"), Some(0));
        assert_eq!(find("4142{-2}5859", b"AB...XY"), None);
        assert_eq!(find("4142{3-}5859", b"AB..XY"), None);
        assert_eq!(find("4142{3-}5859", b"AB..........XY"), Some(0));
    }

    #[test]
    fn alternatives_of_any_length() {
        assert_eq!(find("(41|4243)5859", b"BCXY"), Some(0));
        assert_eq!(find("(41|4243)5859", b"-AXY"), Some(1));
        assert_eq!(find("(41|4243)5859", b"CXY"), None);
        assert_eq!(find("5859(41|42)", b"XYB"), Some(0));
        assert_eq!(find("5859(41|42)", b"XYC"), None);
    }

    #[test]
    fn backtracks_past_a_first_candidate() {
        // The first 'X' after AB is followed by the wrong byte.
        assert_eq!(find("4142*58{1}5a", b"ABXqqX.Z"), Some(0));
    }

    #[test]
    fn anchor_is_longest_plain_run() {
        let p = Pattern::parse("41??4243444546*47").unwrap();
        assert_eq!(p.anchor, b"BCDEF");
    }

    #[test]
    fn malformed_and_unsupported() {
        let bad = |s: &str| Pattern::parse(s).unwrap_err();
        assert!(matches!(bad("41424"), HexError::Malformed(_)));
        assert!(matches!(bad("4142zz"), HexError::Malformed(_)));
        assert!(matches!(bad("4142{3"), HexError::Malformed(_)));
        assert!(matches!(bad("4142{5-3}43"), HexError::Malformed(_)));
        assert!(matches!(bad("41??42"), HexError::Malformed(_)), "no anchor");
        assert!(matches!(bad("4142(4344"), HexError::Malformed(_)));
        assert!(matches!(bad("4142!(43|44)"), HexError::Unsupported(_)));
        assert!(matches!(bad("4142[1-2]43"), HexError::Unsupported(_)));
        assert!(matches!(bad("(B)4142"), HexError::Unsupported(_)));
    }

    #[test]
    fn huge_gaps_do_not_overflow() {
        let max = usize::MAX;
        assert_eq!(find(&format!("4142{{{max}}}43"), b"ABC"), None);
        assert_eq!(find(&format!("4142{{{max}-}}43"), b"ABC"), None);
        assert_eq!(find(&format!("41{{{max}}}4243"), b"ABC"), None);
        assert_eq!(find(&format!("4142{{1}}43{{{max}}}44"), b"AB.CD"), None);
    }

    #[test]
    fn pathological_pattern_is_bounded() {
        let p = Pattern::parse("4142*43*44*45*46*47*48*49").unwrap();
        let mut data = b"AB".to_vec();
        data.extend(std::iter::repeat_n(b'C', 5000));
        let t = std::time::Instant::now();
        assert_eq!(p.verify(&data, 0, &|_| true), None);
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
    }
}
