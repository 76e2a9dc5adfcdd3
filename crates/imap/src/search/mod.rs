//! SEARCH criteria (RFC 3501 §6.4.4), sans I/O.
//!
//! imap-codec's keys are compiled once into [`Key`]: sequence and UID sets
//! become sorted ranges (a membership test is a binary search, whatever the
//! set's size), text needles are lowercased, ANDs test cheap keys before keys
//! that need the message's header, and those before keys that need its body.
//! Evaluation then costs messages × keys; a header key reads only the header
//! (from the header cache when it is there), and a message's body is read and
//! decoded at most once, only when a key needs it.

mod text;

pub use text::{Content, Headers};

use std::sync::Arc;

use imap_codec::imap_types::search::SearchKey;
use imap_codec::imap_types::sequence::{SeqOrUid, Sequence, SequenceSet};
use postern_store::mailbox::MessageInfo;

/// Deepest nesting of keys (NOT, OR, parentheses) evaluated. imap-codec
/// already refuses more than 9 levels while parsing; this bound keeps the
/// evaluator's recursion safe whatever builds the keys.
pub const MAX_SEARCH_DEPTH: usize = 32;

/// Keys nested deeper than [`MAX_SEARCH_DEPTH`].
#[derive(Debug, PartialEq, Eq)]
pub struct TooDeep;

/// Inclusive ranges, sorted and disjoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranges(Vec<(u32, u32)>);

impl Ranges {
    /// `star` is what "*" stands for: the last sequence number or the largest UID.
    fn new(set: &SequenceSet, star: u32) -> Ranges {
        let value = |x: &SeqOrUid| match x {
            SeqOrUid::Value(v) => v.get(),
            SeqOrUid::Asterisk => star,
        };
        let mut v: Vec<(u32, u32)> = set
            .0
            .as_ref()
            .iter()
            .map(|s| match s {
                Sequence::Single(x) => (value(x), value(x)),
                Sequence::Range(a, b) => {
                    let (a, b) = (value(a), value(b));
                    (a.min(b), a.max(b))
                }
            })
            .collect();
        v.sort_unstable();
        let mut out: Vec<(u32, u32)> = Vec::with_capacity(v.len());
        for (a, b) in v {
            match out.last_mut() {
                Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                _ => out.push((a, b)),
            }
        }
        Ranges(out)
    }

    fn contains(&self, n: u32) -> bool {
        let i = self.0.partition_point(|r| r.1 < n);
        self.0.get(i).is_some_and(|r| r.0 <= n)
    }
}

/// Which date a date key compares, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Before,
    On,
    Since,
}

/// A compiled search key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Const(bool),
    And(Vec<Key>),
    Or(Box<Key>, Box<Key>),
    Not(Box<Key>),
    Seq(Ranges),
    Uid(Ranges),
    /// A flag (system or keyword) set (`true`) or not set (`false`).
    Flag(String, bool),
    Larger(u64),
    Smaller(u64),
    /// INTERNALDATE's day (UTC) against a day number.
    Internal(When, i64),
    /// The Date: field's day against a day number.
    Sent(When, i64),
    /// A header field (lowercase name) containing a lowercase needle.
    Header(String, String),
    Body(String),
    Text(String),
    /// RFC 7162 §3.1.5: MODSEQ at least this.
    ModSeq(u64),
}

/// Days since 1970-01-01 of a search date.
fn date_day(d: &imap_codec::imap_types::datetime::NaiveDate) -> i64 {
    d.as_ref()
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp().div_euclid(86_400))
        .unwrap_or(0)
}

fn needle(s: &impl AsRef<[u8]>) -> String {
    String::from_utf8_lossy(s.as_ref()).to_lowercase()
}

/// Compiles the criteria of one SEARCH (implicitly ANDed) for a mailbox of
/// `count` messages whose largest UID is `max_uid`.
pub fn compile(keys: &[SearchKey<'_>], count: u32, max_uid: u32) -> Result<Key, TooDeep> {
    let ctx = (count, max_uid);
    let all = keys
        .iter()
        .map(|k| one(k, ctx, 1))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(and(all))
}

fn and(mut keys: Vec<Key>) -> Key {
    if keys.len() == 1 {
        return keys.pop().unwrap_or(Key::Const(true));
    }
    // Cheap tests first: a message failing one is never read.
    keys.sort_by_key(Key::cost);
    Key::And(keys)
}

fn one(k: &SearchKey<'_>, ctx: (u32, u32), depth: usize) -> Result<Key, TooDeep> {
    use SearchKey as S;
    if depth > MAX_SEARCH_DEPTH {
        return Err(TooDeep);
    }
    let flag = |name: &str, set: bool| Key::Flag(name.to_string(), set);
    let header = |name: &str, v: &dyn AsRef<[u8]>| {
        Key::Header(
            name.into(),
            String::from_utf8_lossy(v.as_ref()).to_lowercase(),
        )
    };
    Ok(match k {
        S::And(v) => and(v
            .as_ref()
            .iter()
            .map(|k| one(k, ctx, depth + 1))
            .collect::<Result<Vec<_>, _>>()?),
        S::Or(a, b) => {
            let (a, b) = (one(a, ctx, depth + 1)?, one(b, ctx, depth + 1)?);
            // The cheap side first: when it matches, the text is never read.
            if a.cost() > b.cost() {
                Key::Or(Box::new(b), Box::new(a))
            } else {
                Key::Or(Box::new(a), Box::new(b))
            }
        }
        S::Not(k) => Key::Not(Box::new(one(k, ctx, depth + 1)?)),
        S::SequenceSet(s) => Key::Seq(Ranges::new(s, ctx.0)),
        S::Uid(s) => Key::Uid(Ranges::new(s, ctx.1)),
        S::All => Key::Const(true),
        // The session marks its recent messages with \Recent (RFC 3501 §2.3.2).
        S::Recent => flag("\\Recent", true),
        S::New => and(vec![flag("\\Recent", true), flag("\\Seen", false)]),
        S::Old => flag("\\Recent", false),
        S::Answered => flag("\\Answered", true),
        S::Deleted => flag("\\Deleted", true),
        S::Draft => flag("\\Draft", true),
        S::Flagged => flag("\\Flagged", true),
        S::Seen => flag("\\Seen", true),
        S::Unanswered => flag("\\Answered", false),
        S::Undeleted => flag("\\Deleted", false),
        S::Undraft => flag("\\Draft", false),
        S::Unflagged => flag("\\Flagged", false),
        S::Unseen => flag("\\Seen", false),
        S::Keyword(a) => flag(a.as_ref(), true),
        S::Unkeyword(a) => flag(a.as_ref(), false),
        S::Larger(n) => Key::Larger(*n as u64),
        S::Smaller(n) => Key::Smaller(*n as u64),
        S::Before(d) => Key::Internal(When::Before, date_day(d)),
        S::On(d) => Key::Internal(When::On, date_day(d)),
        S::Since(d) => Key::Internal(When::Since, date_day(d)),
        S::SentBefore(d) => Key::Sent(When::Before, date_day(d)),
        S::SentOn(d) => Key::Sent(When::On, date_day(d)),
        S::SentSince(d) => Key::Sent(When::Since, date_day(d)),
        S::Bcc(v) => header("bcc", v),
        S::Cc(v) => header("cc", v),
        S::From(v) => header("from", v),
        S::To(v) => header("to", v),
        S::Subject(v) => header("subject", v),
        S::Header(name, v) => Key::Header(
            String::from_utf8_lossy(name.as_ref()).to_ascii_lowercase(),
            needle(v),
        ),
        S::Body(v) => Key::Body(needle(v)),
        S::Text(v) => Key::Text(needle(v)),
        S::ModSequence { modseq, .. } => Key::ModSeq(*modseq),
        #[allow(unreachable_patterns)]
        _ => Key::Const(false),
    })
}

fn compare(when: When, day: i64, against: i64) -> bool {
    match when {
        When::Before => day < against,
        When::On => day == against,
        When::Since => day >= against,
    }
}

fn has_flag(flags: &str, flag: &str) -> bool {
    flags.split(' ').any(|f| f.eq_ignore_ascii_case(flag))
}

/// What a search reads of a message.
pub trait Source {
    /// Its top-level header fields; None when it cannot be read.
    fn headers(&self, m: &MessageInfo) -> Option<Arc<Headers>>;
    /// The whole message; None when it cannot be read.
    fn read(&self, m: &MessageInfo) -> Option<Vec<u8>>;
}

/// A [`Source`] that reads whole messages only (the header is parsed from them).
#[cfg(test)]
pub struct Whole<F>(pub F);

#[cfg(test)]
impl<F: Fn(&MessageInfo) -> Option<Vec<u8>>> Source for Whole<F> {
    fn headers(&self, m: &MessageInfo) -> Option<Arc<Headers>> {
        (self.0)(m).map(|raw| Arc::new(Headers::parse(&raw)))
    }

    fn read(&self, m: &MessageInfo) -> Option<Vec<u8>> {
        (self.0)(m)
    }
}

/// One message's header and text, each read and decoded on first need.
pub struct Lazy<'s> {
    src: &'s dyn Source,
    msg: &'s MessageInfo,
    head: Option<Arc<Headers>>,
    full: Option<Content>,
}

impl<'s> Lazy<'s> {
    pub fn new(src: &'s dyn Source, msg: &'s MessageInfo) -> Self {
        Lazy {
            src,
            msg,
            head: None,
            full: None,
        }
    }

    fn head(&mut self) -> &Headers {
        if let Some(c) = &self.full {
            return &c.head;
        }
        let (src, msg) = (self.src, self.msg);
        self.head
            .get_or_insert_with(|| src.headers(msg).unwrap_or_default())
    }

    fn full(&mut self) -> &Content {
        let (src, msg) = (self.src, self.msg);
        self.full.get_or_insert_with(|| {
            src.read(msg)
                .map(|b| Content::parse(&b))
                .unwrap_or_default()
        })
    }
}

impl Key {
    /// What testing the key reads: 0 nothing, 1 the header, 2 the body.
    pub fn cost(&self) -> u8 {
        match self {
            Key::And(v) => v.iter().map(Key::cost).max().unwrap_or(0),
            Key::Or(a, b) => a.cost().max(b.cost()),
            Key::Not(k) => k.cost(),
            Key::Sent(..) | Key::Header(..) => 1,
            Key::Body(_) | Key::Text(_) => 2,
            _ => 0,
        }
    }

    /// Whether a MODSEQ key is used (the answer then carries the highest MODSEQ).
    pub fn uses_modseq(&self) -> bool {
        match self {
            Key::And(v) => v.iter().any(Key::uses_modseq),
            Key::Or(a, b) => a.uses_modseq() || b.uses_modseq(),
            Key::Not(k) => k.uses_modseq(),
            Key::ModSeq(_) => true,
            _ => false,
        }
    }

    /// Whether message `seq` (1-based) matches.
    pub fn matches(&self, seq: u32, m: &MessageInfo, text: &mut Lazy<'_>) -> bool {
        let day = |secs: i64| secs.div_euclid(86_400);
        match self {
            Key::Const(b) => *b,
            Key::And(v) => v.iter().all(|k| k.matches(seq, m, text)),
            Key::Or(a, b) => a.matches(seq, m, text) || b.matches(seq, m, text),
            Key::Not(k) => !k.matches(seq, m, text),
            Key::Seq(r) => r.contains(seq),
            Key::Uid(r) => r.contains(m.uid),
            Key::Flag(f, set) => has_flag(&m.flags, f) == *set,
            Key::Larger(n) => m.size > *n,
            Key::Smaller(n) => m.size < *n,
            Key::Internal(w, d) => compare(*w, day(m.internal_date), *d),
            Key::Sent(w, d) => text.head().sent_day().is_some_and(|s| compare(*w, s, *d)),
            Key::Header(name, n) => text.head().header_has(name, n),
            Key::Body(n) => text.full().body_has(n),
            Key::Text(n) => text.full().text_has(n),
            Key::ModSeq(v) => m.modseq >= *v,
        }
    }
}

/// The indexes (0-based) of the messages matching `key`, ascending.
/// `read` gives a message's bytes (None when unreadable: no text matches).
#[cfg(test)]
pub fn run(
    key: &Key,
    msgs: &[MessageInfo],
    read: &dyn Fn(&MessageInfo) -> Option<Vec<u8>>,
) -> Vec<usize> {
    run_with(key, msgs, &Whole(read))
}

/// The indexes (0-based) of the messages matching `key`, ascending, reading
/// through `src` (an unreadable message matches no text key).
pub fn run_with(key: &Key, msgs: &[MessageInfo], src: &dyn Source) -> Vec<usize> {
    let mut hits = Vec::new();
    for (i, m) in msgs.iter().enumerate() {
        let mut lazy = Lazy::new(src, m);
        if key.matches(i as u32 + 1, m, &mut lazy) {
            hits.push(i);
        }
    }
    hits
}

#[cfg(test)]
mod tests;
