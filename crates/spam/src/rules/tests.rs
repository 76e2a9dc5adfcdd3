use super::*;
use std::time::{Duration, Instant};

fn rule(name: &str, target: Target, condition: Condition, action: Action) -> Rule {
    RuleSpec {
        name: name.into(),
        target,
        condition,
        action,
    }
    .compile()
    .unwrap()
}

fn subject(c: Condition, a: Action) -> Rule {
    rule("subj", Target::Header("Subject".into()), c, a)
}

fn names(a: &Applied) -> Vec<(&str, f64)> {
    a.tests
        .iter()
        .map(|t| (t.name.as_str(), t.points))
        .collect()
}

const MSG: &[u8] = b"Subject: =?utf-8?Q?Cheap_pills?=\r\n now\r\nX-Tag: one\r\nX-Tag:\r\nFrom: a@b.example\r\n\r\nHello World\r\n";

#[test]
fn header_conditions_see_unfolded_decoded_instances() {
    let hit = |c: Condition| {
        !apply(&[subject(c, Action::Score(1.0))], MSG)
            .tests
            .is_empty()
    };
    assert!(
        hit(Condition::Contains("PILLS now".into())),
        "decoded, unfolded, any case"
    );
    assert!(hit(Condition::Equals("cheap pills NOW".into())));
    assert!(
        hit(Condition::Equals(" Cheap pills now ".into())),
        "white space around aside"
    );
    assert!(!hit(Condition::Equals("cheap pills".into())));
    assert!(hit(Condition::Matches("^Cheap .* now$".into())));
    assert!(
        !hit(Condition::Matches("^cheap".into())),
        "regex is case-sensitive"
    );
    assert!(hit(Condition::Matches("(?i)^cheap".into())));
    assert!(!hit(Condition::Empty) && !hit(Condition::Missing));
    let tag = |c: Condition| {
        let r = rule("t", Target::Header("x-tag".into()), c, Action::Score(1.0));
        !apply(&[r], MSG).tests.is_empty()
    };
    assert!(tag(Condition::Equals("ONE".into())), "any instance");
    assert!(tag(Condition::Empty), "the second instance is empty");
    let date = rule(
        "d",
        Target::Header("Date".into()),
        Condition::Missing,
        Action::Score(2.0),
    );
    assert_eq!(names(&apply(&[date], MSG)), [("RULE_D", 2.0)]);
}

#[test]
fn body_is_decoded_text_parts_not_attachments() {
    let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\nPGI+Q2FzaW5vPC9iPiBib251cw==\r\n--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\nsecret\r\n--b--\r\n";
    let body = |c: Condition| {
        let r = rule("b", Target::Body, c, Action::Score(1.0));
        !apply(&[r], raw).tests.is_empty()
    };
    assert!(body(Condition::Contains("CASINO".into())));
    assert!(!body(Condition::Contains("<b>".into())), "HTML as text");
    assert!(
        !body(Condition::Contains("secret".into())),
        "an attachment is not body"
    );
    assert!(!body(Condition::Missing) && !body(Condition::Empty));
    let image = b"Content-Type: image/png\r\n\r\nxx";
    let r = rule("b", Target::Body, Condition::Missing, Action::Score(1.0));
    assert_eq!(apply(&[r], image).tests.len(), 1);
}

#[test]
fn in_order_scores_add_and_first_decision_wins() {
    let rules = [
        subject(Condition::Contains("pills".into()), Action::Score(3.5)),
        rule(
            "neg",
            Target::Header("From".into()),
            Condition::Contains("b.example".into()),
            Action::Score(-1.0),
        ),
        rule(
            "ok",
            Target::Body,
            Condition::Contains("hello".into()),
            Action::Accept,
        ),
        rule(
            "no",
            Target::Body,
            Condition::Contains("hello".into()),
            Action::Reject,
        ),
        subject(Condition::Contains("pills".into()), Action::Score(100.0)),
    ];
    let a = apply(&rules, MSG);
    assert_eq!(
        names(&a),
        [("RULE_SUBJ", 3.5), ("RULE_NEG", -1.0), ("RULE_OK", 0.0)]
    );
    assert_eq!(a.decision, Some(Decision::Accept));
    let a = apply(&rules[3..], MSG);
    assert_eq!(a.decision, Some(Decision::Reject));
    assert_eq!(names(&a), [("RULE_NO", 0.0)]);
    assert_eq!(apply(&[], MSG), Applied::default());
}

#[test]
fn bad_rules_are_refused() {
    let spec = |name: &str, target: Target, condition: Condition, action: Action| {
        RuleSpec {
            name: name.into(),
            target,
            condition,
            action,
        }
        .compile()
        .unwrap_err()
    };
    let h = || Target::Header("Subject".into());
    let c = || Condition::Contains("x".into());
    let s = Action::Score(1.0);
    assert!(matches!(spec("a b", h(), c(), s), RuleError::Name(_)));
    assert!(matches!(
        spec(&"n".repeat(MAX_NAME + 1), h(), c(), s),
        RuleError::Name(_)
    ));
    assert!(matches!(
        spec("a", Target::Header("Sub ject".into()), c(), s),
        RuleError::Header(_)
    ));
    assert!(matches!(
        spec("a", h(), c(), Action::Score(f64::NAN)),
        RuleError::Score(_)
    ));
    assert!(matches!(
        spec("a", h(), c(), Action::Score(MAX_SCORE + 1.0)),
        RuleError::Score(_)
    ));
    let e = spec("a", h(), Condition::Matches("(unclosed".into()), s);
    assert!(
        e.to_string().starts_with("invalid regular expression: "),
        "{e}"
    );
}

#[test]
fn pattern_length_is_bounded() {
    let at = |n: usize| {
        RuleSpec {
            name: "a".into(),
            target: Target::Body,
            condition: Condition::Contains("x".repeat(n)),
            action: Action::Accept,
        }
        .compile()
    };
    assert!(at(MAX_PATTERN).is_ok());
    assert!(matches!(
        at(MAX_PATTERN + 1),
        Err(RuleError::TooLong { .. })
    ));
}

#[test]
fn a_regex_too_big_to_compile_is_refused() {
    // Small to write, huge compiled: a thousand Unicode word characters.
    let e = RuleSpec {
        name: "big".into(),
        target: Target::Body,
        condition: Condition::Matches(r"\w{1000}".into()),
        action: Action::Reject,
    }
    .compile()
    .unwrap_err();
    assert!(e.to_string().contains("compiles to more than"), "{e}");
    let fits = Condition::Matches(r"\w{10}".into());
    assert!(RuleSpec {
        name: "b".into(),
        target: Target::Body,
        condition: fits,
        action: Action::Reject
    }
    .compile()
    .is_ok());
}

#[test]
fn a_pathological_regex_runs_in_linear_time() {
    // A backtracking engine takes exponential time on this.
    let r = rule(
        "p",
        Target::Body,
        Condition::Matches("(a+)+$".into()),
        Action::Score(1.0),
    );
    let mut raw = b"Subject: x\r\n\r\n".to_vec();
    raw.extend(std::iter::repeat_n(b'a', 1_000_000));
    raw.extend_from_slice(b"!\r\n");
    let start = Instant::now();
    let a = apply(std::slice::from_ref(&r), &raw);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    // Only MAX_TARGET_BYTES are read: the `!` that would stop `$` is beyond.
    assert_eq!(a.tests.len(), 1);
}

#[test]
fn a_condition_reads_only_its_bound() {
    let r = |needle: &str| {
        rule(
            "t",
            Target::Body,
            Condition::Contains(needle.into()),
            Action::Score(1.0),
        )
    };
    let mut raw = b"\r\n".to_vec();
    raw.extend(std::iter::repeat_n(b'x', MAX_TARGET_BYTES - 3));
    raw.extend_from_slice(b"end beyond");
    assert_eq!(apply(&[r("end")], &raw).tests.len(), 1, "within the bound");
    assert!(
        apply(&[r("beyond")], &raw).tests.is_empty(),
        "past the bound"
    );
}

/// The cost of a full rule set (`cargo test --release -p postern-spam
/// rules_cost -- --ignored --nocapture`): MAX_RULES rules, half `contains`
/// and half regexes, all on the body, over a message whose text fills
/// MAX_TARGET_BYTES.
#[test]
#[ignore]
fn rules_cost() {
    let rules: Vec<Rule> = (0..MAX_RULES)
        .map(|n| {
            let condition = if n % 2 == 0 {
                Condition::Contains(format!("needle{n}"))
            } else {
                Condition::Matches(format!(r"(?i)\bneedle{n}\s+\w+"))
            };
            rule(
                &format!("r{n}"),
                Target::Body,
                condition,
                Action::Score(1.0),
            )
        })
        .collect();
    let mut raw = b"Subject: x\r\n\r\n".to_vec();
    while raw.len() < MAX_TARGET_BYTES {
        raw.extend_from_slice(b"lorem ipsum dolor sit amet, consectetur adipiscing elit\r\n");
    }
    let runs = 50;
    let start = Instant::now();
    for _ in 0..runs {
        assert!(apply(&rules, &raw).tests.is_empty());
    }
    let each = start.elapsed() / runs;
    eprintln!(
        "{MAX_RULES} body rules over {} bytes: {each:?} per message",
        raw.len()
    );
}
