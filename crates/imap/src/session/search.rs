//! SEARCH / UID SEARCH (RFC 3501 §6.4.4, §6.4.8). The criteria are compiled
//! and run by [`crate::search`] on a blocking thread (bodies are read from
//! disk); the answer is one untagged SEARCH line.

use super::reply::Reply;
use super::Session;
use crate::search::{self, TooDeep};
use imap_codec::imap_types::core::Charset;
use imap_codec::imap_types::search::SearchKey;
use tokio::io::{AsyncRead, AsyncWrite};

/// Character sets a SEARCH may name; strings are compared as UTF-8.
const CHARSETS: [&str; 2] = ["UTF-8", "US-ASCII"];

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) async fn search(
        &mut self,
        charset: Option<&Charset<'_>>,
        criteria: &[SearchKey<'_>],
        by_uid: bool,
    ) -> Reply {
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
        let msgs = sel.msgs.clone();
        let max_uid = msgs.last().map(|m| m.uid).unwrap_or(0);
        let key = match search::compile(criteria, msgs.len() as u32, max_uid) {
            Ok(k) => k,
            Err(TooDeep) => return Reply::bad("Search keys nested too deeply").code("LIMIT"),
        };
        let uses_modseq = key.uses_modseq();
        let store = self.ctx.store.clone();
        let job = tokio::task::spawn_blocking(move || {
            let read = |m: &postern_store::mailbox::MessageInfo| {
                std::fs::read(store.blob_path(&m.blob)).ok()
            };
            let hits = search::run(&key, &msgs, &read);
            let modseq = key
                .uses_modseq()
                .then(|| hits.iter().map(|&i| msgs[i].modseq).max())
                .flatten();
            let numbers: Vec<u32> = hits
                .iter()
                .map(|&i| if by_uid { msgs[i].uid } else { i as u32 + 1 })
                .collect();
            (numbers, modseq)
        });
        let Ok((numbers, modseq)) = job.await else {
            return Reply::no("Search failed").code("SERVERBUG");
        };
        if uses_modseq {
            self.condstore_on();
        }
        let mut line = String::from("SEARCH");
        for n in numbers {
            line.push(' ');
            line.push_str(&n.to_string());
        }
        // RFC 7162 §3.1.5: with a MODSEQ key, the highest MODSEQ of the matches.
        if let Some(m) = modseq {
            line.push_str(&format!(" (MODSEQ {m})"));
        }
        self.untagged(&line);
        // RFC 3501 §7.4.1: no EXPUNGE during SEARCH.
        if let Err(r) = self.sync(false) {
            return r;
        }
        Reply::ok("SEARCH completed")
    }
}
