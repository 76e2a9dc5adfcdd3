//! SELECT and EXAMINE (RFC 3501 §6.3.1–2), CLOSE (§6.4.2), UNSELECT
//! (RFC 3691), and keeping a session's view of its mailbox in step with
//! others' changes (RFC 3501 §7.4.1, §5.2).

use super::folders::folder_name;
use super::reply::Reply;
use super::Session;
use crate::wire;
use imap_codec::imap_types::mailbox::Mailbox;
use postern_store::mailbox::MessageInfo;
use postern_store::MailboxId;
use tokio::io::{AsyncRead, AsyncWrite};

pub(super) const SYSTEM_FLAGS: &str = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";

/// The selected mailbox as this session has told the client it is:
/// message sequence number n is `msgs[n - 1]`.
pub(super) struct Selected {
    pub id: MailboxId,
    pub name: String,
    pub read_only: bool,
    pub msgs: Vec<MessageInfo>,
}

impl Selected {
    pub fn uids(&self) -> Vec<u32> {
        self.msgs.iter().map(|m| m.uid).collect()
    }
}

pub(super) fn has_flag(flags: &str, flag: &str) -> bool {
    flags.split(' ').any(|f| f.eq_ignore_ascii_case(flag))
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) fn select(&mut self, mailbox: &Mailbox<'_>, read_only: bool) -> Reply {
        let Some(user) = self.user.as_ref().map(|u| u.id) else {
            return Reply::wrong_state();
        };
        // RFC 3501 §6.3.1: a failed SELECT leaves no mailbox selected.
        self.selected = None;
        let name = match folder_name(mailbox) {
            Ok(n) => n,
            Err(r) => return r,
        };
        let store = &self.ctx.store;
        let id = match store.mailbox(user, &name) {
            Ok(Some(id)) => id,
            Ok(None) => return Reply::no("No such mailbox").code("NONEXISTENT"),
            Err(e) => return Reply::from_store(&e),
        };
        let ((validity, uidnext, _), msgs) = match (store.mailbox_state(id), store.messages(id)) {
            (Ok(s), Ok(m)) => (s, m),
            (Err(e), _) | (_, Err(e)) => return Reply::from_store(&e),
        };
        self.untagged(&format!("FLAGS ({SYSTEM_FLAGS})"));
        self.untagged(&format!("{} EXISTS", msgs.len()));
        self.untagged("0 RECENT");
        if let Some(i) = msgs.iter().position(|m| !has_flag(&m.flags, "\\Seen")) {
            self.untagged(&format!("OK [UNSEEN {}] First unseen", i + 1));
        }
        let permanent = if read_only {
            "()".to_string()
        } else {
            format!("({SYSTEM_FLAGS} \\*)")
        };
        self.untagged(&format!("OK [PERMANENTFLAGS {permanent}] Flags allowed"));
        self.untagged(&format!("OK [UIDVALIDITY {validity}] UIDs valid"));
        self.untagged(&format!("OK [UIDNEXT {uidnext}] Predicted next UID"));
        self.selected = Some(Selected {
            id,
            name,
            read_only,
            msgs,
        });
        if read_only {
            Reply::ok("EXAMINE completed").code("READ-ONLY")
        } else {
            Reply::ok("SELECT completed").code("READ-WRITE")
        }
    }

    /// RFC 3501 §6.4.2: removes \Deleted messages silently, unless read-only.
    pub(super) fn close(&mut self) -> Reply {
        let Some(sel) = self.selected.take() else {
            return Reply::wrong_state();
        };
        if !sel.read_only {
            let doomed: Vec<u32> = sel
                .msgs
                .iter()
                .filter(|m| has_flag(&m.flags, "\\Deleted"))
                .map(|m| m.uid)
                .collect();
            if let Err(e) = self.ctx.store.expunge(sel.id, &doomed) {
                return Reply::from_store(&e);
            }
        }
        Reply::ok("CLOSE completed")
    }

    pub(super) fn unselect(&mut self) -> Reply {
        if self.selected.take().is_none() {
            return Reply::wrong_state();
        }
        Reply::ok("UNSELECT completed")
    }

    /// Tells the client what changed since it last heard: expunges (when
    /// allowed; RFC 3501 §7.4.1 forbids them during FETCH, STORE, SEARCH),
    /// new messages, and flags changed by other sessions.
    pub(super) fn sync(&mut self, expunges: bool) -> Result<(), Reply> {
        let Some(sel) = self.selected.as_mut() else {
            return Ok(());
        };
        let fresh = self
            .ctx
            .store
            .messages(sel.id)
            .map_err(|e| Reply::from_store(&e))?;
        let mut lines = Vec::new();
        if expunges {
            // Highest first, so each number is right when the client applies it.
            for i in (0..sel.msgs.len()).rev() {
                if fresh
                    .binary_search_by_key(&sel.msgs[i].uid, |m| m.uid)
                    .is_err()
                {
                    sel.msgs.remove(i);
                    lines.push(format!("{} EXPUNGE", i + 1));
                }
            }
        }
        for (i, m) in sel.msgs.iter_mut().enumerate() {
            if let Ok(j) = fresh.binary_search_by_key(&m.uid, |f| f.uid) {
                if fresh[j].flags != m.flags {
                    m.flags = fresh[j].flags.clone();
                    m.modseq = fresh[j].modseq;
                    lines.push(format!(
                        "{} FETCH (UID {} FLAGS {})",
                        i + 1,
                        m.uid,
                        wire::flag_list(&m.flags)
                    ));
                }
            }
        }
        let last = sel.msgs.last().map(|m| m.uid).unwrap_or(0);
        let before = sel.msgs.len();
        sel.msgs.extend(fresh.into_iter().filter(|m| m.uid > last));
        if sel.msgs.len() != before {
            lines.push(format!("{} EXISTS", sel.msgs.len()));
        }
        for l in lines {
            self.untagged(&l);
        }
        Ok(())
    }
}
