//! ENVELOPE for a client that has not enabled UTF8=ACCEPT or IMAP4rev2:
//! its 8-bit strings as RFC 2047 encoded words (RFC 6855 §3;
//! message/encoded_words.rs). The shared header cache keeps the UTF-8 form;
//! the 7-bit form is built only for an 8-bit envelope and such a client.

use super::Session;
use crate::message::encoded_words::ascii_envelope;
use crate::message::envelope::envelope;
use imap_codec::imap_types::fetch::MessageDataItemName as Item;
use std::borrow::Cow;
use tokio::io::{AsyncRead, AsyncWrite};

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// `ENVELOPE (…)` of `header` as this client may receive it.
    pub(super) fn envelope_item(&self, header: &[u8]) -> Vec<u8> {
        let env = envelope(header);
        if self.utf8_names() {
            return super::encode_envelope(env);
        }
        super::encode_envelope(ascii_envelope(env))
    }

    /// A cached item's bytes as this client may receive them: an 8-bit
    /// ENVELOPE is rebuilt from `header` for a client without UTF-8.
    pub(super) fn cached_item_for_client<'a>(
        &self,
        item: &Item<'_>,
        cached: &'a [u8],
        header: &[u8],
    ) -> Cow<'a, [u8]> {
        if matches!(item, Item::Envelope) && !cached.is_ascii() && !self.utf8_names() {
            return Cow::Owned(self.envelope_item(header));
        }
        Cow::Borrowed(cached)
    }
}
