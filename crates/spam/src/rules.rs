//! Custom rules (SPEC P3, issue 16 item 5): an administrator's tests on a
//! header field or on the body text, each adding points, refusing the
//! message or accepting it as ham. Pure: rules are compiled once (when read
//! from the store) and applied to a message's bytes.
//!
//! A rule is `NAME`, a target (every instance of a header field, unfolded
//! and RFC 2047-decoded, or the decoded text of the body), a condition
//! (`contains` and `equals` ignore case; `matches` is a regular expression,
//! case-sensitive unless it starts with `(?i)`; `empty`; `missing`) and an
//! action (`score N`, added as the test `RULE_<NAME>`; `reject`; `accept`).
//! Rules run in their order: scores add up, and the first `accept` or
//! `reject` that fires ends the run.
//!
//! Bounded time and memory whatever the rule or the message: a regular
//! expression is compiled by the `regex` crate, whose finite automata never
//! backtrack (a search is O(pattern × input), so `(a+)+$` is as cheap as
//! `a+$`), with its program capped at [`REGEX_SIZE_LIMIT`] and its lazy DFA
//! at [`REGEX_DFA_SIZE_LIMIT`]; a pattern is at most [`MAX_PATTERN`] bytes;
//! a condition reads at most [`MAX_TARGET_BYTES`] of its target; there are
//! at most [`MAX_RULES`] rules.

mod form;
mod target;

pub use form::quote;

use crate::check::Test;
use regex::{Regex, RegexBuilder};
use std::borrow::Cow;
use std::fmt;

/// Rules kept (`spam rule add` refuses more): with the two regex limits,
/// at most 200 MiB of compiled programs in the worst case (a Unicode `\w`
/// alone compiles to about 40 KiB, so `\w{20}` fits and `\w{50}` does not).
pub const MAX_RULES: usize = 100;
/// Bytes of a rule's name.
pub const MAX_NAME: usize = 64;
/// Bytes of a `--contains`, `--equals` or `--matches` argument.
pub const MAX_PATTERN: usize = 1000;
/// Bytes of a compiled regular expression (`RegexBuilder::size_limit`).
pub const REGEX_SIZE_LIMIT: usize = 1024 * 1024;
/// Bytes of one regular expression's lazy DFA cache (`dfa_size_limit`).
pub const REGEX_DFA_SIZE_LIMIT: usize = 1024 * 1024;
/// Bytes of its target one condition reads: header instances in order, or
/// the body's decoded text; the rest is not looked at.
pub const MAX_TARGET_BYTES: usize = 64 * 1024;
/// The largest points a rule may add or take away.
pub const MAX_SCORE: f64 = 1000.0;
/// Test names start with this: `RULE_` and the name in capitals.
pub const TEST_PREFIX: &str = "RULE_";

/// What a rule looks at.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// Every instance of this header field (name as given; matched ignoring case).
    Header(String),
    /// The decoded text parts (HTML as text).
    Body,
}

/// What a rule asks of its target.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    Contains(String),
    Equals(String),
    Matches(String),
    /// Present, with an empty value (a header instance; a body without text).
    Empty,
    /// No such header field; a body without any text part.
    Missing,
}

/// What a rule does when it fires.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Action {
    Score(f64),
    Reject,
    Accept,
}

/// A rule as written (and stored).
#[derive(Clone, Debug, PartialEq)]
pub struct RuleSpec {
    pub name: String,
    pub target: Target,
    pub condition: Condition,
    pub action: Action,
}

/// Why a rule is refused.
#[derive(Clone, Debug, PartialEq)]
pub enum RuleError {
    Name(String),
    Header(String),
    TooLong { what: &'static str, len: usize },
    Regex(String),
    Score(f64),
    Stored(String),
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleError::Name(n) => write!(
                f,
                "invalid rule name `{n}`: 1 to {MAX_NAME} letters, digits, `_` or `-`"
            ),
            RuleError::Header(h) => write!(f, "invalid header field name `{h}` (RFC 5322 §2.2)"),
            RuleError::TooLong { what, len } => {
                write!(f, "{what} is {len} bytes long; at most {MAX_PATTERN}")
            }
            RuleError::Regex(e) => write!(f, "invalid regular expression: {e}"),
            RuleError::Score(s) => {
                write!(
                    f,
                    "invalid score {s}: a number from -{MAX_SCORE} to {MAX_SCORE}"
                )
            }
            RuleError::Stored(e) => write!(f, "unreadable stored rule: {e}"),
        }
    }
}

impl std::error::Error for RuleError {}

/// A rule ready to run: its regular expression compiled.
#[derive(Clone, Debug)]
pub struct Rule {
    spec: RuleSpec,
    regex: Option<Regex>,
    /// `contains`/`equals` argument, lowercased once.
    folded: String,
}

/// Compiles a pattern within the bounds above.
fn compile(pattern: &str) -> Result<Regex, RuleError> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => RuleError::Regex(format!(
                "it compiles to more than {limit} bytes (make it simpler)"
            )),
            other => RuleError::Regex(other.to_string()),
        })
}

impl RuleSpec {
    /// Checks the rule and compiles its regular expression.
    pub fn compile(self) -> Result<Rule, RuleError> {
        valid_name(&self.name)?;
        if let Target::Header(h) = &self.target {
            let printable = h.bytes().all(|b| (33..=126).contains(&b) && b != b':');
            if h.is_empty() || h.len() > MAX_NAME || !printable {
                return Err(RuleError::Header(h.clone()));
            }
        }
        if let Action::Score(s) = self.action {
            if !s.is_finite() || s.abs() > MAX_SCORE {
                return Err(RuleError::Score(s));
            }
        }
        let (regex, folded) = match &self.condition {
            Condition::Contains(s) => {
                too_long("the text", s)?;
                (None, s.to_lowercase())
            }
            // Compared with the value's surrounding white space left out.
            Condition::Equals(s) => {
                too_long("the text", s)?;
                (None, s.trim().to_lowercase())
            }
            Condition::Matches(p) => {
                too_long("the regular expression", p)?;
                (Some(compile(p)?), String::new())
            }
            Condition::Empty | Condition::Missing => (None, String::new()),
        };
        Ok(Rule {
            spec: self,
            regex,
            folded,
        })
    }

    /// The test name: `RULE_` and the name in capitals (`-` as `_`).
    pub fn test_name(&self) -> String {
        let name = self.name.to_ascii_uppercase().replace('-', "_");
        format!("{TEST_PREFIX}{name}")
    }
}

fn valid_name(name: &str) -> Result<(), RuleError> {
    let ok = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if name.is_empty() || name.len() > MAX_NAME || !ok {
        return Err(RuleError::Name(name.to_string()));
    }
    Ok(())
}

fn too_long(what: &'static str, s: &str) -> Result<(), RuleError> {
    if s.len() > MAX_PATTERN {
        return Err(RuleError::TooLong { what, len: s.len() });
    }
    Ok(())
}

/// What the rules decided beyond points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Refused, whatever the score.
    Reject,
    /// Ham: nothing else scores it.
    Accept,
}

/// The rules' outcome for one message.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Applied {
    /// One test per rule that fired (0 points for `accept` and `reject`).
    pub tests: Vec<Test>,
    pub decision: Option<Decision>,
}

impl Rule {
    pub fn spec(&self) -> &RuleSpec {
        &self.spec
    }

    /// Whether the rule's condition holds for the message.
    fn fires(&self, msg: &target::Message<'_>) -> bool {
        let c = &self.spec.condition;
        // `contains` and `equals` compare lowercased text.
        let fold = matches!(c, Condition::Contains(_) | Condition::Equals(_));
        let texts = match &self.spec.target {
            Target::Header(name) => msg.header(name, fold).map(Cow::Owned),
            Target::Body => msg.body(fold).map(Cow::Borrowed),
        };
        let Some(texts) = texts else {
            return *c == Condition::Missing;
        };
        match c {
            Condition::Missing => false,
            Condition::Empty => texts.iter().any(|t| t.trim().is_empty()),
            Condition::Contains(_) => texts.iter().any(|t| t.contains(&self.folded)),
            Condition::Equals(_) => texts.iter().any(|t| t.trim() == self.folded),
            Condition::Matches(_) => {
                let re = self.regex.as_ref();
                texts.iter().any(|t| re.is_some_and(|r| r.is_match(t)))
            }
        }
    }
}

/// Runs the rules over a raw message, in order.
pub fn apply(rules: &[Rule], raw: &[u8]) -> Applied {
    let mut out = Applied::default();
    if rules.is_empty() {
        return out;
    }
    let msg = target::Message::new(raw);
    for rule in rules {
        if !rule.fires(&msg) {
            continue;
        }
        let (points, decision) = match rule.spec.action {
            Action::Score(n) => (n, None),
            Action::Reject => (0.0, Some(Decision::Reject)),
            Action::Accept => (0.0, Some(Decision::Accept)),
        };
        out.tests.push(Test {
            name: rule.spec.test_name(),
            points,
        });
        if decision.is_some() {
            out.decision = decision;
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests;
