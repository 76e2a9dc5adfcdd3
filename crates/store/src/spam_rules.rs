//! Custom spam rules as the admin wrote them (SPEC P3, issue 16 item 5),
//! in order. The store keeps them as text and knows nothing of their
//! meaning (crates/spam compiles them). Every change bumps one generation
//! counter in the same transaction, which the running server polls.

use crate::{Store, StoreError};
use rusqlite::{params, OptionalExtension};

/// One stored rule.
#[derive(Clone, Debug, PartialEq)]
pub struct SpamRuleRow {
    pub name: String,
    /// `body`, or `header:NAME`.
    pub target: String,
    /// `contains`, `equals`, `matches`, `empty` or `missing`.
    pub condition: String,
    pub argument: String,
    /// `score`, `reject` or `accept`.
    pub action: String,
    pub score: f64,
}

impl Store {
    /// The rules in their order.
    pub fn spam_rules(&self) -> Result<Vec<SpamRuleRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT name, target, condition, argument, action, score
             FROM spam_rules ORDER BY position",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(SpamRuleRow {
                    name: r.get(0)?,
                    target: r.get(1)?,
                    condition: r.get(2)?,
                    argument: r.get(3)?,
                    action: r.get(4)?,
                    score: r.get(5)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Adds a rule after the others; refused when its name is taken
    /// (ignoring case) or `max` rules exist already.
    pub fn spam_rule_add(&self, rule: &SpamRuleRow, max: usize) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let (count, last): (i64, Option<i64>) =
            tx.query_row("SELECT COUNT(*), MAX(position) FROM spam_rules", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        let taken: Option<String> = tx
            .query_row(
                "SELECT name FROM spam_rules WHERE name = ?1",
                [&rule.name],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(name) = taken {
            return Err(StoreError::Exists(format!("spam rule {name}")));
        }
        if count as usize >= max {
            return Err(StoreError::Invalid(format!(
                "there are {count} spam rules already, the most there may be"
            )));
        }
        tx.execute(
            "INSERT INTO spam_rules (name, position, target, condition, argument, action, score)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                rule.name,
                last.unwrap_or(0) + 1,
                rule.target,
                rule.condition,
                rule.argument,
                rule.action,
                rule.score
            ],
        )?;
        bump(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes a rule by name (ignoring case).
    pub fn spam_rule_del(&self, name: &str) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if tx.execute("DELETE FROM spam_rules WHERE name = ?1", [name])? == 0 {
            return Err(StoreError::NotFound(format!("spam rule {name}")));
        }
        bump(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Changes made to the rules so far: one row, cheap enough to poll.
    pub fn spam_rules_generation(&self) -> Result<u64, StoreError> {
        let n: i64 = self.conn().query_row(
            "SELECT generation FROM spam_rules_generation WHERE id = 0",
            [],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }
}

fn bump(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE spam_rules_generation SET generation = generation + 1 WHERE id = 0",
        [],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str) -> SpamRuleRow {
        SpamRuleRow {
            name: name.into(),
            target: "header:Subject".into(),
            condition: "contains".into(),
            argument: "x".into(),
            action: "score".into(),
            score: 1.5,
        }
    }

    #[test]
    fn rules_keep_their_order_and_names_are_unique() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::open(d.path()).unwrap();
        assert_eq!(store.spam_rules_generation().unwrap(), 0);
        for n in ["b", "a", "c"] {
            store.spam_rule_add(&row(n), 10).unwrap();
        }
        let e = store.spam_rule_add(&row("A"), 10).unwrap_err();
        assert_eq!(e.to_string(), "spam rule a already exists");
        store.spam_rule_del("A").unwrap();
        assert!(matches!(
            store.spam_rule_del("a"),
            Err(StoreError::NotFound(_))
        ));
        store.spam_rule_add(&row("a"), 10).unwrap();
        let names: Vec<String> = store
            .spam_rules()
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["b", "c", "a"]);
        assert_eq!(store.spam_rules().unwrap()[0], row("b"));
        assert_eq!(store.spam_rules_generation().unwrap(), 5);
    }

    #[test]
    fn the_count_is_bounded() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::open(d.path()).unwrap();
        store.spam_rule_add(&row("a"), 2).unwrap();
        store.spam_rule_add(&row("b"), 2).unwrap();
        let e = store.spam_rule_add(&row("c"), 2).unwrap_err();
        assert!(matches!(e, StoreError::Invalid(_)), "{e}");
        assert_eq!(store.spam_rules().unwrap().len(), 2);
    }
}
