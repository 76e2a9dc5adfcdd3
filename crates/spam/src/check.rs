//! One message's spam score in points, as `postern spam check` prints it and
//! (later) the filter stage uses it: the classifier's probability mapped to
//! points, plus the header tests, plus GTUBE.

use crate::classifier::Classifier;
use crate::header;
use crate::heuristics;
use crate::tokenize::Tokens;

/// The GTUBE test: a message carrying the string is spam whatever else.
pub const GTUBE: f64 = 1000.0;
/// The classifier's probability from which it alone reaches the default
/// tag score ([`DEFAULT_TAG`]), and the points per unit of probability around
/// it. Chosen by 5-fold cross-validation on the training half of the
/// SpamAssassin corpus (bench/README.md): messages whose strong clues
/// conflict combine to about 0.5, and there they are more often spam.
pub const BAYES_SPAM_FROM: f64 = 0.48;
pub const BAYES_SLOPE: f64 = 16.0;
/// `spam.tag_score`'s default, which [`BAYES_SPAM_FROM`] is calibrated to.
pub const DEFAULT_TAG: f64 = 5.0;

/// A test that fired and the points it added.
#[derive(Clone, Debug, PartialEq)]
pub struct Test {
    pub name: String,
    pub points: f64,
}

/// The outcome for one message.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The classifier's probability of spam.
    pub probability: f64,
    pub score: f64,
    pub tests: Vec<Test>,
}

impl Report {
    /// `NAME=POINTS` of each test, comma-separated.
    pub fn tests_line(&self) -> String {
        let parts: Vec<String> = self
            .tests
            .iter()
            .map(|t| format!("{}={:+.2}", t.name, t.points))
            .collect();
        parts.join(",")
    }
}

/// Scores a raw message.
pub fn check(classifier: &Classifier, raw: &[u8]) -> Report {
    let tokens = Tokens::from_message(raw);
    let head = &raw[..header::header_end(raw)];
    check_tokens(classifier, &tokens, &header::fields(head))
}

/// Scores a raw message after the custom rules (crates/spam/src/rules.rs),
/// whose tests come first: an `accept` that fires ends it as ham and a
/// `reject` as refused, neither asking the classifier or the header tests.
pub fn check_with_rules(
    classifier: &Classifier,
    rules: &[crate::rules::Rule],
    raw: &[u8],
) -> (Report, Option<crate::rules::Decision>) {
    let applied = crate::rules::apply(rules, raw);
    let mut report = match applied.decision {
        // Not asked: the classifier's neutral probability.
        Some(_) => Report {
            probability: 0.5,
            score: 0.0,
            tests: Vec::new(),
        },
        None => check(classifier, raw),
    };
    let mut tests = applied.tests;
    tests.append(&mut report.tests);
    // + 0.0: an empty f64 sum is -0.0, which would print as "-0.00".
    report.score = tests.iter().map(|t| t.points).sum::<f64>() + 0.0;
    report.tests = tests;
    (report, applied.decision)
}

/// Scores a message already tokenized, with its top-level header fields.
pub fn check_tokens(
    classifier: &Classifier,
    tokens: &Tokens,
    fields: &[(String, String)],
) -> Report {
    let (probability, clues) = classifier.score_clues(tokens);
    let mut tests = Vec::new();
    // Untrained, or no token known: the classifier has nothing to say.
    if clues > 0 {
        tests.push(Test {
            name: format!("BAYES({probability:.4})"),
            points: bayes_points(probability),
        });
    }
    if tokens.gtube() {
        tests.push(Test {
            name: "GTUBE".into(),
            points: GTUBE,
        });
    }
    tests.extend(
        heuristics::run(fields)
            .into_iter()
            .map(|(name, points)| Test {
                name: name.into(),
                points,
            }),
    );
    Report {
        probability,
        score: tests.iter().map(|t| t.points).sum(),
        tests,
    }
}

/// The classifier's probability in points: linear, [`DEFAULT_TAG`] at
/// [`BAYES_SPAM_FROM`].
pub fn bayes_points(p: f64) -> f64 {
    DEFAULT_TAG + BAYES_SLOPE * (p - BAYES_SPAM_FROM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtube_is_spam_untrained() {
        let raw = format!(
            "Subject: test\r\nDate: x\r\nMessage-ID: <a@b>\r\n\r\n{}\r\n",
            crate::tokenize::GTUBE_MARK
        );
        let r = check(&Classifier::default(), raw.as_bytes());
        assert!(r.score >= GTUBE, "{r:?}");
        assert_eq!(r.tests_line(), "GTUBE=+1000.00", "untrained: no BAYES");
    }

    #[test]
    fn gtube_inside_base64_part() {
        let b64 = "WEpTKkM0SkRCUUFETjEuTlNCTjMqMklETkVOKkdUVUJFLVNUQU5EQVJELUFOVEktVUJFLVRFU1QtRU1BSUwqQy4zNFg=";
        let raw = format!("Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--q--\r\n");
        assert!(check(&Classifier::default(), raw.as_bytes()).score >= GTUBE);
    }
}
