//! Folder commands: LIST and LSUB (RFC 3501 §6.3.8–9, with CHILDREN and
//! SPECIAL-USE attributes), CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE,
//! STATUS. Names are "/"-separated, modified UTF-7 on the wire (UTF-8
//! once UTF8=ACCEPT is enabled, utf8.rs).

use super::reply::Reply;
use super::subscribed;
use super::utf8::pattern_as;
use super::Session;
use crate::utf7;
use imap_codec::imap_types::mailbox::{ListMailbox, Mailbox};
use imap_codec::imap_types::status::StatusDataItemName;
use postern_store::{Folder, StoreError};
use tokio::io::{AsyncRead, AsyncWrite};

/// RFC 3501 §6.3.8: "*" matches anything, "%" anything but the delimiter.
/// Dynamic programming keeps the cost at pattern × name, whatever the wildcards.
pub(super) fn matches(pattern: &[char], name: &[char]) -> bool {
    let mut row = vec![false; name.len() + 1];
    row[0] = true;
    for &p in pattern {
        let mut next = vec![false; name.len() + 1];
        for j in 0..=name.len() {
            next[j] = match p {
                '*' => row[j] || (j > 0 && next[j - 1]),
                '%' => row[j] || (j > 0 && next[j - 1] && name[j - 1] != '/'),
                c => j > 0 && row[j - 1] && name[j - 1] == c,
            };
        }
        row = next;
    }
    row[name.len()]
}

/// A LIST pattern from the wire, INBOX folded. One that is not valid
/// modified UTF-7 is taken as it is: it matches no stored name (those are
/// sent encoded), so the LIST is simply empty rather than an error.
pub(super) fn decode_pattern(raw: &str) -> String {
    fold_inbox(&utf7::decode(raw).unwrap_or_else(|| raw.to_string()))
}

/// INBOX is case-insensitive (RFC 3501 §5.1): fold a pattern's leading "inbox".
pub(super) fn fold_inbox(pattern: &str) -> String {
    let head = pattern.get(..5).filter(|h| h.eq_ignore_ascii_case("INBOX"));
    match (head, pattern.get(5..)) {
        (Some(_), Some(rest)) if rest.is_empty() || rest.starts_with('/') => format!("INBOX{rest}"),
        _ => pattern.to_string(),
    }
}

pub(super) fn attributes(f: &Folder, all: &[Folder]) -> String {
    let prefix = format!("{}/", f.name);
    let children = all.iter().any(|o| o.name.starts_with(&prefix));
    let mut attrs = vec![if children {
        "\\HasChildren"
    } else {
        "\\HasNoChildren"
    }];
    if let Some(s) = &f.special_use {
        attrs.push(s);
    }
    attrs.join(" ")
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) async fn list(
        &mut self,
        reference: &Mailbox<'_>,
        pattern: &ListMailbox<'_>,
        lsub: bool,
    ) -> Reply {
        let Some(user) = self.user.as_ref().map(|u| u.id) else {
            return Reply::wrong_state();
        };
        let reference = match reference {
            Mailbox::Inbox => "INBOX".to_string(),
            Mailbox::Other(o) => String::from_utf8_lossy(o.as_ref()).into_owned(),
        };
        let pat = match pattern {
            ListMailbox::Token(t) => String::from_utf8_lossy(t.as_ref()).into_owned(),
            ListMailbox::String(s) => String::from_utf8_lossy(s.as_ref()).into_owned(),
        };
        let cmd = if lsub { "LSUB" } else { "LIST" };
        if pat.is_empty() {
            // RFC 3501 §6.3.8: an empty pattern asks for the delimiter.
            self.untagged(&format!("{cmd} (\\Noselect) \"/\" \"\""));
            return Reply::ok("LIST completed");
        }
        let pattern: Vec<char> = pattern_as(&format!("{reference}{pat}"), self.utf8_names())
            .chars()
            .collect();
        let store = &self.ctx.store;
        let folders = match store.folders(user).await {
            Ok(f) => f,
            Err(e) => return Reply::from_store(&e),
        };
        let lines: Vec<(String, String)> = if lsub {
            match store.subscriptions(user).await {
                Ok(subs) => subscribed::lsub(&pattern, &subs, &folders),
                Err(e) => return Reply::from_store(&e),
            }
        } else {
            folders
                .iter()
                .filter(|f| matches(&pattern, &f.name.chars().collect::<Vec<_>>()))
                .map(|f| (f.name.clone(), attributes(f, &folders)))
                .collect()
        };
        for (name, attrs) in lines {
            let mut line = format!("* {cmd} ({attrs}) \"/\" ").into_bytes();
            self.put_mailbox(&mut line, &name);
            line.extend_from_slice(b"\r\n");
            self.conn.push(&line);
        }
        Reply::ok(if lsub {
            "LSUB completed"
        } else {
            "LIST completed"
        })
    }

    pub(super) async fn create(&mut self, mailbox: &Mailbox<'_>) -> Reply {
        let Some(user) = self.user.as_ref().map(|u| u.id) else {
            return Reply::wrong_state();
        };
        // RFC 3501 §6.3.3: a trailing delimiter only declares intent.
        let trimmed = match mailbox {
            Mailbox::Other(o) if o.as_ref().ends_with(b"/") && o.as_ref().len() > 1 => {
                let raw = &o.as_ref()[..o.as_ref().len() - 1];
                match Mailbox::try_from(raw) {
                    Ok(m) => m,
                    Err(_) => return Reply::bad("Bad mailbox name"),
                }
            }
            m => m.clone(),
        };
        let name = match self.name_of(&trimmed) {
            Ok(n) => n,
            Err(r) => return r,
        };
        match self.ctx.store.create_folder(user, &name).await {
            Ok(_) => Reply::ok("CREATE completed"),
            Err(e) => Reply::from_store(&e),
        }
    }

    pub(super) async fn delete(&mut self, mailbox: &Mailbox<'_>) -> Reply {
        let Some(user) = self.user.as_ref().map(|u| u.id) else {
            return Reply::wrong_state();
        };
        let name = match self.name_of(mailbox) {
            Ok(n) => n,
            Err(r) => return r,
        };
        if self.selected.as_ref().is_some_and(|s| s.name == name) {
            return Reply::no("Mailbox is selected").code("INUSE");
        }
        match self.ctx.store.delete_folder(user, &name).await {
            Ok(()) => Reply::ok("DELETE completed"),
            Err(StoreError::Exists(_)) => Reply::no("Mailbox has children").code("HASCHILDREN"),
            Err(e) => Reply::from_store(&e),
        }
    }

    pub(super) async fn rename(&mut self, from: &Mailbox<'_>, to: &Mailbox<'_>) -> Reply {
        let Some(user) = self.user.as_ref().map(|u| u.id) else {
            return Reply::wrong_state();
        };
        let (from, to) = match (self.name_of(from), self.name_of(to)) {
            (Ok(f), Ok(t)) => (f, t),
            (Err(r), _) | (_, Err(r)) => return r,
        };
        if from == "INBOX" {
            return self.rename_inbox(user, &to).await;
        }
        match self.ctx.store.rename_folder(user, &from, &to).await {
            Ok(()) => Reply::ok("RENAME completed"),
            Err(e) => Reply::from_store(&e),
        }
    }

    /// RFC 3501 §6.3.5 / RFC 9051 §6.3.6: renaming INBOX moves all its
    /// messages to a new folder of that name; INBOX stays, empty. One store
    /// transaction (`MailStore::rename_inbox`); messages keep flags and GUIDs.
    async fn rename_inbox(&mut self, user: postern_store::UserId, to: &str) -> Reply {
        match self.ctx.store.rename_inbox(user, to).await {
            // The selected INBOX, if it is, learns its EXPUNGEs at once.
            Ok(_) => match self.sync(true).await {
                Ok(()) => Reply::ok("RENAME completed"),
                Err(r) => r,
            },
            Err(e) => Reply::from_store(&e),
        }
    }

    pub(super) async fn subscribe(&mut self, mailbox: &Mailbox<'_>, on: bool) -> Reply {
        let Some(user) = self.user.as_ref().map(|u| u.id) else {
            return Reply::wrong_state();
        };
        let name = match self.name_of(mailbox) {
            Ok(n) => n,
            Err(r) => return r,
        };
        match self.ctx.store.set_subscribed(user, &name, on).await {
            Ok(()) => Reply::ok(if on {
                "SUBSCRIBE completed"
            } else {
                "UNSUBSCRIBE completed"
            }),
            Err(e) => Reply::from_store(&e),
        }
    }

    /// RFC 3501 §6.3.10. RECENT counts the messages no session has claimed yet;
    /// DELETED (RFC 9051 §6.3.11) the \\Deleted ones, SIZE (RFC 8438) their octets.
    pub(super) async fn status(
        &mut self,
        mailbox: &Mailbox<'_>,
        items: &[StatusDataItemName],
    ) -> Reply {
        let Some(user) = self.user.as_ref().map(|u| u.id) else {
            return Reply::wrong_state();
        };
        let name = match self.name_of(mailbox) {
            Ok(n) => n,
            Err(r) => return r,
        };
        let id = match self.ctx.store.mailbox(user, &name).await {
            Ok(Some(id)) => id,
            Ok(None) => return Reply::no("No such mailbox").code("NONEXISTENT"),
            Err(e) => return Reply::from_store(&e),
        };
        match self.status_line(id, &name, items).await {
            Ok(()) => Reply::ok("STATUS completed"),
            Err(r) => r,
        }
    }

    /// Sends `* STATUS name (…)` for a folder (STATUS, and LIST-STATUS).
    pub(super) async fn status_line(
        &mut self,
        id: postern_store::MailboxId,
        name: &str,
        items: &[StatusDataItemName],
    ) -> Result<(), Reply> {
        if items.contains(&StatusDataItemName::HighestModSeq) {
            self.condstore_on();
        }
        let store = &self.ctx.store;
        let (state, counts) = match (
            store.mailbox_state(id).await,
            store.mailbox_counts(id).await,
        ) {
            (Ok(s), Ok(c)) => (s, c),
            (Err(e), _) | (_, Err(e)) => return Err(Reply::from_store(&e)),
        };
        let mut out = Vec::new();
        for item in items {
            let (key, value) = match item {
                StatusDataItemName::Messages => ("MESSAGES", counts.messages),
                StatusDataItemName::Recent => (
                    "RECENT",
                    store
                        .recent_count(id)
                        .await
                        .map_err(|e| Reply::from_store(&e))? as u64,
                ),
                StatusDataItemName::UidNext => ("UIDNEXT", state.1 as u64),
                StatusDataItemName::UidValidity => ("UIDVALIDITY", state.0 as u64),
                StatusDataItemName::Unseen => ("UNSEEN", counts.unseen),
                StatusDataItemName::Deleted => ("DELETED", counts.deleted),
                StatusDataItemName::HighestModSeq => ("HIGHESTMODSEQ", state.2),
                // RFC 8438 §2, RFC 9051 §6.3.11: the octets of all messages.
                StatusDataItemName::Size => ("SIZE", counts.size),
                _ => return Err(Reply::bad("STATUS item not supported")),
            };
            out.push(format!("{key} {value}"));
        }
        let mut line = b"* STATUS ".to_vec();
        self.put_mailbox(&mut line, name);
        line.extend_from_slice(format!(" ({})\r\n", out.join(" ")).as_bytes());
        self.conn.push(&line);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, n: &str) -> bool {
        matches(
            &p.chars().collect::<Vec<_>>(),
            &n.chars().collect::<Vec<_>>(),
        )
    }

    #[test]
    fn wildcards() {
        assert!(m("*", "a/b/c"));
        assert!(m("%", "Sent") && !m("%", "a/b"));
        assert!(m("a/%", "a/b") && !m("a/%", "a/b/c"));
        assert!(m("a*c", "a/b/c") && !m("a%c", "a/b/c"));
        assert!(m("INBOX", "INBOX") && !m("INBOX", "INBOX/x"));
        assert_eq!(fold_inbox("inbox/%"), "INBOX/%");
        assert_eq!(fold_inbox("inboxes"), "inboxes");
        let evil: String = "*%".repeat(2000);
        let t = std::time::Instant::now();
        assert!(!m(&(evil + "x"), &"a".repeat(500)));
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
    }
}
