//! Attachment filter rules (SPEC V4, issue 17 item 6) in their order: each
//! a file-name glob or a MIME type, and block or allow. The store keeps
//! them as text (crates/av's attachment module matches them). Every change
//! bumps one generation counter in the same transaction, which the running
//! server polls, as for the spam rules. Its migration (SCHEMA_V18) also
//! creates the antivirus quarantine's table (quarantine.rs).

use crate::{Store, StoreError};
use rusqlite::params;

/// Most rules kept (each message is matched against all of them).
pub const MAX_ATTACHMENT_RULES: usize = 1000;

pub(crate) const SCHEMA_V18: &str = r#"
BEGIN;
CREATE TABLE IF NOT EXISTS attachment_rules (
    id INTEGER PRIMARY KEY,
    position INTEGER NOT NULL,
    -- 'name' (a glob on file names) or 'type' (a MIME type, 'type/*' allowed)
    kind TEXT NOT NULL,
    pattern TEXT NOT NULL,
    -- 'block' or 'allow'
    action TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS attachment_rules_generation (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    generation INTEGER NOT NULL
);
INSERT OR IGNORE INTO attachment_rules_generation (id, generation) VALUES (0, 0);
-- The antivirus quarantine (quarantine.rs): each row holds one blob reference.
CREATE TABLE IF NOT EXISTS av_quarantine (
    id INTEGER PRIMARY KEY,
    blob_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    sender TEXT NOT NULL,
    recipients TEXT NOT NULL,
    local TEXT NOT NULL,
    remote TEXT NOT NULL,
    reason TEXT NOT NULL,
    received INTEGER NOT NULL
);
PRAGMA user_version = 18;
COMMIT;
"#;

/// One stored rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentRuleRow {
    /// `name` or `type`.
    pub kind: String,
    pub pattern: String,
    /// `block` or `allow`.
    pub action: String,
}

impl Store {
    /// The rules in their order.
    pub fn attachment_rules(&self) -> Result<Vec<AttachmentRuleRow>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT kind, pattern, action FROM attachment_rules ORDER BY position")?;
        let rows = stmt
            .query_map([], |r| {
                Ok(AttachmentRuleRow {
                    kind: r.get(0)?,
                    pattern: r.get(1)?,
                    action: r.get(2)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Adds a rule after the others; refused past [`MAX_ATTACHMENT_RULES`].
    pub fn attachment_rule_add(&self, rule: &AttachmentRuleRow) -> Result<usize, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let (count, last): (i64, Option<i64>) = tx.query_row(
            "SELECT COUNT(*), MAX(position) FROM attachment_rules",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if count as usize >= MAX_ATTACHMENT_RULES {
            return Err(StoreError::Invalid(format!(
                "there are {count} attachment rules already, the most there may be"
            )));
        }
        tx.execute(
            "INSERT INTO attachment_rules (position, kind, pattern, action)
             VALUES (?1, ?2, ?3, ?4)",
            params![last.unwrap_or(0) + 1, rule.kind, rule.pattern, rule.action],
        )?;
        bump(&tx)?;
        tx.commit()?;
        Ok(count as usize + 1)
    }

    /// Deletes the `n`th rule (1-based, as `attachment rule list` numbers them).
    pub fn attachment_rule_del(&self, n: usize) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let deleted = tx.execute(
            "DELETE FROM attachment_rules WHERE id =
             (SELECT id FROM attachment_rules ORDER BY position LIMIT 1 OFFSET ?1)",
            [n.saturating_sub(1) as i64],
        )?;
        if n == 0 || deleted == 0 {
            return Err(StoreError::NotFound(format!("attachment rule {n}")));
        }
        bump(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Changes made to the rules so far: one row, cheap enough to poll.
    pub fn attachment_rules_generation(&self) -> Result<u64, StoreError> {
        let n: i64 = self.conn().query_row(
            "SELECT generation FROM attachment_rules_generation WHERE id = 0",
            [],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }
}

fn bump(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE attachment_rules_generation SET generation = generation + 1 WHERE id = 0",
        [],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(kind: &str, pattern: &str, action: &str) -> AttachmentRuleRow {
        AttachmentRuleRow {
            kind: kind.into(),
            pattern: pattern.into(),
            action: action.into(),
        }
    }

    #[test]
    fn add_list_delete_in_order_and_generation_moves() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        assert_eq!(s.attachment_rules_generation().unwrap(), 0);
        assert_eq!(
            s.attachment_rule_add(&rule("name", "*.exe", "block"))
                .unwrap(),
            1
        );
        assert_eq!(
            s.attachment_rule_add(&rule("type", "image/*", "allow"))
                .unwrap(),
            2
        );
        assert_eq!(
            s.attachment_rule_add(&rule("name", "*.js", "block"))
                .unwrap(),
            3
        );
        s.attachment_rule_del(2).unwrap();
        let rows = s.attachment_rules().unwrap();
        assert_eq!(
            rows,
            [
                rule("name", "*.exe", "block"),
                rule("name", "*.js", "block")
            ]
        );
        assert!(matches!(
            s.attachment_rule_del(3),
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.attachment_rule_del(0),
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(s.attachment_rules_generation().unwrap(), 4);
    }

    #[test]
    fn at_most_max_rules() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        s.conn()
            .execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
                 INSERT INTO attachment_rules (position, kind, pattern, action)
                 SELECT i, 'name', '*.exe', 'block' FROM n",
                [MAX_ATTACHMENT_RULES as i64 - 1],
            )
            .unwrap();
        assert_eq!(
            s.attachment_rule_add(&rule("name", "*.exe", "block"))
                .unwrap(),
            MAX_ATTACHMENT_RULES
        );
        let over = s.attachment_rule_add(&rule("name", "*.js", "block"));
        assert!(matches!(over, Err(StoreError::Invalid(_))));
    }
}
