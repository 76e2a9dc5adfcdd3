//! The contents FETCH sends as literals: RFC822[.HEADER|.TEXT],
//! BODY[section]<partial>, BINARY[section]<partial> (RFC 3516) and
//! BINARY.SIZE. Item names are written by imap-codec; the octets follow in
//! chunks, so the output queue stays bounded whatever the size.

use super::{is_whole, looks_inside, Parsed, Session, STREAM_CHUNK};
use crate::cache::HeaderCache;
use crate::message::binary::{Cte, Decoder, CHUNK};
use crate::message::nul::{nul_unless, replace_nul};
use crate::message::{self, section};
use crate::session::reply::Reply;
use imap_codec::encode::Encoder;
use imap_codec::imap_types::core::{NString, NString8, Vec1};
use imap_codec::imap_types::fetch::{MessageDataItem, MessageDataItemName as Item, Section};
use imap_codec::imap_types::response::{Data, Response};
use imap_codec::ResponseCodec;
use postern_store::mailbox::MessageInfo;
use postern_store::{BlobId, Body, MailStore, StoreError};
use std::borrow::Cow;
use std::num::NonZeroU32;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWrite};

/// Where a message's contents come from for one FETCH response.
pub(in crate::session) struct Source {
    /// Read and parsed, when an item looks inside the message.
    pub parsed: Option<Parsed>,
    /// Open for streaming, when the items only want the whole message.
    pub file: Option<Body>,
    /// False when the body file is gone (expunged meanwhile).
    pub present: bool,
}

/// Messages up to this size are read whole rather than streamed from their file.
const READ_WHOLE: u64 = 256 * 1024;

fn unavailable() -> Reply {
    Reply::no("Message body unavailable").code("UNAVAILABLE")
}

impl Source {
    /// Nothing to read: every item is answered without the message.
    pub fn nothing() -> Source {
        Source {
            parsed: None,
            file: None,
            present: true,
        }
    }

    /// The body is gone (expunged meanwhile): its items are NIL.
    fn gone() -> Source {
        Source {
            parsed: None,
            file: None,
            present: false,
        }
    }

    /// Header-only items from the header cache's copy of the header (the
    /// same octets a read would give): no trip to the blocking pool. None
    /// when an item needs more, or the cache lacks the message.
    pub fn from_cache(
        cache: &HeaderCache,
        msg: &MessageInfo,
        items: &[Item<'_>],
    ) -> Option<Source> {
        if !header_only(items) {
            return None;
        }
        let entry = cache.get(msg)?;
        Some(Source {
            parsed: Some(Parsed::new(entry.header.clone())),
            file: None,
            present: true,
        })
    }

    pub async fn open(
        store: &dyn MailStore,
        msg: &MessageInfo,
        items: &[Item<'_>],
    ) -> Result<Source, Reply> {
        if items.iter().any(looks_inside) {
            let header_only = header_only(items);
            // A small message in one trip to the blocking pool (open and
            // read together) instead of an open and then a read per chunk:
            // the hand-offs, not the bytes, are what header fetches cost.
            if header_only && msg.size <= READ_WHOLE {
                return read(store.read_body(&msg.blob).await.map(|b| b.map(header_of)));
            }
            if header_only {
                return read(read_header(store, &msg.blob).await);
            }
            return read(store.read_body(&msg.blob).await);
        }
        // A small message is read at once (one trip to the blocking pool
        // instead of one per open, seek and read); a large one is streamed.
        if items.iter().any(is_whole) && msg.size <= READ_WHOLE {
            return read(store.read_body(&msg.blob).await);
        }
        if items.iter().any(is_whole) {
            return match store.open_body(&msg.blob).await {
                Ok(Some(body)) => Ok(Source {
                    parsed: None,
                    file: Some(body),
                    present: true,
                }),
                Ok(None) => Ok(Source::gone()),
                Err(_) => Err(unavailable()),
            };
        }
        Ok(Source {
            parsed: None,
            file: None,
            present: true,
        })
    }
}

/// A message read whole (or its header), or gone.
fn read(raw: Result<Option<Vec<u8>>, StoreError>) -> Result<Source, Reply> {
    match raw {
        Ok(Some(raw)) => Ok(Source {
            parsed: Some(Parsed::new(raw)),
            file: None,
            present: true,
        }),
        Ok(None) => Ok(Source::gone()),
        Err(_) => Err(unavailable()),
    }
}

/// Something looks inside the message, and the top-level header answers it all.
fn header_only(items: &[Item<'_>]) -> bool {
    items.iter().any(looks_inside)
        && !items.iter().any(is_whole)
        && items.iter().filter(|i| looks_inside(i)).all(in_header)
}

/// Items answered from the top-level header alone.
fn in_header(item: &Item<'_>) -> bool {
    matches!(
        item,
        Item::Envelope
            | Item::Rfc822Header
            | Item::BodyExt {
                section: Some(
                    Section::Header(None)
                        | Section::HeaderFields(None, _)
                        | Section::HeaderFieldsNot(None, _)
                ),
                ..
            }
    )
}

/// A whole message cut to its header (the blank line kept).
fn header_of(mut raw: Vec<u8>) -> Vec<u8> {
    raw.truncate(message::header_end(&raw));
    raw
}

/// The message's header, without reading its body (ENVELOPE and header
/// fields are what clients list mailboxes with; bodies may be large).
/// None when the body is gone.
async fn read_header(store: &dyn MailStore, id: &BlobId) -> Result<Option<Vec<u8>>, StoreError> {
    let Some(mut file) = store.open_body(id).await? else {
        return Ok(None);
    };
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let n = file.read(&mut chunk).await.map_err(|e| StoreError::Io {
            path: id.to_string(),
            source: e,
        })?;
        if n == 0 {
            return Ok(Some(buf));
        }
        buf.extend_from_slice(&chunk[..n]);
        let end = message::header_end(&buf);
        if end < buf.len() {
            buf.truncate(end);
            return Ok(Some(buf));
        }
    }
}

/// RFC 3516 §4.3: BINARY of a part whose transfer encoding we cannot undo
/// fails the command, before anything of the response is sent.
pub(super) fn check_binary(p: &Parsed, items: &[Item<'_>]) -> Result<(), Reply> {
    for item in items {
        let (Item::Binary { section, .. } | Item::BinarySize { section }) = item else {
            continue;
        };
        if let Some((_, cte)) = section::binary_part(&p.raw, &p.tree, section) {
            if Cte::parse(cte).is_none() {
                return Err(Reply::no("Unknown Content-Transfer-Encoding").code("UNKNOWN-CTE"));
            }
        }
    }
    Ok(())
}

/// One FETCH data item as imap-codec writes it (it encodes whole responses
/// only, so the item is cut out of a one-item response).
pub(super) fn encode_item(item: MessageDataItem<'_>) -> Vec<u8> {
    let response = Response::Data(Data::Fetch {
        seq: NonZeroU32::MIN,
        items: Vec1::from(item),
    });
    let out = ResponseCodec::default().encode(&response).dump();
    out.strip_prefix(b"* 1 FETCH (")
        .and_then(|r| r.strip_suffix(b")\r\n"))
        .unwrap_or_default()
        .to_vec()
}

/// The name of a data item whose value is sent apart: `BODY[1.MIME] `.
fn label(item: MessageDataItem<'_>) -> Vec<u8> {
    let mut out = encode_item(item);
    if out.ends_with(b"NIL") {
        out.truncate(out.len() - 3);
    }
    out
}

/// `<origin.length>` applied to `len` octets: the range sent (RFC 3501 §6.4.5).
fn window(len: u64, partial: Option<(u32, NonZeroU32)>) -> (u64, u64) {
    match partial {
        Some((start, count)) => {
            let s = u64::from(start).min(len);
            (s, (s + u64::from(count.get())).min(len))
        }
        None => (0, len),
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// The contents items; `present` false: the body is gone, they are NIL.
    pub(super) async fn send_contents(
        &mut self,
        item: &Item<'_>,
        p: &Parsed,
        file: &mut Option<Body>,
        present: bool,
    ) -> Result<(), Reply> {
        let nil = || NString(None);
        let root = &p.tree;
        let (name, data) = match item {
            Item::Rfc822
            | Item::BodyExt {
                section: None,
                partial: None,
                ..
            } => {
                let name = match item {
                    Item::Rfc822 => label(MessageDataItem::Rfc822(nil())),
                    _ => label(MessageDataItem::BodyExt {
                        section: None,
                        origin: None,
                        data: nil(),
                    }),
                };
                if let Some(f) = file {
                    return self.stream_file(&name, f).await;
                }
                (name, Some(Cow::Borrowed(&p.raw[..])))
            }
            Item::Rfc822Header => (
                label(MessageDataItem::Rfc822Header(nil())),
                Some(Cow::Borrowed(&p.raw[root.header.clone()])),
            ),
            Item::Rfc822Text => (
                label(MessageDataItem::Rfc822Text(nil())),
                Some(Cow::Borrowed(&p.raw[root.body.clone()])),
            ),
            Item::BodyExt {
                section, partial, ..
            } => {
                let name = label(MessageDataItem::BodyExt {
                    section: section.clone(),
                    origin: partial.map(|(start, _)| start),
                    data: nil(),
                });
                let data = section::body_section(&p.raw, root, section.as_ref()).map(|d| {
                    let (s, e) = window(d.len() as u64, *partial);
                    match d {
                        Cow::Borrowed(b) => Cow::Borrowed(&b[s as usize..e as usize]),
                        Cow::Owned(o) => Cow::Owned(o[s as usize..e as usize].to_vec()),
                    }
                });
                (name, data)
            }
            Item::Binary {
                section, partial, ..
            } => {
                let value = NString8::NString(nil());
                let mut name = label(MessageDataItem::Binary {
                    section: section.clone(),
                    value,
                });
                if let Some((start, _)) = partial {
                    // RFC 9051 §7.5.2: BINARY[…]<origin>; imap-codec has no origin here.
                    name.pop();
                    name.extend_from_slice(format!("<{start}> ").as_bytes());
                }
                let part = section::binary_part(&p.raw, root, section).filter(|_| present);
                return self.send_binary(&name, part, *partial).await;
            }
            Item::BinarySize { section } => {
                let size = section::binary_part(&p.raw, root, section)
                    .filter(|_| present)
                    .and_then(|(content, cte)| Some(Decoder::measure(Cte::parse(cte)?, content).0))
                    .unwrap_or(0);
                let size = u32::try_from(size).unwrap_or(u32::MAX);
                self.conn.push(&encode_item(MessageDataItem::BinarySize {
                    section: section.clone(),
                    size,
                }));
                return Ok(());
            }
            _ => return Ok(()),
        };
        match data.filter(|_| present) {
            Some(d) => self.send_literal(&name, &d, false).await,
            None => {
                self.conn.push(&name);
                self.conn.push(b"NIL");
                Ok(())
            }
        }
    }

    /// `name {n}` CR LF and the octets (`~{n}` for a literal8).
    async fn send_literal(&mut self, name: &[u8], data: &[u8], eight: bool) -> Result<(), Reply> {
        self.conn.push(name);
        let tilde = if eight { "~" } else { "" };
        self.conn
            .push(format!("{tilde}{{{}}}\r\n", data.len()).as_bytes());
        for chunk in data.chunks(STREAM_CHUNK) {
            // RFC 9051 §4.3: no NUL in an ordinary literal (message/nul.rs).
            self.conn.push(&nul_unless(eight, chunk));
            self.flush_if_full().await?;
        }
        Ok(())
    }

    /// BINARY: the content decoded as it is sent, after a first pass for its size.
    async fn send_binary(
        &mut self,
        name: &[u8],
        part: Option<(&[u8], &str)>,
        partial: Option<(u32, NonZeroU32)>,
    ) -> Result<(), Reply> {
        let Some((content, cte)) = part.and_then(|(c, e)| Some((c, Cte::parse(e)?))) else {
            self.conn.push(name);
            self.conn.push(b"NIL");
            return Ok(());
        };
        let (len, nul) = Decoder::measure(cte, content);
        let (start, end) = window(len, partial);
        self.conn.push(name);
        let tilde = if nul { "~" } else { "" };
        self.conn
            .push(format!("{tilde}{{{}}}\r\n", end - start).as_bytes());
        let mut decoder = Decoder::new(cte, content);
        let mut buf = Vec::with_capacity(CHUNK + 4);
        let mut at = 0u64;
        while at < end {
            buf.clear();
            let n = decoder.read(&mut buf, CHUNK) as u64;
            if n == 0 {
                break;
            }
            let lo = start.saturating_sub(at).min(n) as usize;
            let hi = (end - at).min(n) as usize;
            if lo < hi {
                self.conn.push(&buf[lo..hi]);
                self.flush_if_full().await?;
            }
            at += n;
        }
        Ok(())
    }

    /// The whole message as a literal, read from the store and sent in chunks.
    async fn stream_file(&mut self, name: &[u8], file: &mut Body) -> Result<(), Reply> {
        // Past this point a failure leaves a response cut short: the session ends.
        let fail = |s: &mut Self| {
            s.closing = true;
            unavailable()
        };
        if file.rewind().await.is_err() {
            return Err(fail(self));
        }
        let len = file.len();
        self.conn.push(name);
        self.conn.push(format!("{{{len}}}\r\n").as_bytes());
        let mut left = len;
        let mut chunk = vec![0u8; STREAM_CHUNK];
        while left > 0 {
            let want = (left as usize).min(STREAM_CHUNK);
            let n = match file.read(&mut chunk[..want]).await {
                Ok(n) if n > 0 => n,
                // The literal cannot be completed: the session must end.
                _ => return Err(fail(self)),
            };
            self.conn.push(&replace_nul(&chunk[..n]));
            left -= n as u64;
            self.flush_if_full().await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{HeaderCache, Item, MessageInfo, Source};
    use postern_store::BlobId;

    #[test]
    fn header_only_items_come_from_the_cached_header_and_nothing_else_does() {
        let cache = HeaderCache::default();
        let msg = MessageInfo {
            uid: 1,
            guid: String::new(),
            blob: BlobId::parse("0000000a").unwrap(),
            size: 40,
            internal_date: 0,
            flags: String::new(),
            modseq: 1,
        };
        let header = b"Subject: Hello\r\nFrom: a@b.test\r\n\r\n".to_vec();
        let items = [Item::Uid, Item::Rfc822Header];
        assert!(
            Source::from_cache(&cache, &msg, &items).is_none(),
            "not cached yet"
        );
        cache.insert(&msg, header.clone());
        let src = Source::from_cache(&cache, &msg, &items).expect("from the cache");
        assert!(src.present && src.file.is_none());
        assert_eq!(src.parsed.unwrap().raw, header);
        // The whole message, or its text, needs the body file.
        assert!(Source::from_cache(&cache, &msg, &[Item::Rfc822]).is_none());
        assert!(Source::from_cache(&cache, &msg, &[Item::Rfc822Text]).is_none());
        assert!(Source::from_cache(&cache, &msg, &[Item::Uid]).is_none());
    }

    #[test]
    fn header_of_keeps_the_header_and_its_blank_line_only() {
        let cut = super::header_of(b"Subject: x\r\nFrom: a@b\r\n\r\nbody\r\n".to_vec());
        assert_eq!(cut, b"Subject: x\r\nFrom: a@b\r\n\r\n");
        let bare = super::header_of(b"Subject: x\r\n".to_vec());
        assert_eq!(bare, b"Subject: x\r\n", "no body: all header");
    }
}
