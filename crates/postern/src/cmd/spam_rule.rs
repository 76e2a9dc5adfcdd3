//! `postern spam rule add|list|del` (SPEC P3, issue 16 item 5): custom
//! rules, checked and compiled (crates/spam/src/rules.rs) before they are
//! stored, so a bad regular expression is refused here with its reason and
//! never reaches the server. The running server reloads them within
//! `serve::spam_rules::REFRESH`.

use super::say;
use crate::cli::{SpamRuleArgs, SpamRuleCmd};
use crate::error::{CliError, Result};
use postern_spam::rules::{Action, Condition, Rule, RuleSpec, Target, MAX_RULES};
use postern_store::{SpamRuleRow, Store};
use std::io::Write;

pub fn run(store: &Store, cmd: SpamRuleCmd, out: &mut dyn Write) -> Result<()> {
    match cmd {
        SpamRuleCmd::Add(args) => {
            let spec = spec(args);
            let rule = spec
                .clone()
                .compile()
                .map_err(|e| CliError::Invalid(format!("spam rule {}: {e}", spec.name)))?;
            store.spam_rule_add(&row(rule.spec()), MAX_RULES)?;
            say(out, format_args!("added spam rule {}", spec.name))
        }
        SpamRuleCmd::List => {
            for r in store.spam_rules()? {
                say(out, spec_of(&r)?.args())?;
            }
            Ok(())
        }
        SpamRuleCmd::Del { name } => {
            store.spam_rule_del(&name)?;
            say(out, format_args!("deleted spam rule {name}"))
        }
    }
}

/// The rule the command line describes (clap has checked one of each).
fn spec(a: SpamRuleArgs) -> RuleSpec {
    let target = match a.header {
        Some(h) => Target::Header(h),
        None => Target::Body,
    };
    let condition = match (a.contains, a.equals, a.matches) {
        (Some(s), _, _) => Condition::Contains(s),
        (_, Some(s), _) => Condition::Equals(s),
        (_, _, Some(s)) => Condition::Matches(s),
        _ if a.empty => Condition::Empty,
        _ => Condition::Missing,
    };
    let action = match a.score {
        Some(n) => Action::Score(n),
        None if a.reject => Action::Reject,
        None => Action::Accept,
    };
    RuleSpec {
        name: a.name,
        target,
        condition,
        action,
    }
}

fn row(spec: &RuleSpec) -> SpamRuleRow {
    let (target, condition, argument, action, score) = spec.stored();
    SpamRuleRow {
        name: spec.name.clone(),
        target,
        condition: condition.into(),
        argument: argument.into(),
        action: action.into(),
        score,
    }
}

fn spec_of(r: &SpamRuleRow) -> Result<RuleSpec> {
    RuleSpec::from_stored(
        &r.name,
        &r.target,
        &r.condition,
        &r.argument,
        &r.action,
        r.score,
    )
    .map_err(|e| CliError::Invalid(e.to_string()))
}

/// The stored rules compiled, in order; a rule that no longer compiles (a
/// limit lowered since it was added) is left out and named in the errors.
pub(crate) fn load(store: &Store) -> Result<(Vec<Rule>, Vec<String>)> {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for r in store.spam_rules()? {
        match spec_of(&r).and_then(|s| {
            s.compile()
                .map_err(|e| CliError::Invalid(format!("spam rule {}: {e}", r.name)))
        }) {
            Ok(rule) => ok.push(rule),
            Err(e) => bad.push(e.to_string()),
        }
    }
    Ok((ok, bad))
}

/// For `spam check`: the rules, or the first that does not compile.
pub(crate) fn load_all(store: &Store) -> Result<Vec<Rule>> {
    let (ok, bad) = load(store)?;
    match bad.into_iter().next() {
        Some(e) => Err(CliError::Invalid(e)),
        None => Ok(ok),
    }
}
