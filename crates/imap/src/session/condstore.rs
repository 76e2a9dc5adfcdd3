//! CONDSTORE and QRESYNC (RFC 7162): enabling them, HIGHESTMODSEQ, the
//! QRESYNC parameter of SELECT/EXAMINE, and expunges reported as VANISHED.

use super::copy::uid_set;
use super::reply::Reply;
use super::select::Selected;
use super::Session;
use crate::{seqset, wire};
use imap_codec::imap_types::command::SelectParameter;
use imap_codec::imap_types::extensions::enable::CapabilityEnable;
use imap_codec::imap_types::extensions::utf8::Utf8Kind;
use imap_codec::imap_types::sequence::SequenceSet;
use postern_store::mailbox::MessageInfo;
use tokio::io::{AsyncRead, AsyncWrite};

/// What a SELECT/EXAMINE asked for with its parameters.
#[derive(Default)]
pub(super) struct SelectParams {
    pub condstore: bool,
    /// RFC 7162 §3.2.5: the client's UIDVALIDITY, MODSEQ and known UIDs.
    pub qresync: Option<(u32, u64, Option<SequenceSet>)>,
}

impl SelectParams {
    pub fn new(params: &[SelectParameter]) -> SelectParams {
        let mut out = SelectParams::default();
        for p in params {
            match p {
                SelectParameter::CondStore => out.condstore = true,
                SelectParameter::QResync {
                    uid_validity,
                    mod_sequence_value,
                    known_uids,
                    ..
                } => {
                    // The sequence match data only helps servers that forget
                    // expunges; every tombstone is kept here, so it is not needed.
                    out.qresync = Some((
                        uid_validity.get(),
                        mod_sequence_value.get(),
                        known_uids.clone(),
                    ))
                }
            }
        }
        out
    }
}

/// Removes the messages with these UIDs (ascending) from the session's view;
/// the lines that tell the client: EXPUNGE, highest first (so each number is
/// right when applied), or one VANISHED once QRESYNC is on (RFC 7162 §3.2.10).
pub(super) fn remove_uids(sel: &mut Selected, gone: &[u32], qresync: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let mut removed = Vec::new();
    sel.recent.forget(gone);
    for i in (0..sel.msgs.len()).rev() {
        if gone.binary_search(&sel.msgs[i].uid).is_ok() {
            removed.push(sel.msgs.remove(i).uid);
            lines.push(format!("{} EXPUNGE", i + 1));
        }
    }
    if !qresync {
        return lines;
    }
    if removed.is_empty() {
        return Vec::new();
    }
    removed.reverse();
    vec![format!("VANISHED {}", uid_set(removed))]
}

/// An unsolicited or STORE-caused FETCH of flags; MODSEQ once CONDSTORE is on.
pub(super) fn flags_line(seq: usize, m: &MessageInfo, recent: bool, condstore: bool) -> String {
    let mut line = format!(
        "{seq} FETCH (UID {} FLAGS {}",
        m.uid,
        wire::flag_list(&m.flags, recent)
    );
    if condstore {
        line.push_str(&format!(" MODSEQ ({})", m.modseq));
    }
    line.push(')');
    line
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// A CONDSTORE-enabling command was seen (RFC 7162 §3.1). With a mailbox
    /// selected, the client learns its HIGHESTMODSEQ now.
    pub(super) fn condstore_on(&mut self) {
        if self.condstore {
            return;
        }
        self.condstore = true;
        if let Some(m) = self.selected.as_ref().map(|s| s.modseq) {
            self.untagged(&format!("OK [HIGHESTMODSEQ {m}] Highest"));
        }
    }

    /// RFC 5161 ENABLE: CONDSTORE, QRESYNC (which implies CONDSTORE),
    /// IMAP4rev2 (RFC 9051 §6.3.1) and UTF8=ACCEPT (RFC 6855 §3); anything
    /// else is not enabled and not listed. Valid only in the authenticated
    /// state (§3.1).
    pub(super) fn enable(&mut self, caps: &[CapabilityEnable<'_>]) -> Reply {
        if self.user.is_none() || self.selected.is_some() {
            return Reply::wrong_state();
        }
        let mut enabled: Vec<&str> = Vec::new();
        for c in caps {
            // imap-codec knows only CONDSTORE; the others come as "other".
            let named = |n: &str| c.to_string().eq_ignore_ascii_case(n);
            let name = match c {
                CapabilityEnable::CondStore => "CONDSTORE",
                // RFC 6855 §3: names in UTF-8 from now on.
                CapabilityEnable::Utf8(Utf8Kind::Accept) => "UTF8=ACCEPT",
                _ if named("QRESYNC") => "QRESYNC",
                _ if named("IMAP4rev2") => "IMAP4rev2",
                _ => continue,
            };
            match name {
                "IMAP4rev2" => self.rev2 = true,
                "UTF8=ACCEPT" => self.utf8 = true,
                "QRESYNC" => (self.condstore, self.qresync) = (true, true),
                _ => self.condstore = true,
            }
            if !enabled.contains(&name) {
                enabled.push(name);
            }
        }
        let mut line = String::from("ENABLED");
        for e in enabled {
            line.push(' ');
            line.push_str(e);
        }
        self.untagged(&line);
        Reply::ok("ENABLE completed")
    }

    /// RFC 7162 §3.2.5: after a SELECT with QRESYNC whose UIDVALIDITY
    /// matches, the UIDs expunged since the client's MODSEQ (VANISHED
    /// (EARLIER), within its known UIDs) and the messages changed since.
    pub(super) async fn resync(&mut self, since: u64, known: Option<&SequenceSet>) {
        let Some(sel) = self.selected.as_ref() else {
            return;
        };
        let gone = match self.ctx.store.changes_since(sel.id, since).await {
            Ok(c) => c.vanished,
            Err(_) => return,
        };
        let vanished: Vec<u32> = gone
            .into_iter()
            .filter(|&u| sel.msgs.binary_search_by_key(&u, |m| m.uid).is_err())
            .filter(|&u| known.is_none_or(|k| seqset::contains_uid(k, u, u32::MAX)))
            .collect();
        let mut lines = Vec::new();
        if !vanished.is_empty() {
            lines.push(format!("VANISHED (EARLIER) {}", uid_set(vanished)));
        }
        for (i, m) in sel.msgs.iter().enumerate() {
            if m.modseq > since {
                lines.push(flags_line(i + 1, m, sel.recent.contains(m.uid), true));
            }
        }
        for l in lines {
            self.untagged(&l);
        }
    }

    /// `* VANISHED (EARLIER)` for UID FETCH … (CHANGEDSINCE n VANISHED)
    /// (RFC 7162 §3.2.6): UIDs in the set expunged after `since`.
    pub(super) async fn vanished_earlier(
        &mut self,
        set: &SequenceSet,
        since: u64,
    ) -> Result<(), Reply> {
        let Some(sel) = self.selected.as_ref() else {
            return Err(Reply::wrong_state());
        };
        let gone = self
            .ctx
            .store
            .changes_since(sel.id, since)
            .await
            .map_err(|e| Reply::from_store(&e))?
            .vanished;
        let hits: Vec<u32> = gone
            .into_iter()
            .filter(|&u| sel.msgs.binary_search_by_key(&u, |m| m.uid).is_err())
            // "*" reaches past the last UID in use: expunged UIDs may lie beyond it.
            .filter(|&u| seqset::contains_uid(set, u, u32::MAX))
            .collect();
        if !hits.is_empty() {
            self.untagged(&format!("VANISHED (EARLIER) {}", uid_set(hits)));
        }
        Ok(())
    }
}
