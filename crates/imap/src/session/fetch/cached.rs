//! ENVELOPE, BODY and BODYSTRUCTURE from the shared header cache
//! ([`crate::cache`]): a FETCH of only these (and of what the session's
//! snapshot knows) opens no file once a message has been seen; the first
//! FETCH that reads a message leaves what it learnt in the cache.

use super::{encode_item, looks_inside, Parsed};
use crate::cache::{Entry, HeaderCache};
use crate::message::bodystructure::body_structure;
use imap_codec::imap_types::fetch::{MessageDataItem, MessageDataItemName as Item};
use postern_store::mailbox::MessageInfo;
use std::sync::Arc;

/// Items the cache answers.
pub(super) fn by_cache(item: &Item<'_>) -> bool {
    matches!(item, Item::Envelope | Item::Body | Item::BodyStructure)
}

pub(super) fn wants_structure(items: &[Item<'_>]) -> bool {
    items
        .iter()
        .any(|i| matches!(i, Item::Body | Item::BodyStructure))
}

/// The cached entry, when it answers every item that looks inside the
/// message (so the message need not be read at all).
pub(super) fn ready(
    cache: &HeaderCache,
    msg: &MessageInfo,
    items: &[Item<'_>],
) -> Option<Arc<Entry>> {
    let mut inside = items.iter().filter(|i| looks_inside(i)).peekable();
    inside.peek()?;
    if !inside.all(by_cache) {
        return None;
    }
    let e = cache.get(msg)?;
    (!wants_structure(items) || e.structure(true).is_some()).then_some(e)
}

/// The entry for a message just read, with what `p` tells added to it.
pub(super) fn learn(
    cache: &HeaderCache,
    msg: &MessageInfo,
    p: &Parsed,
    items: &[Item<'_>],
) -> Arc<Entry> {
    let e = cache
        .get(msg)
        .unwrap_or_else(|| cache.insert(msg, p.raw[p.tree.header.clone()].to_vec()));
    // BODY/BODYSTRUCTURE asked: `p` is the whole message (see `Source::open`).
    if wants_structure(items) && e.structure(true).is_none() {
        let s = |extended| body_structure(&p.tree, &p.raw, extended);
        e.set_structure(
            encode_item(MessageDataItem::Body(s(false))),
            encode_item(MessageDataItem::BodyStructure(s(true))),
        );
    }
    e
}

/// The item's encoded form from the entry, when it has it.
pub(super) fn answer<'e>(e: &'e Entry, item: &Item<'_>) -> Option<&'e [u8]> {
    match item {
        Item::Envelope => Some(e.envelope()),
        Item::Body => e.structure(false),
        Item::BodyStructure => e.structure(true),
        _ => None,
    }
}
