//! COPY / UID COPY (RFC 3501 §6.4.7) and MOVE / UID MOVE (RFC 6851), with
//! UIDPLUS's COPYUID (RFC 4315 §3).

use super::condstore::remove_uids;
use super::reply::Reply;
use super::Session;
use crate::seqset;
use imap_codec::imap_types::mailbox::Mailbox;
use imap_codec::imap_types::sequence::SequenceSet;
use postern_store::Copied;
use tokio::io::{AsyncRead, AsyncWrite};

/// A UID set in its shortest form, keeping the order given: runs of
/// consecutive UIDs become `a:b` (RFC 4315 §3: the source and destination
/// sets of COPYUID correspond in order).
pub(super) fn uid_set(uids: impl IntoIterator<Item = u32>) -> String {
    let mut out = String::new();
    let mut run: Option<(u32, u32)> = None;
    let emit = |out: &mut String, (a, b): (u32, u32)| {
        if !out.is_empty() {
            out.push(',');
        }
        if a == b {
            out.push_str(&a.to_string());
        } else {
            out.push_str(&format!("{a}:{b}"));
        }
    };
    for u in uids {
        run = match run {
            Some((a, b)) if b.checked_add(1) == Some(u) => Some((a, u)),
            Some(r) => {
                emit(&mut out, r);
                Some((u, u))
            }
            None => Some((u, u)),
        };
    }
    if let Some(r) = run {
        emit(&mut out, r);
    }
    out
}

fn copyuid(c: &Copied) -> String {
    format!(
        "COPYUID {} {} {}",
        c.uidvalidity,
        uid_set(c.uids.iter().map(|p| p.0)),
        uid_set(c.uids.iter().map(|p| p.1))
    )
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// COPY, or MOVE when `moving`.
    pub(super) async fn copy(
        &mut self,
        set: &SequenceSet,
        mailbox: &Mailbox<'_>,
        by_uid: bool,
        moving: bool,
    ) -> Reply {
        let Some(user) = self.user.as_ref().map(|u| u.id) else {
            return Reply::wrong_state();
        };
        let name = match self.name_of(mailbox) {
            Ok(n) => n,
            Err(r) => return r,
        };
        let store = self.ctx.store.clone();
        let sel = match self.need_selected() {
            Ok(s) => s,
            Err(r) => return r,
        };
        if moving && sel.read_only {
            return sel.read_only_reply();
        }
        let dst = match store.mailbox(user, &name).await {
            Ok(Some(id)) => id,
            // RFC 3501 §6.4.7: TRYCREATE unless the mailbox cannot be created.
            Ok(None) => return Reply::no("Mailbox does not exist").code("TRYCREATE"),
            Err(e) => return Reply::from_store(&e),
        };
        let Some(idx) = seqset::resolve(set, &sel.uids(), by_uid) else {
            return Reply::bad("Invalid message sequence number");
        };
        let uids: Vec<u32> = idx.iter().map(|&i| sel.msgs[i].uid).collect();
        let blobs: Vec<_> = idx.iter().map(|&i| sel.msgs[i].blob.clone()).collect();
        let src = sel.id;
        let done = if moving {
            store.move_messages(sel.id, dst, &uids).await
        } else {
            store.copy(sel.id, dst, &uids).await
        };
        // Over quota: NO [OVERQUOTA] (RFC 9208 §4.3), nothing copied.
        let copied = match done {
            Ok(c) => c,
            Err(e) => return Reply::from_store(&e),
        };
        // Into or out of Junk: the user says what is spam (SPEC P7).
        self.learn_from_copy(src, dst, blobs).await;
        if moving {
            return self.moved(&copied).await;
        }
        if let Err(r) = self.sync(true).await {
            return r;
        }
        if copied.uids.is_empty() {
            return Reply::ok("COPY completed, nothing to copy");
        }
        Reply::ok("COPY completed").code(copyuid(&copied))
    }

    /// RFC 6851 §4.3: COPYUID in an untagged OK, then the expunges, then the tagged OK.
    async fn moved(&mut self, copied: &Copied) -> Reply {
        if !copied.uids.is_empty() {
            self.untagged(&format!("OK [{}] Moved", copyuid(copied)));
        }
        let mut gone: Vec<u32> = copied.uids.iter().map(|p| p.0).collect();
        gone.sort_unstable();
        let qresync = self.qresync;
        let lines = match self.selected.as_mut() {
            Some(sel) => remove_uids(sel, &gone, qresync),
            None => Vec::new(),
        };
        for l in lines {
            self.untagged(&l);
        }
        if let Err(r) = self.sync(true).await {
            return r;
        }
        // With CONDSTORE, as for EXPUNGE: the HIGHESTMODSEQ after the move.
        match self.selected.as_ref() {
            Some(s) if self.condstore => {
                Reply::ok("MOVE completed").code(format!("HIGHESTMODSEQ {}", s.modseq))
            }
            _ => Reply::ok("MOVE completed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::uid_set;

    #[test]
    fn uid_sets_are_compact_and_ordered() {
        assert_eq!(uid_set([1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert_eq!(uid_set([4]), "4");
        assert_eq!(uid_set([]), "");
        assert_eq!(uid_set([u32::MAX - 1, u32::MAX]), "4294967294:4294967295");
        assert_eq!(uid_set([9, 3, 4]), "9,3:4");
    }
}
