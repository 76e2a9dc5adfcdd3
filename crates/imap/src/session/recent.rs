//! \Recent in a session (RFC 3501 §2.3.2): which of the selected mailbox's
//! messages this session is the first to be told about. SELECT, and every
//! later report of new messages in a read-write session, claims them in the
//! store (`postern_store::MailStore::claim_recent`); EXAMINE only looks (RFC 3501
//! §6.3.2), so the messages stay recent for the next session that selects.

use super::reply::Reply;
use super::select::Selected;
use postern_store::mailbox::MessageInfo;
use postern_store::{MailStore, MailboxId};
use std::collections::HashSet;

/// The UIDs that are recent in this session.
#[derive(Default)]
pub(super) struct Recent(HashSet<u32>);

impl Recent {
    pub fn contains(&self, uid: u32) -> bool {
        self.0.contains(&uid)
    }

    /// Messages of `msgs` that are recent here (the RECENT count, RFC 3501 §7.3.2).
    pub fn count(&self, msgs: &[MessageInfo]) -> usize {
        if self.0.is_empty() {
            return 0;
        }
        msgs.iter().filter(|m| self.0.contains(&m.uid)).count()
    }

    /// Learns which of `fresh` (new to this session, UID order) are recent
    /// for it: claimed when `claim`, else only those no session has claimed.
    pub async fn learn(
        &mut self,
        store: &dyn MailStore,
        mailbox: MailboxId,
        fresh: &[MessageInfo],
        claim: bool,
    ) -> Result<(), Reply> {
        let Some(last) = fresh.last().map(|m| m.uid) else {
            return Ok(());
        };
        let from = if claim {
            store.claim_recent(mailbox, last.saturating_add(1)).await
        } else {
            store.recent_from(mailbox).await
        }
        .map_err(|e| Reply::from_store(&e))?;
        self.0
            .extend(fresh.iter().map(|m| m.uid).filter(|&u| u >= from));
        Ok(())
    }

    /// Forgets messages that are gone.
    pub fn forget(&mut self, uids: &[u32]) {
        for u in uids {
            self.0.remove(u);
        }
    }
}

/// The session's messages with \Recent added to the flags of the recent
/// ones, for SEARCH RECENT, NEW and OLD (RFC 3501 §6.4.4).
pub(super) fn with_recent_flag(sel: &Selected) -> Vec<MessageInfo> {
    sel.msgs
        .iter()
        .map(|m| {
            let mut m = m.clone();
            if sel.recent.contains(m.uid) {
                m.flags = if m.flags.is_empty() {
                    "\\Recent".into()
                } else {
                    format!("\\Recent {}", m.flags)
                };
            }
            m
        })
        .collect()
}
