//! SELECT and EXAMINE (RFC 3501 §6.3.1–2), CLOSE (§6.4.2), UNSELECT
//! (RFC 3691), and keeping a session's view of its mailbox in step with
//! others' changes (RFC 3501 §7.4.1, §5.2).

use super::condstore::{flags_line, remove_uids, SelectParams};
use super::keywords::Announced;
use super::recent::Recent;
use super::reply::Reply;
use super::Session;
use imap_codec::imap_types::command::SelectParameter;
use imap_codec::imap_types::mailbox::Mailbox;
use postern_store::mailbox::MessageInfo;
use postern_store::MailboxId;
use tokio::io::{AsyncRead, AsyncWrite};

/// The selected mailbox as this session has told the client it is:
/// message sequence number n is `msgs[n - 1]`.
pub(super) struct Selected {
    pub id: MailboxId,
    pub name: String,
    pub read_only: bool,
    pub msgs: Vec<MessageInfo>,
    /// The HIGHESTMODSEQ up to which this session has read the mailbox's
    /// changes (the cursor of [`Session::sync`]).
    pub modseq: u64,
    /// UIDs expunged elsewhere, read while expunges could not be reported
    /// (FETCH, STORE, SEARCH): told at the next chance, ascending.
    pub pending: Vec<u32>,
    /// Keywords announced in FLAGS; a new one is announced before it is
    /// shown, and none is dropped while selected (RFC 3501 §7.2.6).
    pub keywords: Announced,
    /// The messages that are \Recent in this session.
    pub recent: Recent,
    /// The UIDs a `SEARCH RETURN (SAVE)` kept, ascending: `$` (RFC 5182).
    /// A new selection starts without one (§2.1: SELECT, EXAMINE, CLOSE, UNSELECT).
    pub saved: Vec<u32>,
    /// Tells [`Session::sync`] when there is nothing new to read.
    pub watch: super::quiet::Watch,
}

impl Selected {
    pub fn uids(&self) -> Vec<u32> {
        self.msgs.iter().map(|m| m.uid).collect()
    }

    /// Message `i` (0-based) takes the flags and MODSEQ the store has for
    /// it now, which may hold keywords another session created: they are
    /// announced to `out` first, so a line pushed after may show them.
    pub fn set_flags(&mut self, i: usize, flags: String, modseq: u64, out: &mut Vec<String>) {
        self.keywords.before_showing(&flags, self.read_only, out);
        let m = &mut self.msgs[i];
        m.flags = flags;
        m.modseq = modseq;
    }

    /// A message new to the session joins its view; its keywords (set by
    /// APPEND, COPY, MOVE or delivery) are announced to `out` first.
    pub fn push_new(&mut self, msg: MessageInfo, out: &mut Vec<String>) {
        self.keywords
            .before_showing(&msg.flags, self.read_only, out);
        self.msgs.push(msg);
    }
}

pub(super) fn has_flag(flags: &str, flag: &str) -> bool {
    flags.split(' ').any(|f| f.eq_ignore_ascii_case(flag))
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) async fn select(
        &mut self,
        mailbox: &Mailbox<'_>,
        read_only: bool,
        params: &[SelectParameter],
    ) -> Reply {
        let Some(user) = self.user.as_ref().map(|u| u.id) else {
            return Reply::wrong_state();
        };
        let params = SelectParams::new(params);
        // RFC 7162 §3.2.5: QRESYNC without ENABLE QRESYNC is BAD.
        if params.qresync.is_some() && !self.qresync {
            return Reply::bad("QRESYNC not enabled");
        }
        if params.condstore {
            self.condstore = true;
        }
        // RFC 3501 §6.3.1: a failed SELECT leaves no mailbox selected.
        // RFC 7162 §3.2.11: a QRESYNC client is told the old one is closed;
        // so is an IMAP4rev2 one (RFC 9051 §6.3.2, §7.1).
        if self.selected.take().is_some() && (self.qresync || self.rev2) {
            self.untagged("OK [CLOSED] Previous mailbox closed");
        }
        let name = match self.name_of(mailbox) {
            Ok(n) => n,
            Err(r) => return r,
        };
        let store = &self.ctx.store;
        let id = match store.mailbox(user, &name).await {
            Ok(Some(id)) => id,
            Ok(None) => return Reply::no("No such mailbox").code("NONEXISTENT"),
            Err(e) => return Reply::from_store(&e),
        };
        // The archive's folders are read-only, SELECT as EXAMINE (archive.rs).
        let read_only = read_only || id.is_archive();
        // Listening before the snapshot: nothing committed after it goes unheard.
        let watch = super::quiet::Watch::new(store.subscribe());
        // The snapshot first: UIDNEXT read after it is above every UID in it.
        let ((msgs, modseq), (validity, uidnext, _)) =
            match (store.snapshot(id).await, store.mailbox_state(id).await) {
                (Ok(m), Ok(s)) => (m, s),
                (Err(e), _) | (_, Err(e)) => return Reply::from_store(&e),
            };
        let mut keywords = Announced::default();
        for m in &msgs {
            keywords.learn(&m.flags);
        }
        // RFC 3501 §6.3.1: SELECT claims the recent messages; EXAMINE does not (§6.3.2).
        // RFC 9051 Appendix E: IMAP4rev2 has no \Recent, no RECENT and no UNSEEN code.
        let rev1 = self.shows_recent();
        let mut recent = Recent::default();
        if rev1 {
            if let Err(r) = recent.learn(&**store, id, &msgs, !read_only).await {
                return r;
            }
        }
        let [flags, permanent] = keywords.lines(read_only);
        self.untagged(&flags);
        self.untagged(&format!("{} EXISTS", msgs.len()));
        if rev1 {
            self.untagged(&format!("{} RECENT", recent.count(&msgs)));
            if let Some(i) = msgs.iter().position(|m| !has_flag(&m.flags, "\\Seen")) {
                self.untagged(&format!("OK [UNSEEN {}] First unseen", i + 1));
            }
        }
        self.untagged(&permanent);
        self.untagged(&format!("OK [UIDVALIDITY {validity}] UIDs valid"));
        self.untagged(&format!("OK [UIDNEXT {uidnext}] Predicted next UID"));
        self.select_list_line(&name);
        if self.condstore {
            self.untagged(&format!("OK [HIGHESTMODSEQ {modseq}] Highest"));
        }
        self.selected = Some(Selected {
            id,
            name,
            read_only,
            msgs,
            modseq,
            pending: Vec::new(),
            keywords,
            recent,
            saved: Vec::new(),
            watch,
        });
        // RFC 7162 §3.2.5: a different UIDVALIDITY means a full resync.
        if let Some((v, since, known)) = &params.qresync {
            if *v == validity {
                self.resync(*since, known.as_ref()).await;
            }
        }
        if read_only {
            Reply::ok("EXAMINE completed").code("READ-ONLY")
        } else {
            Reply::ok("SELECT completed").code("READ-WRITE")
        }
    }

    /// RFC 3501 §6.4.2: removes \Deleted messages silently, unless read-only.
    pub(super) async fn close(&mut self) -> Reply {
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
            if let Err(e) = self.ctx.store.expunge(sel.id, &doomed).await {
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
    /// new messages, and flags changed by other sessions. Only what changed
    /// after the session's MODSEQ cursor is read (RFC 7162 changes query).
    pub(super) async fn sync(&mut self, expunges: bool) -> Result<(), Reply> {
        let (condstore, qresync) = (self.condstore, self.qresync);
        let rev1 = self.shows_recent();
        let store = self.ctx.store.clone();
        let Some(sel) = self.selected.as_mut() else {
            return Ok(());
        };
        let ch = if sel.watch.may_have_changed(sel.id) {
            store
                .changes_since(sel.id, sel.modseq)
                .await
                .map_err(|e| Reply::from_store(&e))?
        } else {
            postern_store::Changes {
                highest_modseq: sel.modseq,
                ..Default::default()
            }
        };
        sel.modseq = sel.modseq.max(ch.highest_modseq);
        sel.pending.extend(ch.vanished);
        let mut lines = Vec::new();
        if expunges && !sel.pending.is_empty() {
            let mut gone = std::mem::take(&mut sel.pending);
            gone.sort_unstable();
            gone.dedup();
            lines = remove_uids(sel, &gone, qresync);
        }
        let last = sel.msgs.last().map(|m| m.uid).unwrap_or(0);
        let before = sel.msgs.len();
        for fresh in ch.changed {
            match sel.msgs.binary_search_by_key(&fresh.uid, |m| m.uid) {
                Ok(i) => {
                    let report = sel.msgs[i].flags != fresh.flags;
                    sel.set_flags(i, fresh.flags, fresh.modseq, &mut lines);
                    if report {
                        let recent = sel.recent.contains(fresh.uid);
                        lines.push(flags_line(i + 1, &sel.msgs[i], recent, condstore));
                    }
                }
                Err(_) if fresh.uid > last => sel.push_new(fresh, &mut lines),
                Err(_) => {}
            }
        }
        if sel.msgs.len() != before {
            // RFC 3501 §7.3.2: RECENT with EXISTS. A failed claim only
            // leaves the new messages not recent here.
            // IMAP4rev2 (RFC 9051 Appendix E): EXISTS alone.
            if rev1 {
                let _ = sel
                    .recent
                    .learn(&*store, sel.id, &sel.msgs[before..], !sel.read_only)
                    .await;
            }
            lines.push(format!("{} EXISTS", sel.msgs.len()));
            if rev1 {
                lines.push(format!("{} RECENT", sel.recent.count(&sel.msgs)));
            }
        }
        for l in lines {
            self.untagged(&l);
        }
        Ok(())
    }
}
