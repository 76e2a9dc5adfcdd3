//! SEARCH / UID SEARCH (RFC 3501 §6.4.4, §6.4.8). The criteria are compiled
//! and run by [`crate::search`] on the store's blocking pool (bodies are
//! read there, [`postern_store::scan_bodies`]); the answer is one untagged SEARCH line (ESEARCH in IMAP4rev2 or
//! with RETURN options), and RETURN (SAVE) keeps the result (RFC 5182).

use super::esearch::{self, Want};
use super::recent::with_recent_flag;
use super::reply::Reply;
use super::searchres;
use super::Session;
use crate::cache::HeaderCache;
use crate::search::{self, Headers, TooDeep};
use imap_codec::imap_types::core::Charset;
use imap_codec::imap_types::search::SearchKey;
use postern_store::mailbox::MessageInfo;
use postern_store::{scan_bodies, BodyFiles};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};

/// Messages as SEARCH reads them: headers through the shared cache,
/// bodies from the store.
struct Cached<'a> {
    bodies: &'a dyn BodyFiles,
    cache: Arc<HeaderCache>,
}

impl search::Source for Cached<'_> {
    fn headers(&self, m: &MessageInfo) -> Option<Arc<Headers>> {
        self.cache.load(self.bodies, m).map(|e| e.search())
    }

    fn read(&self, m: &MessageInfo) -> Option<Vec<u8>> {
        self.bodies.read(&m.blob).ok().flatten()
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

/// What a SEARCH found: the numbers it answers with (sequence numbers or
/// UIDs) and their MODSEQs, the UIDs (for SAVE), whether a MODSEQ key was used.
struct Found {
    hits: Vec<(u32, u64)>,
    uids: Vec<u32>,
    modseq: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) async fn search(
        &mut self,
        charset: Option<&Charset<'_>>,
        criteria: &[SearchKey<'_>],
        by_uid: bool,
        esearch: Option<Want>,
    ) -> Reply {
        let found = match self.matches(charset, criteria, by_uid).await {
            Ok(f) => f,
            Err(r) => {
                // RFC 5182 §2.1: a SEARCH that fails leaves `$` empty.
                if esearch.is_some_and(|w| w.save) {
                    self.save_result(Vec::new());
                }
                return r;
            }
        };
        if found.modseq {
            self.condstore_on();
        }
        if let Some(w) = esearch.filter(|w| w.save) {
            let keep = searchres::to_save(&found.uids, w.min, w.max, w.all || w.count);
            self.save_result(keep);
        }
        // RFC 9051 §6.4.4: in IMAP4rev2 a plain SEARCH means RETURN (ALL).
        let esearch = esearch.or(self.answers_esearch().then_some(Want {
            all: true,
            ..Want::default()
        }));
        match esearch {
            // RFC 5182 §2.4: RETURN (SAVE) alone has no ESEARCH response.
            Some(want) if !want.responds() => {}
            Some(want) => {
                let line =
                    esearch::response(&self.current_tag, by_uid, want, &found.hits, found.modseq);
                self.untagged(&line);
            }
            None => self.untagged(&search_line(&found.hits, found.modseq)),
        }
        // RFC 3501 §7.4.1: no EXPUNGE during SEARCH.
        if let Err(r) = self.sync(false).await {
            return r;
        }
        Reply::ok("SEARCH completed")
    }

    /// Runs the criteria over the selected mailbox on the store's pool.
    async fn matches(
        &mut self,
        charset: Option<&Charset<'_>>,
        criteria: &[SearchKey<'_>],
        by_uid: bool,
    ) -> Result<Found, Reply> {
        self.charset_allowed(charset)?;
        let sel = self.need_selected()?;
        // RFC 3501 §6.4.4: an unknown charset is NO, with BADCHARSET listing ours.
        if let Some(c) = charset {
            if !CHARSETS.iter().any(|k| k.eq_ignore_ascii_case(c.as_ref())) {
                return Err(Reply::no("Unsupported charset")
                    .code(format!("BADCHARSET ({})", CHARSETS.join(" "))));
            }
        }
        // \Recent as a flag, for RECENT, NEW and OLD.
        let msgs = with_recent_flag(sel);
        let max_uid = msgs.last().map(|m| m.uid).unwrap_or(0);
        let key = search::compile(criteria, msgs.len() as u32, max_uid)
            .map_err(|TooDeep| Reply::bad("Search keys nested too deeply").code("LIMIT"))?;
        let modseq = key.uses_modseq();
        let cache = self.ctx.headers.clone();
        let job = scan_bodies(&*self.ctx.store, move |bodies| {
            let src = Cached { bodies, cache };
            let idx = search::run_with(&key, &msgs, &src);
            let number = |i: usize| if by_uid { msgs[i].uid } else { i as u32 + 1 };
            Found {
                hits: idx.iter().map(|&i| (number(i), msgs[i].modseq)).collect(),
                uids: idx.iter().map(|&i| msgs[i].uid).collect(),
                modseq,
            }
        });
        job.await.map_err(|e| Reply::from_store(&e))
    }
}
