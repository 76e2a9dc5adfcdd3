//! Custom spam rules over arbitrary message bytes (issue 16 item 5).
//! Checked: applying never panics; at most one test per rule, in the rules'
//! order; a decision only from the last test fired, which is an `accept` or
//! `reject` rule; the same bytes give the same outcome.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_spam::rules::{apply, Action, Condition, Decision, Rule, RuleSpec, Target};
use std::sync::OnceLock;

fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let subject = || Target::Header("Subject".into());
        let specs = [
            ("a", subject(), Condition::Contains("pills".into()), Action::Score(2.0)),
            ("b", subject(), Condition::Matches("(a+)+$".into()), Action::Score(1.0)),
            ("c", Target::Header("Date".into()), Condition::Missing, Action::Score(0.5)),
            ("d", Target::Header("X-Empty".into()), Condition::Empty, Action::Score(0.5)),
            ("e", Target::Body, Condition::Matches(r"(?i)\bwire\s+\$\d+".into()), Action::Reject),
            ("f", Target::Body, Condition::Equals("hello".into()), Action::Accept),
            ("g", Target::Body, Condition::Contains("casino".into()), Action::Score(3.0)),
        ];
        specs
            .into_iter()
            .map(|(name, target, condition, action)| {
                let spec = RuleSpec { name: name.into(), target, condition, action };
                spec.compile().expect("the fuzz rules compile")
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let rules = rules();
    let out = apply(rules, data);
    assert!(out.tests.len() <= rules.len());
    let order: Vec<usize> = out
        .tests
        .iter()
        .map(|t| rules.iter().position(|r| r.spec().test_name() == t.name).expect("a rule's test"))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "in the rules' order");
    if let Some(d) = out.decision {
        let last = &rules[*order.last().expect("a decision comes with its test")];
        let want = match d {
            Decision::Reject => Action::Reject,
            Decision::Accept => Action::Accept,
        };
        assert_eq!(last.spec().action, want);
    }
    assert_eq!(out, apply(rules, data));
});
