//! The learning spam classifier's model (SPEC P7): token counts and the
//! messages trained per class. The store knows nothing of tokens: a token is
//! a 64-bit hash here, and training adds counts in one transaction, so a
//! batch of messages trained from the CLI, or one message moved into Junk,
//! is all or nothing.

use crate::{Store, StoreError};
use rusqlite::params;

/// The whole model as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpamModel {
    pub spam_messages: u64,
    pub ham_messages: u64,
    /// (token hash, spam count, ham count).
    pub tokens: Vec<(u64, u32, u32)>,
}

/// Counts to add to the model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpamTraining {
    pub spam_messages: u64,
    pub ham_messages: u64,
    /// (token hash, spam messages added, ham messages added).
    pub tokens: Vec<(u64, u32, u32)>,
}

impl Store {
    /// Reads the whole model (once, when a classifier is loaded).
    pub fn spam_model(&self) -> Result<SpamModel, StoreError> {
        let conn = self.conn();
        let (spam_messages, ham_messages) = trained(&conn)?;
        let mut stmt = conn.prepare("SELECT hash, spam, ham FROM spam_tokens")?;
        let tokens = stmt
            .query_map([], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SpamModel {
            spam_messages,
            ham_messages,
            tokens,
        })
    }

    /// Messages trained per class and distinct tokens: (spam, ham, tokens).
    /// Messages trained as (spam, ham): two rows, cheap enough to poll (the
    /// running server reloads its model when they change).
    pub fn spam_trained(&self) -> Result<(u64, u64), StoreError> {
        trained(&self.conn())
    }

    pub fn spam_stats(&self) -> Result<(u64, u64, u64), StoreError> {
        let conn = self.conn();
        let (spam, ham) = trained(&conn)?;
        let tokens: i64 = conn.query_row("SELECT COUNT(*) FROM spam_tokens", [], |r| r.get(0))?;
        Ok((spam, ham, tokens as u64))
    }

    /// Adds trained counts, in one transaction.
    pub fn spam_train(&self, t: &SpamTraining) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut add = tx.prepare(
                "INSERT INTO spam_tokens (hash, spam, ham) VALUES (?1, ?2, ?3)
                 ON CONFLICT (hash) DO UPDATE SET spam = spam + ?2, ham = ham + ?3",
            )?;
            for (hash, spam, ham) in &t.tokens {
                add.execute(params![*hash as i64, spam, ham])?;
            }
            let mut class =
                tx.prepare("UPDATE spam_trained SET messages = messages + ?2 WHERE class = ?1")?;
            class.execute(params!["spam", t.spam_messages as i64])?;
            class.execute(params!["ham", t.ham_messages as i64])?;
        }
        tx.commit()?;
        Ok(())
    }
}

fn trained(conn: &rusqlite::Connection) -> Result<(u64, u64), StoreError> {
    let get = |class: &str| -> Result<u64, StoreError> {
        let n: i64 = conn.query_row(
            "SELECT messages FROM spam_trained WHERE class = ?1",
            [class],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    };
    Ok((get("spam")?, get("ham")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_adds_and_survives_reopen() {
        let d = tempfile::tempdir().unwrap();
        {
            let store = Store::open(d.path()).unwrap();
            assert_eq!(store.spam_stats().unwrap(), (0, 0, 0));
            let t = SpamTraining {
                spam_messages: 2,
                ham_messages: 1,
                tokens: vec![(u64::MAX, 2, 0), (7, 1, 1)],
            };
            store.spam_train(&t).unwrap();
            store.spam_train(&t).unwrap();
        }
        let store = Store::open(d.path()).unwrap();
        assert_eq!(store.spam_stats().unwrap(), (4, 2, 2));
        let mut m = store.spam_model().unwrap();
        m.tokens.sort();
        assert_eq!(m.tokens, vec![(7, 2, 2), (u64::MAX, 4, 0)]);
    }

    /// What IMAP learns (a MOVE into Junk) goes through the async seam.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn training_through_the_mail_store_seam() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::open(d.path()).unwrap();
        let t = SpamTraining {
            spam_messages: 1,
            ham_messages: 0,
            tokens: vec![(3, 1, 0)],
        };
        crate::MailStore::spam_train(&store, t).await.unwrap();
        assert_eq!(store.spam_stats().unwrap(), (1, 0, 1));
    }
}
