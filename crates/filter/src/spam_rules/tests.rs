//! Rules in front of the spam stage, and what auto-learning picks.

use super::*;
use crate::context::Client;
use crate::results::{AuthResult, DmarcOutcome};
use postern_spam::rules::{Action as RuleAction, Condition, RuleSpec, Target};

fn ctx(raw: &[u8]) -> Context<'_> {
    let client = Client {
        ip: "192.0.2.7".parse().unwrap(),
        helo: "client.example".into(),
        exempt: false,
    };
    Context::new(client, "a@example.net", raw, None)
}

fn accepted() -> Verdict {
    Verdict {
        action: Action::Accept,
        add_headers: String::new(),
        remove: vec![],
        results: Results::default(),
        reason: None,
    }
}

fn subject_rule(name: &str, text: &str, action: RuleAction) -> Rule {
    RuleSpec {
        name: name.into(),
        target: Target::Header("Subject".into()),
        condition: Condition::Contains(text.into()),
        action,
    }
    .compile()
    .unwrap()
}

const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

fn message(subject: &str, body: &str) -> String {
    format!("Subject: {subject}\r\nDate: Mon, 7 Dec 2026 01:00:00 +0000\r\nMessage-ID: <a@example.net>\r\nFrom: a@example.net\r\n\r\n{body}\r\n")
}

fn run(raw: &str, rules: &[Rule], results: &Results) -> (Verdict, SpamOutcome) {
    let cfg = Spam::default();
    let (out, decision) =
        score_with_rules(raw.as_bytes(), results, &Classifier::default(), rules, &cfg);
    let c = ctx(raw.as_bytes());
    let mut v = accepted();
    v.add_spam_ruled(&c, &out, decision, &cfg);
    (v, out)
}

#[test]
fn a_score_rule_tags_into_junk() {
    let rules = [subject_rule(
        "pills",
        "cheap pills",
        RuleAction::Score(10.0),
    )];
    let (v, out) = run(
        &message("Cheap PILLS here", "hi"),
        &rules,
        &Results::default(),
    );
    assert_eq!(out.report.tests_line(), "RULE_PILLS=+10.00");
    assert_eq!(v.action, Action::Junk);
    assert_eq!(v.reason.as_deref(), Some("spam score 10.00"));
}

#[test]
fn a_reject_rule_refuses_naming_nothing_internal() {
    let rules = [subject_rule("secret-name", "pills", RuleAction::Reject)];
    let (v, out) = run(&message("pills", "hi"), &rules, &Results::default());
    assert_eq!(out.class, Class::Reject);
    match &v.action {
        Action::Reject(r) => assert_eq!(
            (r.code, r.enhanced, r.text.as_str()),
            (550, "5.7.1", RULE_REJECT_TEXT)
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(v.reason.as_deref(), Some("spam rule RULE_SECRET_NAME"));
}

#[test]
fn an_accept_rule_is_ham_despite_gtube_and_other_rules() {
    let rules = [
        subject_rule("first", "hello", RuleAction::Score(50.0)),
        subject_rule("friend", "hello", RuleAction::Accept),
    ];
    let (v, out) = run(&message("hello", GTUBE), &rules, &Results::default());
    assert_eq!(out.class, Class::Ham);
    assert_eq!(
        out.report.tests_line(),
        "RULE_FIRST=+50.00,RULE_FRIEND=+0.00"
    );
    assert_eq!(v, accepted());
}

#[test]
fn a_dmarc_refusal_stands_over_an_accept_rule() {
    let raw = message("hello", "hi");
    let rules = [subject_rule("friend", "hello", RuleAction::Accept)];
    let results = Results {
        dmarc: Some(DmarcOutcome {
            result: AuthResult::Fail,
            from_domain: "example.net".into(),
            policy: "reject",
            disposition: "reject".into(),
        }),
        ..Results::default()
    };
    let cfg = Spam::default();
    let (out, decision) = score_with_rules(
        raw.as_bytes(),
        &results,
        &Classifier::default(),
        &rules,
        &cfg,
    );
    let mut v = accepted();
    v.action = Action::Reject(crate::verdict::Reply {
        code: 550,
        enhanced: "5.7.1",
        text: "dmarc".into(),
    });
    let before = v.clone();
    v.add_spam_ruled(&ctx(raw.as_bytes()), &out, decision, &cfg);
    assert_eq!(v, before);
}

#[test]
fn auto_learning_ignores_the_classifiers_points() {
    let on = Spam {
        auto_learn: true,
        ..Spam::default()
    };
    let outcome = |tests: &[(&str, f64)]| {
        let tests: Vec<postern_spam::Test> = tests
            .iter()
            .map(|(n, p)| postern_spam::Test {
                name: n.to_string(),
                points: *p,
            })
            .collect();
        SpamOutcome {
            report: postern_spam::Report {
                probability: 0.5,
                score: tests.iter().map(|t| t.points).sum(),
                tests,
            },
            class: Class::Ham,
        }
    };
    let learn = |tests: &[(&str, f64)]| auto_learn(&outcome(tests), &on);
    assert_eq!(
        learn(&[("RULE_A", 12.0)]),
        Some(Learned::Spam),
        "at the threshold"
    );
    assert_eq!(learn(&[("RULE_A", 11.99)]), None, "just under");
    assert_eq!(
        learn(&[("BAYES(0.9999)", 13.3), ("MISSING_DATE", 0.5)]),
        None,
        "the classifier alone never"
    );
    assert_eq!(learn(&[("BAYES(0.0001)", -2.7), ("RULE_B", 1.0)]), None);
    assert_eq!(learn(&[("RULE_OK", -2.0)]), Some(Learned::Ham));
    assert_eq!(
        auto_learn(&outcome(&[("GTUBE", 1000.0)]), &Spam::default()),
        None,
        "off by default"
    );
}
