//! `postern attachment rule add|list|del` (SPEC V4, issue 17 item 6): rules
//! checked (crates/av's attachment module) before they are stored; the
//! running server reloads them within `serve::attachment_rules::REFRESH`.

use super::say;
use crate::cli::AttachmentRuleCmd;
use crate::error::{CliError, Result};
use postern_av::attachment::Rule;
use postern_store::{AttachmentRuleRow, Store};
use std::io::Write;

pub fn run(store: &Store, cmd: AttachmentRuleCmd, out: &mut dyn Write) -> Result<()> {
    match cmd {
        AttachmentRuleCmd::Add(a) => {
            let (kind, pattern) = match (a.name, a.r#type) {
                (Some(n), _) => ("name", n),
                (None, t) => ("type", t.unwrap_or_default()),
            };
            let action = if a.block { "block" } else { "allow" };
            let rule = Rule::parse(kind, &pattern, action)
                .map_err(|e| CliError::Invalid(format!("attachment rule: {e}")))?;
            let n = store.attachment_rule_add(&row(&rule))?;
            say(
                out,
                format_args!("added attachment rule {n}: {}", describe(&rule)),
            )
        }
        AttachmentRuleCmd::List => {
            for (i, r) in store.attachment_rules()?.iter().enumerate() {
                match Rule::parse(&r.kind, &r.pattern, &r.action) {
                    Ok(rule) => say(out, format_args!("{}: {}", i + 1, describe(&rule)))?,
                    Err(e) => say(out, format_args!("{}: (unusable: {e})", i + 1))?,
                }
            }
            Ok(())
        }
        AttachmentRuleCmd::Del { n } => {
            store.attachment_rule_del(n)?;
            say(out, format_args!("deleted attachment rule {n}"))
        }
    }
}

fn row(rule: &Rule) -> AttachmentRuleRow {
    let (kind, pattern, action) = rule.describe();
    AttachmentRuleRow {
        kind: kind.into(),
        pattern: pattern.into(),
        action: action.into(),
    }
}

/// `--name "*.exe" --block`, as `attachment rule add` takes it.
fn describe(rule: &Rule) -> String {
    let (kind, pattern, action) = rule.describe();
    format!("--{kind} \"{pattern}\" --{action}")
}

/// The stored rules, parsed; unusable ones are left out with a line on stderr.
pub fn load(store: &Store) -> std::result::Result<Vec<Rule>, postern_store::StoreError> {
    let mut rules = Vec::new();
    for r in store.attachment_rules()? {
        match Rule::parse(&r.kind, &r.pattern, &r.action) {
            Ok(rule) => rules.push(rule),
            Err(e) => eprintln!(
                "postern: attachment rule {}: {e}; the rule is left out",
                r.pattern
            ),
        }
    }
    Ok(rules)
}
