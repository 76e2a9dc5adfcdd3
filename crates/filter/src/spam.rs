//! The spam stage (issue 16 item 4): the learning classifier's points, the
//! header tests and GTUBE (crates/spam), plus a few points from what the
//! authentication stages found, become the message's score; from
//! `spam.tag_score` it is tagged and goes to Junk, from `spam.reject_score`
//! it is refused (or discarded). Pure: the classifier is shared read-only.

use crate::context::Context;
use crate::results::{AuthResult, Results};
use crate::verdict::{Action, Reply, Verdict};
use postern_config::{RejectAction, Spam};
use postern_spam::{Classifier, Report, Test};
use std::ops::Range;

/// Points for SPF `fail` of MAIL FROM (RFC 7208 §8.4): the domain says this
/// client may not send its mail.
pub const SPF_FAIL: f64 = 2.0;
/// Points for SPF `softfail` (RFC 7208 §8.5): probably not allowed.
pub const SPF_SOFTFAIL: f64 = 0.5;
/// Points for DMARC `fail` (RFC 7489 §6.6.2): From is not authenticated.
pub const DMARC_FAIL: f64 = 3.0;
/// The fields whose names start with this are ours alone: incoming ones are
/// removed before scoring, so no sender can claim a score.
pub const OWN_PREFIX: &[u8] = b"X-Spam-";

/// Where a message's score puts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Ham,
    /// At least `spam.tag_score`.
    Spam,
    /// At least `spam.reject_score`.
    Reject,
}

/// The stage's outcome: the score with the tests that fired, and the class.
#[derive(Clone, Debug, PartialEq)]
pub struct SpamOutcome {
    pub report: Report,
    pub class: Class,
}

impl SpamOutcome {
    /// The mail.log fields: `spam=SCORE spam_tests=NAME=POINTS,...`.
    pub fn log_fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("spam", format!("{:.2}", self.report.score)),
            ("spam_tests", self.report.tests_line()),
        ]
    }
}

/// Scores the message: the classifier and header tests over its bytes, then
/// the authentication results' points.
pub fn score(raw: &[u8], results: &Results, classifier: &Classifier, cfg: &Spam) -> SpamOutcome {
    let mut report = postern_spam::check(classifier, raw);
    report.tests.extend(auth_tests(results));
    report.score = report.tests.iter().map(|t| t.points).sum();
    let class = classify(report.score, cfg);
    SpamOutcome { report, class }
}

/// Where `score` puts a message.
pub fn classify(score: f64, cfg: &Spam) -> Class {
    if score >= cfg.reject_score {
        Class::Reject
    } else if score >= cfg.tag_score {
        Class::Spam
    } else {
        Class::Ham
    }
}

impl SpamOutcome {
    /// Adds tests from other stages (DNS lists) and classes the new score.
    pub fn add_tests(&mut self, tests: Vec<Test>, cfg: &Spam) {
        if tests.is_empty() {
            return;
        }
        self.report.tests.extend(tests);
        self.report.score = self.report.tests.iter().map(|t| t.points).sum();
        self.class = classify(self.report.score, cfg);
    }
}

pub(crate) fn auth_tests(r: &Results) -> Vec<Test> {
    let mut tests = Vec::new();
    let mut add = |name: &str, points| {
        tests.push(Test {
            name: name.into(),
            points,
        })
    };
    match r.spf.as_ref().map(|s| s.mail_from) {
        Some(AuthResult::Fail) => add("SPF_FAIL", SPF_FAIL),
        Some(AuthResult::SoftFail) => add("SPF_SOFTFAIL", SPF_SOFTFAIL),
        _ => {}
    }
    if r.dmarc
        .as_ref()
        .is_some_and(|d| d.result == AuthResult::Fail)
    {
        add("DMARC_FAIL", DMARC_FAIL);
    }
    tests
}

/// Byte ranges of the incoming X-Spam-* fields (whole fields, folding included).
pub fn forged_headers(ctx: &Context<'_>) -> Vec<Range<usize>> {
    field_ranges(ctx, |name| {
        name.len() >= OWN_PREFIX.len() && name[..OWN_PREFIX.len()].eq_ignore_ascii_case(OWN_PREFIX)
    })
}

fn field_ranges(ctx: &Context<'_>, pick: impl Fn(&[u8]) -> bool) -> Vec<Range<usize>> {
    let Some(msg) = &ctx.message else {
        return vec![];
    };
    let base = ctx.raw.as_ptr() as usize;
    msg.headers
        .iter()
        .filter(|(name, _)| pick(name))
        .map(|(name, value)| {
            let start = name.as_ptr() as usize - base;
            start..value.as_ptr() as usize - base + value.len()
        })
        .collect()
}

impl Verdict {
    /// Removes the incoming X-Spam-* fields (`forged`).
    pub fn remove_fields(&mut self, forged: Vec<Range<usize>>) {
        self.remove.extend(forged);
        self.remove.sort_by_key(|r| r.start);
        self.remove.dedup();
    }

    /// Applies the spam stage's outcome: refused (or discarded) from
    /// `reject_score`, tagged and into Junk from `tag_score`. A refusal or
    /// deferral already decided (DMARC) stands.
    pub fn add_spam(&mut self, ctx: &Context<'_>, spam: &SpamOutcome, cfg: &Spam) {
        if matches!(self.action, Action::Reject(_) | Action::Defer(_)) {
            return;
        }
        let score = spam.report.score;
        match spam.class {
            Class::Ham => return,
            Class::Reject => {
                self.action = match cfg.reject_action {
                    RejectAction::Reject => Action::Reject(Reply {
                        code: 550,
                        enhanced: "5.7.1",
                        text: format!("Message refused as spam (score {score:.1})"),
                    }),
                    RejectAction::Discard => Action::Discard,
                };
            }
            Class::Spam => {
                self.action = Action::Junk;
                self.add_headers.push_str(&spam_headers(&spam.report, cfg));
                self.tag_subject(ctx, &cfg.subject_tag);
            }
        }
        // A refusal or discard is the spam score's doing alone.
        if self.reason.is_none() || spam.class == Class::Reject {
            self.reason = Some(format!("spam score {score:.2}"));
        }
    }

    /// Puts `tag` before the Subject: the field is removed and written again
    /// on top with its value as received (folding included).
    fn tag_subject(&mut self, ctx: &Context<'_>, tag: &str) {
        if tag.is_empty() {
            return;
        }
        let subject = field_ranges(ctx, |n| n.eq_ignore_ascii_case(b"Subject"));
        let value = subject.first().map(|r| {
            let field = &ctx.raw[r.clone()];
            let colon = field.iter().position(|&b| b == b':').unwrap_or(0);
            String::from_utf8_lossy(&field[colon + 1..]).into_owned()
        });
        let value = value.unwrap_or_default();
        let sep = if value.starts_with([' ', '\t']) || value.is_empty() {
            ""
        } else {
            " "
        };
        let value = value.trim_end_matches(['\r', '\n']);
        self.add_headers
            .push_str(&format!("Subject: {tag}{sep}{value}\r\n"));
        self.remove_fields(subject.into_iter().take(1).collect());
    }
}

/// X-Spam-Flag, X-Spam-Score and X-Spam-Status (SpamAssassin's names).
fn spam_headers(r: &Report, cfg: &Spam) -> String {
    let names: Vec<&str> = r.tests.iter().map(|t| t.name.as_str()).collect();
    format!(
        "X-Spam-Flag: YES\r\nX-Spam-Score: {:.1}\r\nX-Spam-Status: Yes, score={:.1} required={:.1}\r\n\ttests={}\r\n",
        r.score,
        r.score,
        cfg.tag_score,
        names.join(",")
    )
}

#[cfg(test)]
mod tests;
