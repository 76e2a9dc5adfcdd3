//! Auto-learning (issue 16 item 6, `spam.auto_learn`): a message whose score
//! without the classifier's own points passes `spam.auto_learn_spam` or
//! `spam.auto_learn_ham` (crates/filter/src/spam_rules.rs decides) is
//! learned. The work is detached: tokenizing runs on the blocking pool and
//! the counts go to the store in one transaction, while the session sends
//! its reply without waiting, so learning never delays a 250 (or a 550).
//! It starts when the verdict is known, so a message refused afterwards for
//! another reason (a failed write) may still have been learned; a deferred
//! one (451) is not, since it will come again. A learning cut short by
//! shutdown adds nothing (one transaction).

use super::Session;
use postern_spam::{Class, Classifier, Tokens};
use postern_store::SpamTraining;
use tokio::io::{AsyncRead, AsyncWrite};

/// Bytes of a message learned: the tokenizer reads at most
/// `postern_spam::tokenize::MAX_TEXT_BYTES` of text, attachments come last.
pub(super) const MAX_LEARNED_BYTES: usize = 1024 * 1024;

/// The counts one message adds to the model.
fn training(class: Class, raw: &[u8]) -> SpamTraining {
    let mut one = Classifier::default();
    one.train(class, &Tokens::from_message(raw));
    SpamTraining {
        spam_messages: one.messages(Class::Spam),
        ham_messages: one.messages(Class::Ham),
        tokens: one.counts().map(|(h, c)| (h, c.spam, c.ham)).collect(),
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// Learns `raw` as `class` in the background; a mail.log line says so.
    pub(super) fn auto_learn(&self, raw: &[u8], class: Class, sender: &str) {
        let raw = raw[..raw.len().min(MAX_LEARNED_BYTES)].to_vec();
        let store = self.ctx.store.clone();
        let logs = self.ctx.logs.clone();
        let sender = sender.to_string();
        tokio::spawn(async move {
            let job = tokio::task::spawn_blocking(move || training(class, &raw)).await;
            let done = match job {
                Ok(t) => store.spam_train(t).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let what = if class == Class::Spam { "spam" } else { "ham" };
            let mut fields = vec![
                ("event", "spam-learned"),
                ("service", "smtp"),
                ("auto", "yes"),
                ("from", sender.as_str()),
                ("class", what),
            ];
            match &done {
                Ok(()) => fields.push(("messages", "1")),
                Err(e) => fields.extend([("messages", "0"), ("error", e.as_str())]),
            }
            logs.mail(&fields);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_message_one_class() {
        let t = training(Class::Ham, b"Subject: lunch\r\n\r\nmeeting agenda\r\n");
        assert_eq!((t.spam_messages, t.ham_messages), (0, 1));
        assert!(!t.tokens.is_empty() && t.tokens.iter().all(|&(_, s, h)| s == 0 && h == 1));
    }
}
