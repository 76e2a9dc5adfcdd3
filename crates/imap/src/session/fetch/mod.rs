//! FETCH / UID FETCH (RFC 3501 §6.4.5, §7.4.2; BINARY from RFC 3516):
//! every data item and the ALL/FAST/FULL macros. ENVELOPE, BODY and
//! BODYSTRUCTURE are built by `crate::message` and written by imap-codec;
//! contents are sent as literals (`body.rs`): the whole message is streamed
//! from its file, a section is a slice of the message read once, and a
//! BINARY section is decoded as it is sent.

mod body;
mod cached;

use super::reply::Reply;
use super::select::has_flag;
use super::Session;
use crate::message::{self, Part};
use crate::{seqset, wire};
use body::{check_binary, encode_item, Source};
use imap_codec::imap_types::command::FetchModifier;
use imap_codec::imap_types::fetch::{
    Macro, MacroOrMessageDataItemNames, MessageDataItem, MessageDataItemName as Item,
};
use imap_codec::imap_types::sequence::SequenceSet;
use postern_store::mailbox::MessageInfo;
use postern_store::FlagOp;
use tokio::io::{AsyncRead, AsyncWrite};

/// Output queued before it is sent, while answering (bounds memory).
const STREAM_CHUNK: usize = 64 * 1024;

/// Whether fetching the item sets \Seen (RFC 3501 §6.4.5: BODY[…] and
/// RFC822[.TEXT], not PEEK; RFC 3516 §4.2: BINARY, not BINARY.PEEK).
fn sets_seen(item: &Item<'_>) -> bool {
    matches!(
        item,
        Item::BodyExt { peek: false, .. }
            | Item::Binary { peek: false, .. }
            | Item::Rfc822
            | Item::Rfc822Text
    )
}

/// The whole message, unchanged: streamed from its file.
fn is_whole(item: &Item<'_>) -> bool {
    matches!(
        item,
        Item::Rfc822
            | Item::BodyExt {
                section: None,
                partial: None,
                ..
            }
    )
}

/// Items that look inside the message: it is read into memory and parsed.
fn looks_inside(item: &Item<'_>) -> bool {
    !is_whole(item)
        && !matches!(
            item,
            Item::Flags | Item::InternalDate | Item::Rfc822Size | Item::Uid | Item::ModSeq
        )
}

/// RFC 3501 §6.4.5: the macros.
fn expand(m: &Macro) -> Vec<Item<'static>> {
    let mut v = vec![Item::Flags, Item::InternalDate, Item::Rfc822Size];
    match m {
        Macro::Fast => {}
        Macro::All => v.push(Item::Envelope),
        _ => v.extend([Item::Envelope, Item::Body]),
    }
    v
}

/// `ENVELOPE (…)` as sent (for the header cache).
pub(crate) fn encode_envelope(env: imap_codec::imap_types::envelope::Envelope<'_>) -> Vec<u8> {
    encode_item(MessageDataItem::Envelope(env))
}

/// What one message's FETCH response was.
enum Answer {
    Sent,
    /// Sent for a message expunged meanwhile (RFC 2180 §4.1.2).
    SentGone,
    /// Not sent: expunged meanwhile, and a structure asked is unknown.
    Withheld,
}

/// A message a FETCH answers for.
struct Target {
    seq: usize,
    msg: MessageInfo,
    /// \Seen was set by this FETCH (RFC 3501 §6.4.5: then FLAGS is reported).
    seen_now: bool,
    /// \Recent in this session.
    recent: bool,
}

/// The message read and parsed, for the items that look inside it.
pub(super) struct Parsed {
    pub raw: Vec<u8>,
    pub tree: Part,
}

impl Parsed {
    fn new(raw: Vec<u8>) -> Parsed {
        let tree = message::parse(&raw);
        Parsed { raw, tree }
    }

    /// Stands for a message whose body is gone.
    fn empty() -> Parsed {
        Parsed::new(Vec::new())
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) async fn fetch(
        &mut self,
        set: &SequenceSet,
        what: MacroOrMessageDataItemNames<'_>,
        by_uid: bool,
        modifiers: &[FetchModifier],
    ) -> Reply {
        let mut items = match what {
            MacroOrMessageDataItemNames::Macro(m) => expand(&m),
            MacroOrMessageDataItemNames::MessageDataItemNames(v) => v,
        };
        // RFC 3501 §6.4.8: UID FETCH always answers with UID.
        if by_uid && !items.contains(&Item::Uid) {
            items.insert(0, Item::Uid);
        }
        let mut changed_since = None;
        let mut vanished = false;
        for m in modifiers {
            match m {
                FetchModifier::ChangedSince(n) => changed_since = Some(n.get()),
                FetchModifier::Vanished => vanished = true,
            }
        }
        // RFC 7162 §3.2.6: VANISHED only in UID FETCH, with CHANGEDSINCE, after ENABLE QRESYNC.
        if vanished && !(by_uid && changed_since.is_some() && self.qresync) {
            return Reply::bad("VANISHED needs UID FETCH, CHANGEDSINCE and ENABLE QRESYNC");
        }
        if self.selected.is_none() {
            return Reply::wrong_state();
        }
        // RFC 7162 §3.1.4: CHANGEDSINCE implies MODSEQ; both enable CONDSTORE.
        if changed_since.is_some() && !items.contains(&Item::ModSeq) {
            items.push(Item::ModSeq);
        }
        if items.contains(&Item::ModSeq) {
            self.condstore_on();
        }
        if let (true, Some(n)) = (vanished, changed_since) {
            if let Err(r) = self.vanished_earlier(set, n).await {
                return r;
            }
        }
        let targets = match self.fetch_targets(set, by_uid, &items, changed_since).await {
            Ok(t) => t,
            Err(r) => return r,
        };
        let (mut expunged, mut withheld) = (false, false);
        for t in targets {
            match self.fetch_one(&t, &items).await {
                Ok(Answer::Sent) => {}
                Ok(Answer::SentGone) => expunged = true,
                Ok(Answer::Withheld) => withheld = true,
                Err(r) => return r,
            }
        }
        if let Err(r) = self.sync(false).await {
            return r;
        }
        if withheld {
            // RFC 2180 §4.1.3, RFC 5530 §3 (Dovecot's words, which imaptest knows).
            return Reply::no("Some of the requested messages no longer exist")
                .code("EXPUNGEISSUED");
        }
        if expunged {
            // RFC 5530 §3: the data of messages expunged meanwhile was partly NIL.
            return Reply::ok("FETCH completed; some messages were expunged meanwhile")
                .code("EXPUNGEISSUED");
        }
        Reply::ok("FETCH completed")
    }

    /// The messages named, with \Seen set first where the items ask for it.
    async fn fetch_targets(
        &mut self,
        set: &SequenceSet,
        by_uid: bool,
        items: &[Item<'_>],
        changed_since: Option<u64>,
    ) -> Result<Vec<Target>, Reply> {
        let store = self.ctx.store.clone();
        let sel = self.need_selected()?;
        let mut idx = seqset::resolve(set, &sel.uids(), by_uid)
            .ok_or_else(|| Reply::bad("Invalid message sequence number"))?;
        if let Some(n) = changed_since {
            idx.retain(|&i| sel.msgs[i].modseq > n);
        }
        let mark = !sel.read_only && items.iter().any(sets_seen);
        let unseen: Vec<u32> = idx
            .iter()
            .map(|&i| &sel.msgs[i])
            .filter(|m| mark && !has_flag(&m.flags, "\\Seen"))
            .map(|m| m.uid)
            .collect();
        let mut changed = Vec::new();
        let mut announce = Vec::new();
        if !unseen.is_empty() {
            let seen = vec!["\\Seen".to_string()];
            let (updates, _) = store
                .store_flags(sel.id, &unseen, FlagOp::Add, &seen, None)
                .await
                .map_err(|e| Reply::from_store(&e))?;
            for u in updates {
                if let Ok(i) = sel.msgs.binary_search_by_key(&u.uid, |m| m.uid) {
                    // The store's flags may hold keywords another session
                    // set: announced before the FETCH responses show them.
                    sel.set_flags(i, u.flags, u.modseq, &mut announce);
                    changed.push(u.uid);
                }
            }
        }
        let targets = idx
            .into_iter()
            .map(|i| Target {
                seq: i + 1,
                msg: sel.msgs[i].clone(),
                seen_now: changed.contains(&sel.msgs[i].uid),
                recent: sel.recent.contains(sel.msgs[i].uid),
            })
            .collect();
        for l in announce {
            self.untagged(&l);
        }
        Ok(targets)
    }

    /// One `* n FETCH (…)` response. What can fail (reading the body, an
    /// unknown transfer encoding) is done before its first octet; a body
    /// file that breaks off while streaming ends the session, as a literal
    /// cannot be taken back.
    ///
    /// RFC 2180 §4.1.2: a message whose body file is gone was expunged by
    /// another session since this one last heard. We answer it anyway: the
    /// items this session knows (UID, FLAGS, INTERNALDATE, RFC822.SIZE,
    /// MODSEQ) from its snapshot, ENVELOPE, BODY and BODYSTRUCTURE from the
    /// header cache when it still has them (imaptest: "BODYSTRUCTURE
    /// changed" otherwise), else ENVELOPE as that of an empty message (its
    /// syntax has no NIL), and contents as NIL. A BODY or BODYSTRUCTURE the
    /// cache does not have is not made up: the message gets no response
    /// (RFC 2180 §4.1.3) and the FETCH ends NO.
    async fn fetch_one(&mut self, t: &Target, items: &[Item<'_>]) -> Result<Answer, Reply> {
        let (seq, msg) = (t.seq, &t.msg);
        let cache = self.ctx.headers.clone();
        let ready = cached::ready(&cache, msg, items);
        let Source {
            parsed,
            mut file,
            present,
        } = match ready {
            Some(_) => Source::nothing(),
            None => match Source::from_cache(&cache, msg, items) {
                Some(s) => s,
                None => Source::open(&*self.ctx.store, msg, items).await?,
            },
        };
        let entry = ready.or_else(|| match &parsed {
            Some(p) if present && items.iter().any(cached::by_cache) => {
                Some(cached::learn(&cache, msg, p, items))
            }
            // Gone: what the cache learnt while it was here is still true,
            // and a client that saw it then must see the same now.
            _ if !present => cache.get(msg),
            _ => None,
        });
        if !present
            && cached::wants_structure(items)
            && entry.as_ref().is_none_or(|e| e.structure(true).is_none())
        {
            return Ok(Answer::Withheld);
        }
        let empty;
        let parsed = match &parsed {
            Some(p) => p,
            None => {
                empty = Parsed::empty();
                &empty
            }
        };
        if present {
            check_binary(parsed, items)?;
        }
        self.conn.push(format!("* {seq} FETCH (").as_bytes());
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.conn.push(b" ");
            }
            if let Some(text) = simple_item(item, msg, t.recent) {
                self.conn.push(text.as_bytes());
            } else if let Some(bytes) = entry.as_deref().and_then(|e| {
                let b = cached::answer(e, item)?;
                Some(self.cached_item_for_client(item, b, &e.header))
            }) {
                self.conn.push(&bytes);
            } else {
                self.fetch_item(item, parsed, &mut file, present).await?;
            }
        }
        // RFC 3501 §6.4.5: a \Seen set as a side effect is reported.
        if t.seen_now && !items.contains(&Item::Flags) {
            if !items.is_empty() {
                self.conn.push(b" ");
            }
            let flags = wire::flag_list(&msg.flags, t.recent);
            self.conn.push(format!("FLAGS {flags}").as_bytes());
        }
        self.conn.push(b")\r\n");
        self.flush_if_full().await?;
        Ok(if present {
            Answer::Sent
        } else {
            Answer::SentGone
        })
    }

    /// ENVELOPE, BODY, BODYSTRUCTURE, and the contents.
    async fn fetch_item(
        &mut self,
        item: &Item<'_>,
        p: &Parsed,
        file: &mut Option<postern_store::Body>,
        present: bool,
    ) -> Result<(), Reply> {
        let structure =
            |extended| message::bodystructure::body_structure(&p.tree, &p.raw, extended);
        let data = match item {
            Item::Envelope => {
                let envelope = self.envelope_item(&p.raw[p.tree.header.clone()]);
                self.conn.push(&envelope);
                return Ok(());
            }
            Item::Body => MessageDataItem::Body(structure(false)),
            Item::BodyStructure => MessageDataItem::BodyStructure(structure(true)),
            _ => return self.send_contents(item, p, file, present).await,
        };
        self.conn.push(&encode_item(data));
        Ok(())
    }

    /// Sends the queued output once it is large.
    async fn flush_if_full(&mut self) -> Result<(), Reply> {
        if self.conn.queued() >= STREAM_CHUNK && self.conn.flush().await.is_err() {
            self.closing = true;
            return Err(Reply::no("Connection lost").code("UNAVAILABLE"));
        }
        Ok(())
    }
}

/// The items answered from the session's snapshot of the mailbox.
fn simple_item(item: &Item<'_>, msg: &MessageInfo, recent: bool) -> Option<String> {
    Some(match item {
        Item::Uid => format!("UID {}", msg.uid),
        Item::Flags => format!("FLAGS {}", wire::flag_list(&msg.flags, recent)),
        Item::InternalDate => format!("INTERNALDATE {}", wire::internal_date(msg.internal_date)),
        Item::Rfc822Size => format!("RFC822.SIZE {}", msg.size),
        Item::ModSeq => format!("MODSEQ ({})", msg.modseq),
        _ => return None,
    })
}
