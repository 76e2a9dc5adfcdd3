//! STORE / UID STORE (RFC 3501 §6.4.6, UNCHANGEDSINCE from RFC 7162 §3.1.3)
//! and EXPUNGE / UID EXPUNGE (RFC 3501 §6.4.3, RFC 4315 §2.1).

use super::condstore::{flags_line, remove_uids};
use super::reply::Reply;
use super::select::has_flag;
use super::Session;
use crate::seqset;
use imap_codec::imap_types::command::StoreModifier;
use imap_codec::imap_types::flag::{Flag, StoreResponse, StoreType};
use imap_codec::imap_types::sequence::SequenceSet;
use postern_store::FlagOp;
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) async fn store(
        &mut self,
        set: &SequenceSet,
        kind: StoreType,
        response: StoreResponse,
        flags: &[Flag<'_>],
        by_uid: bool,
        modifiers: &[StoreModifier],
    ) -> Reply {
        let unchanged_since = modifiers
            .iter()
            .map(|m| match m {
                StoreModifier::UnchangedSince(v) => *v,
            })
            .next();
        if unchanged_since.is_some() && self.selected.is_some() {
            self.condstore_on();
        }
        let condstore = self.condstore;
        let sel = match self.selected.as_mut().ok_or_else(Reply::wrong_state) {
            Ok(s) => s,
            Err(r) => return r,
        };
        if sel.read_only {
            return sel.read_only_reply();
        }
        let given: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
        if given.iter().any(|f| f.eq_ignore_ascii_case("\\Recent")) {
            return Reply::bad("\\Recent cannot be stored");
        }
        let Some(idx) = seqset::resolve(set, &sel.uids(), by_uid) else {
            return Reply::bad("Invalid message sequence number");
        };
        let op = match kind {
            StoreType::Replace => FlagOp::Replace,
            StoreType::Add => FlagOp::Add,
            StoreType::Remove => FlagOp::Remove,
        };
        let uids: Vec<u32> = idx.iter().map(|&i| sel.msgs[i].uid).collect();
        let (updates, refused) = match self
            .ctx
            .store
            .store_flags(sel.id, &uids, op, &given, unchanged_since)
            .await
        {
            Ok(r) => r,
            Err(e) => return Reply::from_store(&e),
        };
        let mut lines = Vec::new();
        for u in updates {
            let Ok(i) = sel.msgs.binary_search_by_key(&u.uid, |m| m.uid) else {
                continue;
            };
            // The flags as the store has them: with keywords other sessions
            // set meanwhile, announced before this line shows them.
            sel.set_flags(i, u.flags, u.modseq, &mut lines);
            // RFC 3501 §6.4.6: FLAGS unless .SILENT; UID too for UID STORE (RFC 3501 §6.4.8).
            // RFC 7162 §3.1.3: with CONDSTORE, MODSEQ; even .SILENT reports a new one.
            if response == StoreResponse::Answer {
                let recent = sel.recent.contains(u.uid);
                lines.push(flags_line(i + 1, &sel.msgs[i], recent, condstore));
            } else if condstore && u.changed {
                lines.push(format!(
                    "{} FETCH (UID {} MODSEQ ({}))",
                    i + 1,
                    u.uid,
                    u.modseq
                ));
            }
        }
        for l in lines {
            self.untagged(&l);
        }
        if let Err(r) = self.sync(false).await {
            return r;
        }
        if refused.is_empty() {
            return Reply::ok("STORE completed");
        }
        let list: Vec<String> = refused.iter().map(u32::to_string).collect();
        Reply::ok("Some messages were modified meanwhile")
            .code(format!("MODIFIED {}", list.join(",")))
    }

    /// Removes \Deleted messages (all, or those of `only` for UID EXPUNGE).
    pub(super) async fn expunge(&mut self, only: Option<&SequenceSet>) -> Reply {
        if let Err(r) = self.sync(true).await {
            return r;
        }
        let sel = match self.selected.as_mut().ok_or_else(Reply::wrong_state) {
            Ok(s) => s,
            Err(r) => return r,
        };
        if sel.read_only {
            return sel.read_only_reply();
        }
        let allowed = match only {
            Some(set) => seqset::resolve(set, &sel.uids(), true).unwrap_or_default(),
            None => (0..sel.msgs.len()).collect(),
        };
        let doomed: Vec<u32> = allowed
            .into_iter()
            .map(|i| &sel.msgs[i])
            .filter(|m| has_flag(&m.flags, "\\Deleted"))
            .map(|m| m.uid)
            .collect();
        let removed = match self.ctx.store.expunge(sel.id, &doomed).await {
            Ok(r) => r,
            Err(e) => return Reply::from_store(&e),
        };
        let qresync = self.qresync;
        let Some(sel) = self.selected.as_mut() else {
            return Reply::wrong_state();
        };
        for l in remove_uids(sel, &removed, qresync) {
            self.untagged(&l);
        }
        if !self.condstore {
            return Reply::ok("EXPUNGE completed");
        }
        // RFC 7162 (CONDSTORE and EXPUNGE): the tagged OK carries HIGHESTMODSEQ.
        if let Err(r) = self.sync(true).await {
            return r;
        }
        match self.selected.as_ref() {
            Some(s) => Reply::ok("EXPUNGE completed").code(format!("HIGHESTMODSEQ {}", s.modseq)),
            None => Reply::ok("EXPUNGE completed"),
        }
    }
}
