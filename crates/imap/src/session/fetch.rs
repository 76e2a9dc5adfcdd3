//! FETCH / UID FETCH (RFC 3501 §6.4.5, §7.4.2): FLAGS, UID, INTERNALDATE,
//! RFC822.SIZE, MODSEQ, RFC822[.HEADER|.TEXT], and BODY[section]<partial>
//! / BODY.PEEK for the whole message, HEADER, HEADER.FIELDS[.NOT] and TEXT.
//! The whole message is streamed from its file; sections are cut in memory.

use super::reply::Reply;
use super::select::has_flag;
use super::Session;
use crate::{seqset, wire};
use imap_codec::imap_types::core::AString;
use imap_codec::imap_types::fetch::{
    Macro, MacroOrMessageDataItemNames, MessageDataItemName as Item, Section,
};
use imap_codec::imap_types::sequence::SequenceSet;
use postern_store::mailbox::MessageInfo;
use postern_store::FlagOp;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

/// Bytes read from a body file at a time while streaming it.
const STREAM_CHUNK: usize = 64 * 1024;

/// Item names this server answers; the others are refused before any output.
fn supported(item: &Item<'_>) -> bool {
    match item {
        Item::BodyExt { section, .. } => matches!(
            section,
            None | Some(Section::Header(None))
                | Some(Section::Text(None))
                | Some(Section::HeaderFields(None, _))
                | Some(Section::HeaderFieldsNot(None, _))
        ),
        Item::Flags
        | Item::InternalDate
        | Item::Rfc822
        | Item::Rfc822Header
        | Item::Rfc822Size
        | Item::Rfc822Text
        | Item::Uid
        | Item::ModSeq => true,
        _ => false,
    }
}

/// Whether fetching the item sets \Seen (RFC 3501 §6.4.5: BODY[…] and RFC822, not PEEK).
fn sets_seen(item: &Item<'_>) -> bool {
    matches!(
        item,
        Item::BodyExt { peek: false, .. } | Item::Rfc822 | Item::Rfc822Text
    )
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) async fn fetch(
        &mut self,
        set: &SequenceSet,
        what: MacroOrMessageDataItemNames<'_>,
        by_uid: bool,
    ) -> Reply {
        let mut items = match what {
            MacroOrMessageDataItemNames::Macro(Macro::Fast) => {
                vec![Item::Flags, Item::InternalDate, Item::Rfc822Size]
            }
            MacroOrMessageDataItemNames::Macro(_) => {
                return Reply::no("ENVELOPE and BODY are not supported yet").code("CANNOT")
            }
            MacroOrMessageDataItemNames::MessageDataItemNames(v) => v,
        };
        if let Some(bad) = items.iter().find(|i| !supported(i)) {
            let _ = bad;
            return Reply::no("FETCH item not supported yet").code("CANNOT");
        }
        // RFC 3501 §6.4.8: UID FETCH always answers with UID.
        if by_uid && !items.contains(&Item::Uid) {
            items.insert(0, Item::Uid);
        }
        let targets = match self.fetch_targets(set, by_uid, &items) {
            Ok(t) => t,
            Err(r) => return r,
        };
        for (seq, msg, seen_now) in targets {
            if let Err(r) = self.fetch_one(seq, &msg, &items, seen_now).await {
                return r;
            }
        }
        if let Err(r) = self.sync(false) {
            return r;
        }
        Reply::ok("FETCH completed")
    }

    /// The messages named, with \Seen set first where the items ask for it.
    fn fetch_targets(
        &mut self,
        set: &SequenceSet,
        by_uid: bool,
        items: &[Item<'_>],
    ) -> Result<Vec<(usize, MessageInfo, bool)>, Reply> {
        let store = self.ctx.store.clone();
        let sel = self.need_selected()?;
        let idx = seqset::resolve(set, &sel.uids(), by_uid)
            .ok_or_else(|| Reply::bad("Invalid message sequence number"))?;
        let mark = !sel.read_only && items.iter().any(sets_seen);
        let unseen: Vec<u32> = idx
            .iter()
            .map(|&i| &sel.msgs[i])
            .filter(|m| mark && !has_flag(&m.flags, "\\Seen"))
            .map(|m| m.uid)
            .collect();
        let mut changed = Vec::new();
        if !unseen.is_empty() {
            let seen = vec!["\\Seen".to_string()];
            let (updates, _) = store
                .store_flags(sel.id, &unseen, FlagOp::Add, &seen, None)
                .map_err(|e| Reply::from_store(&e))?;
            for u in updates {
                if let Ok(i) = sel.msgs.binary_search_by_key(&u.uid, |m| m.uid) {
                    sel.msgs[i].flags = u.flags;
                    sel.msgs[i].modseq = u.modseq;
                    changed.push(u.uid);
                }
            }
        }
        Ok(idx
            .into_iter()
            .map(|i| {
                (
                    i + 1,
                    sel.msgs[i].clone(),
                    changed.contains(&sel.msgs[i].uid),
                )
            })
            .collect())
    }

    async fn fetch_one(
        &mut self,
        seq: usize,
        msg: &MessageInfo,
        items: &[Item<'_>],
        seen_now: bool,
    ) -> Result<(), Reply> {
        self.conn.push(format!("* {seq} FETCH (").as_bytes());
        let mut first = true;
        let mut sep = |conn: &mut postern_net::Conn<S>| {
            if !std::mem::take(&mut first) {
                conn.push(b" ");
            }
        };
        let mut body: Option<Vec<u8>> = None;
        for item in items {
            sep(&mut self.conn);
            match item {
                Item::Uid => self.conn.push(format!("UID {}", msg.uid).as_bytes()),
                Item::Flags => self
                    .conn
                    .push(format!("FLAGS {}", wire::flag_list(&msg.flags)).as_bytes()),
                Item::InternalDate => self.conn.push(
                    format!("INTERNALDATE {}", wire::internal_date(msg.internal_date)).as_bytes(),
                ),
                Item::Rfc822Size => self
                    .conn
                    .push(format!("RFC822.SIZE {}", msg.size).as_bytes()),
                Item::ModSeq => self
                    .conn
                    .push(format!("MODSEQ ({})", msg.modseq).as_bytes()),
                Item::Rfc822 => {
                    self.conn.push(b"RFC822 ");
                    self.stream_body(msg).await?;
                }
                Item::BodyExt {
                    section: None,
                    partial: None,
                    ..
                } => {
                    self.conn.push(b"BODY[] ");
                    self.stream_body(msg).await?;
                }
                other => {
                    if body.is_none() {
                        body = Some(self.read_body(msg).await?);
                    }
                    let (name, bytes) = section_of(other, body.as_deref().unwrap_or_default());
                    self.conn.push(name.as_bytes());
                    self.conn.push(b" ");
                    let mut out = Vec::with_capacity(bytes.len() + 16);
                    out.extend_from_slice(format!("{{{}}}\r\n", bytes.len()).as_bytes());
                    out.extend_from_slice(&bytes);
                    self.conn.push(&out);
                }
            }
        }
        // RFC 3501 §6.4.5: a \Seen set as a side effect is reported.
        if seen_now && !items.contains(&Item::Flags) {
            sep(&mut self.conn);
            self.conn
                .push(format!("FLAGS {}", wire::flag_list(&msg.flags)).as_bytes());
        }
        self.conn.push(b")\r\n");
        Ok(())
    }

    async fn read_body(&self, msg: &MessageInfo) -> Result<Vec<u8>, Reply> {
        let path = self.ctx.store.blob_path(&msg.blob);
        tokio::fs::read(&path)
            .await
            .map_err(|_| Reply::no("Message body unavailable").code("UNAVAILABLE"))
    }

    /// The whole message as a literal, read and sent in chunks.
    async fn stream_body(&mut self, msg: &MessageInfo) -> Result<(), Reply> {
        let gone = || Reply::no("Message body unavailable").code("UNAVAILABLE");
        let path = self.ctx.store.blob_path(&msg.blob);
        let mut file = tokio::fs::File::open(&path).await.map_err(|_| gone())?;
        let len = file.metadata().await.map_err(|_| gone())?.len();
        self.conn.push(format!("{{{len}}}\r\n").as_bytes());
        let mut left = len;
        let mut chunk = vec![0u8; STREAM_CHUNK];
        while left > 0 {
            let want = (left as usize).min(STREAM_CHUNK);
            let n = file.read(&mut chunk[..want]).await.map_err(|_| gone())?;
            if n == 0 {
                // The file shrank under us: the literal cannot be completed.
                self.closing = true;
                return Err(gone());
            }
            self.conn.push(&chunk[..n]);
            left -= n as u64;
            if self.conn.queued() >= STREAM_CHUNK && self.conn.flush().await.is_err() {
                self.closing = true;
                return Err(gone());
            }
        }
        Ok(())
    }
}

/// Splits a message at the blank line ending its header (the blank line stays with the header).
fn split_header(msg: &[u8]) -> (&[u8], &[u8]) {
    let at = msg
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .or_else(|| msg.windows(2).position(|w| w == b"\n\n").map(|p| p + 2))
        .unwrap_or(msg.len());
    msg.split_at(at)
}

/// The header fields whose names are (or, with `not`, are not) in `names`, then a blank line.
fn header_fields(header: &[u8], names: &[AString<'_>], not: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut keep = false;
    for line in header.split_inclusive(|&b| b == b'\n') {
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        if !line.starts_with(b" ") && !line.starts_with(b"\t") {
            let name = line.split(|&b| b == b':').next().unwrap_or_default();
            let listed = names
                .iter()
                .any(|n| n.as_ref().eq_ignore_ascii_case(name.trim_ascii()));
            keep = listed != not;
        }
        if keep {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The response name and bytes of a section item (partial applied).
fn section_of<'b>(item: &Item<'_>, msg: &'b [u8]) -> (String, std::borrow::Cow<'b, [u8]>) {
    use std::borrow::Cow;
    let (header, text) = split_header(msg);
    let names = |v: &[AString<'_>]| {
        v.iter()
            .map(|n| String::from_utf8_lossy(n.as_ref()).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    };
    match item {
        Item::Rfc822Header => ("RFC822.HEADER".into(), Cow::Borrowed(header)),
        Item::Rfc822Text => ("RFC822.TEXT".into(), Cow::Borrowed(text)),
        Item::BodyExt {
            section, partial, ..
        } => {
            let (label, bytes): (String, Cow<'b, [u8]>) = match section {
                None => (String::new(), Cow::Borrowed(msg)),
                Some(Section::Header(_)) => ("HEADER".into(), Cow::Borrowed(header)),
                Some(Section::Text(_)) => ("TEXT".into(), Cow::Borrowed(text)),
                Some(Section::HeaderFields(_, v)) => (
                    format!("HEADER.FIELDS ({})", names(v.as_ref())),
                    Cow::Owned(header_fields(header, v.as_ref(), false)),
                ),
                Some(Section::HeaderFieldsNot(_, v)) => (
                    format!("HEADER.FIELDS.NOT ({})", names(v.as_ref())),
                    Cow::Owned(header_fields(header, v.as_ref(), true)),
                ),
                Some(_) => (String::new(), Cow::Borrowed(&[][..])),
            };
            match partial {
                // RFC 3501 §6.4.5: <origin.length>, answered as BODY[…]<origin>.
                Some((start, len)) => {
                    let s = (*start as usize).min(bytes.len());
                    let e = s.saturating_add(len.get() as usize).min(bytes.len());
                    let cut = match bytes {
                        Cow::Borrowed(b) => Cow::Borrowed(&b[s..e]),
                        Cow::Owned(o) => Cow::Owned(o[s..e].to_vec()),
                    };
                    (format!("BODY[{label}]<{start}>"), cut)
                }
                None => (format!("BODY[{label}]"), bytes),
            }
        }
        _ => (String::new(), Cow::Borrowed(&[][..])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections() {
        let msg = b"From: a@x\r\nSubject: hi\r\n there\r\nTo: b@y\r\n\r\nbody\r\n";
        let (h, t) = split_header(msg);
        assert!(h.ends_with(b"b@y\r\n\r\n"));
        assert_eq!(t, b"body\r\n");
        let subj = [AString::try_from("SUBJECT").unwrap()];
        assert_eq!(
            header_fields(h, &subj, false),
            b"Subject: hi\r\n there\r\n\r\n"
        );
        assert_eq!(
            header_fields(h, &subj, true),
            b"From: a@x\r\nTo: b@y\r\n\r\n"
        );
        assert_eq!(
            split_header(b"no header end"),
            (&b"no header end"[..], &b""[..])
        );
    }
}
