//! Learning from the user's hand (SPEC P7, issue 16 item 6): a message
//! copied, moved or appended into the `\Junk` folder (RFC 6154 §2) is
//! trained as spam (unless `spam.learn_from_junk = false`); one copied or moved out of `\Junk` into another folder is trained
//! as ham — except into `\Trash`, where a user puts spam they are done
//! with, which says nothing about it being wanted.
//!
//! Folders are told by their special-use attribute, not their name, so a
//! renamed Junk folder still teaches. Training runs on the store's blocking
//! pool (tokenizing is CPU work), after the copy is durable and before the
//! tagged OK, so what a client sees done has been learned; a failure to
//! learn is logged and never fails the COPY or MOVE the user asked for.
//! Not undone: a message moved into Junk by mistake and back out is
//! counted once as spam and once as ham (SpamBayes-style untraining would
//! need a per-message record of what was learned).

use super::Session;
use postern_spam::{Class, Classifier, Tokens};
use postern_store::{scan_bodies, BlobId, MailboxId, SpamTraining};
use std::io::Read;
use tokio::io::{AsyncRead, AsyncWrite};

/// The special-use attribute of the spam folder (RFC 6154 §2).
const JUNK: &str = "\\Junk";
/// The special-use attribute of the folder leaving Junk teaches nothing.
const TRASH: &str = "\\Trash";
/// Messages learned from one COPY or MOVE; the rest of a larger one are
/// copied but not learned (a user dragging 50,000 messages must not hold
/// the store's pool for minutes).
pub(super) const MAX_LEARNED_PER_COMMAND: usize = 500;
/// Bytes of a message read for learning: the tokenizer scans at most
/// `postern_spam::tokenize::MAX_TEXT_BYTES` of text, so the tail of a large
/// message (attachments) is never needed.
pub(super) const MAX_LEARNED_BYTES: u64 = 1024 * 1024;

/// What copying from a folder with special use `src` to one with `dst`
/// teaches, if anything.
pub(super) fn learned_class(src: Option<&str>, dst: Option<&str>) -> Option<Class> {
    match (src == Some(JUNK), dst == Some(JUNK)) {
        (false, true) => Some(Class::Spam),
        (true, false) if dst != Some(TRASH) => Some(Class::Ham),
        _ => None,
    }
}

/// The counts learned from these message bodies, at most
/// [`MAX_LEARNED_PER_COMMAND`] of them.
fn learn(class: Class, bodies: impl IntoIterator<Item = Vec<u8>>) -> SpamTraining {
    let mut batch = Classifier::default();
    for raw in bodies.into_iter().take(MAX_LEARNED_PER_COMMAND) {
        batch.train(class, &Tokens::from_message(&raw));
    }
    SpamTraining {
        spam_messages: batch.messages(Class::Spam),
        ham_messages: batch.messages(Class::Ham),
        tokens: batch.counts().map(|(h, c)| (h, c.spam, c.ham)).collect(),
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// Trains the classifier on `blobs` when copying `src` → `dst` teaches
    /// something; logs what was learned, or why not.
    pub(super) async fn learn_from_copy(&self, src: MailboxId, dst: MailboxId, blobs: Vec<BlobId>) {
        self.learn_from(Some(src), dst, blobs).await
    }

    /// Trains the classifier on messages appended into `dst` when it is the
    /// Junk folder: a client that moves mail by APPEND and EXPUNGE (or files
    /// it there itself) says it is spam as a MOVE would.
    pub(super) async fn learn_from_append(&self, dst: MailboxId, blobs: Vec<BlobId>) {
        self.learn_from(None, dst, blobs).await
    }

    /// `src`: None for messages from outside the account (APPEND). Nothing
    /// is learned with `spam.learn_from_junk = false`.
    async fn learn_from(&self, src: Option<MailboxId>, dst: MailboxId, blobs: Vec<BlobId>) {
        let Some(user) = self.user.as_ref() else {
            return;
        };
        if blobs.is_empty() || !self.ctx.config.borrow().spam.learn_from_junk {
            return;
        }
        let store = self.ctx.store.clone();
        let folders = match store.folders(user.id).await {
            Ok(f) => f,
            Err(e) => return self.log_learned("none", 0, Some(&e.to_string())),
        };
        let use_of = |id| {
            folders
                .iter()
                .find(|f| f.id == id)
                .and_then(|f| f.special_use.as_deref())
        };
        let Some(class) = learned_class(src.and_then(use_of), use_of(dst)) else {
            return;
        };
        let job = scan_bodies(&*store, move |files| {
            let bodies = blobs.iter().take(MAX_LEARNED_PER_COMMAND).filter_map(|b| {
                let mut raw = Vec::new();
                let reader = files.open(b).ok()??;
                reader.take(MAX_LEARNED_BYTES).read_to_end(&mut raw).ok()?;
                Some(raw)
            });
            learn(class, bodies)
        });
        let done = match job.await {
            Ok(t) => {
                let n = t.spam_messages + t.ham_messages;
                store.spam_train(t).await.map(|()| n)
            }
            Err(e) => Err(e),
        };
        let what = if class == Class::Spam { "spam" } else { "ham" };
        match done {
            Ok(n) => self.log_learned(what, n, None),
            Err(e) => self.log_learned(what, 0, Some(&e.to_string())),
        }
    }

    /// One mail.log line per COPY or MOVE that taught something.
    fn log_learned(&self, class: &str, messages: u64, error: Option<&str>) {
        let user = self.user.as_ref().map_or("", |u| u.address.as_str());
        let n = messages.to_string();
        let mut fields = vec![
            ("event", "spam-learned"),
            ("service", "imap"),
            ("user", user),
            ("class", class),
            ("messages", n.as_str()),
        ];
        if let Some(e) = error {
            fields.push(("error", e));
        }
        self.ctx.logs.mail(&fields);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn into_junk_is_spam_out_of_it_is_ham_but_not_into_trash() {
        let junk = Some(JUNK);
        assert_eq!(learned_class(None, junk), Some(Class::Spam));
        assert_eq!(learned_class(Some("\\Archive"), junk), Some(Class::Spam));
        assert_eq!(learned_class(Some(TRASH), junk), Some(Class::Spam));
        assert_eq!(learned_class(junk, None), Some(Class::Ham));
        assert_eq!(learned_class(junk, Some("\\Archive")), Some(Class::Ham));
        assert_eq!(learned_class(junk, Some(TRASH)), None);
        assert_eq!(learned_class(junk, junk), None);
        assert_eq!(learned_class(None, None), None);
        assert_eq!(learned_class(None, Some(TRASH)), None);
    }

    fn body(n: usize) -> Vec<u8> {
        format!("Subject: offer {n}\r\n\r\ncheap pills {n}\r\n").into_bytes()
    }

    #[test]
    fn one_command_learns_at_most_its_limit() {
        let under = learn(Class::Spam, (0..MAX_LEARNED_PER_COMMAND).map(body));
        assert_eq!(under.spam_messages, MAX_LEARNED_PER_COMMAND as u64);
        let over = learn(Class::Ham, (0..MAX_LEARNED_PER_COMMAND + 1).map(body));
        assert_eq!((over.spam_messages, over.ham_messages), (0, 500));
        assert!(over.tokens.iter().all(|&(_, s, h)| s == 0 && h > 0));
    }
}
