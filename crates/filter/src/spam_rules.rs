//! The spam stage with the custom rules (issue 16 item 5) in front, and the
//! auto-learning decision (item 6). Rules run first and in order
//! (crates/spam/src/rules.rs): their points join the score; a `reject` that
//! fires refuses the message whatever its score (550 5.7.1 naming no rule,
//! or a discard with `spam.reject_action = "discard"`), an `accept` makes it
//! ham with no other test (but a DMARC refusal still stands).
//!
//! Auto-learning (`spam.auto_learn`) looks at the score without the
//! classifier's own `BAYES` points: from `spam.auto_learn_spam` the message
//! is learned as spam, at or below `spam.auto_learn_ham` as ham. A
//! classifier that decided alone would only learn what it already believes
//! and drift on its own mistakes; the rules, header, GTUBE and
//! authentication tests are independent of it, so no loop feeds it back.

use crate::context::Context;
use crate::results::Results;
use crate::spam::{Class, SpamOutcome};
use crate::verdict::{Action, Verdict};
use postern_config::Spam;
use postern_spam::rules::{Decision, Rule, TEST_PREFIX};
use postern_spam::{Class as Learned, Classifier};

/// The reply text of a refusal by a rule: nothing internal (no rule name).
pub const RULE_REJECT_TEXT: &str = "Message refused as spam";
/// The classifier's tests start with this (`BAYES(0.9876)`).
const CLASSIFIER_TEST: &str = "BAYES";

/// Scores the message after the custom rules; also returns what a rule
/// decided, if one did.
pub fn score_with_rules(
    raw: &[u8],
    results: &Results,
    classifier: &Classifier,
    rules: &[Rule],
    cfg: &Spam,
) -> (SpamOutcome, Option<Decision>) {
    let (mut report, decision) = postern_spam::check_with_rules(classifier, rules, raw);
    if decision.is_none() {
        report.tests.extend(crate::spam::auth_tests(results));
    }
    // + 0.0: an empty f64 sum is -0.0, which would print as "-0.00".
    report.score = report.tests.iter().map(|t| t.points).sum::<f64>() + 0.0;
    let class = match decision {
        Some(Decision::Reject) => Class::Reject,
        Some(Decision::Accept) => Class::Ham,
        None if report.score >= cfg.reject_score => Class::Reject,
        None if report.score >= cfg.tag_score => Class::Spam,
        None => Class::Ham,
    };
    (SpamOutcome { report, class }, decision)
}

impl Verdict {
    /// Applies the outcome as `add_spam` does; a refusal by a rule gets a
    /// reply naming nothing internal, and the rule in the security log.
    pub fn add_spam_ruled(
        &mut self,
        ctx: &Context<'_>,
        spam: &SpamOutcome,
        decision: Option<Decision>,
        cfg: &Spam,
    ) {
        let before = self.action.clone();
        self.add_spam(ctx, spam, cfg);
        if decision != Some(Decision::Reject) || self.action == before {
            return;
        }
        if let Action::Reject(reply) = &mut self.action {
            reply.text = RULE_REJECT_TEXT.into();
        }
        let rule = spam
            .report
            .tests
            .iter()
            .rev()
            .find(|t| t.name.starts_with(TEST_PREFIX));
        if let Some(t) = rule {
            self.reason = Some(format!("spam rule {}", t.name));
        }
    }
}

/// What auto-learning learns from a scored message, if anything.
pub fn auto_learn(spam: &SpamOutcome, cfg: &Spam) -> Option<Learned> {
    if !cfg.auto_learn {
        return None;
    }
    let independent: f64 = spam
        .report
        .tests
        .iter()
        .filter(|t| !t.name.starts_with(CLASSIFIER_TEST))
        .map(|t| t.points)
        .sum();
    if independent >= cfg.auto_learn_spam {
        Some(Learned::Spam)
    } else if independent <= cfg.auto_learn_ham {
        Some(Learned::Ham)
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
