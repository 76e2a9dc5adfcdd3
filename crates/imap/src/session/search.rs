//! SEARCH / UID SEARCH (RFC 3501 §6.4.4, §6.4.8). The criteria are compiled
//! and run by [`crate::search`] on a blocking thread (bodies are read from
//! disk); the answer is one untagged SEARCH line.

use super::esearch::{self, Want};
use super::recent::with_recent_flag;
use super::reply::Reply;
use super::Session;
use crate::cache::HeaderCache;
use crate::search::{self, Headers, TooDeep};
use imap_codec::imap_types::core::Charset;
use imap_codec::imap_types::search::SearchKey;
use postern_store::mailbox::MessageInfo;
use postern_store::Store;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};

/// Messages as SEARCH reads them: headers through the shared cache,
/// bodies from their files.
struct Cached {
    store: Store,
    cache: Arc<HeaderCache>,
}

impl search::Source for Cached {
    fn headers(&self, m: &MessageInfo) -> Option<Arc<Headers>> {
        self.cache.load(&self.store, m).map(|e| e.search())
    }

    fn read(&self, m: &MessageInfo) -> Option<Vec<u8>> {
        std::fs::read(self.store.blob_path(&m.blob)).ok()
    }
}

/// `SEARCH n…`; RFC 7162 §3.1.5: with a MODSEQ key, the highest MODSEQ of the matches.
fn search_line(hits: &[(u32, u64)], modseq: bool) -> String {
    let mut line = String::from("SEARCH");
    for (n, _) in hits {
        line.push(' ');
        line.push_str(&n.to_string());
    }
    if let (true, Some(m)) = (modseq, hits.iter().map(|h| h.1).max()) {
        line.push_str(&format!(" (MODSEQ {m})"));
    }
    line
}

/// Character sets a SEARCH may name; strings are compared as UTF-8.
const CHARSETS: [&str; 2] = ["UTF-8", "US-ASCII"];

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) async fn search(
        &mut self,
        charset: Option<&Charset<'_>>,
        criteria: &[SearchKey<'_>],
        by_uid: bool,
        esearch: Option<Want>,
    ) -> Reply {
        if let Err(r) = self.charset_allowed(charset) {
            return r;
        }
        let sel = match self.need_selected() {
            Ok(s) => s,
            Err(r) => return r,
        };
        // RFC 3501 §6.4.4: an unknown charset is NO, with BADCHARSET listing ours.
        if let Some(c) = charset {
            if !CHARSETS.iter().any(|k| k.eq_ignore_ascii_case(c.as_ref())) {
                return Reply::no("Unsupported charset")
                    .code(format!("BADCHARSET ({})", CHARSETS.join(" ")));
            }
        }
        // \Recent as a flag, for RECENT, NEW and OLD.
        let msgs = with_recent_flag(sel);
        let max_uid = msgs.last().map(|m| m.uid).unwrap_or(0);
        let key = match search::compile(criteria, msgs.len() as u32, max_uid) {
            Ok(k) => k,
            Err(TooDeep) => return Reply::bad("Search keys nested too deeply").code("LIMIT"),
        };
        let uses_modseq = key.uses_modseq();
        let src = Cached {
            store: self.ctx.store.clone(),
            cache: self.ctx.headers.clone(),
        };
        let job = tokio::task::spawn_blocking(move || {
            let hits = search::run_with(&key, &msgs, &src);
            hits.iter()
                .map(|&i| {
                    (
                        if by_uid { msgs[i].uid } else { i as u32 + 1 },
                        msgs[i].modseq,
                    )
                })
                .collect::<Vec<(u32, u64)>>()
        });
        let Ok(hits) = job.await else {
            return Reply::no("Search failed").code("SERVERBUG");
        };
        if uses_modseq {
            self.condstore_on();
        }
        let line = match esearch {
            Some(want) => esearch::response(&self.current_tag, by_uid, want, &hits, uses_modseq),
            None => search_line(&hits, uses_modseq),
        };
        self.untagged(&line);
        // RFC 3501 §7.4.1: no EXPUNGE during SEARCH.
        if let Err(r) = self.sync(false) {
            return r;
        }
        Reply::ok("SEARCH completed")
    }
}
