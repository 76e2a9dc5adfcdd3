//! LIST-EXTENDED (RFC 5258) with SPECIAL-USE selection (RFC 6154 §5.1) and
//! LIST-STATUS (RFC 5819). imap-codec does not parse the extended forms, so
//! a LIST it refuses is parsed here:
//! `LIST [(select-opts)] reference (pattern | (patterns)) [RETURN (return-opts)]`.

use super::folders::{attributes, matches};
use super::reply::Reply;
use super::subscribed::{self, Entry};
use super::utf8::pattern_as;
use super::Session;
use crate::wire;
use imap_codec::imap_types::status::StatusDataItemName;
use postern_store::Folder;
use tokio::io::{AsyncRead, AsyncWrite};

/// Most patterns in one LIST, and most options.
const MAX_ITEMS: usize = 32;

/// A parsed extended LIST.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct ListExt {
    pub reference: String,
    pub patterns: Vec<String>,
    /// Selection SUBSCRIBED (and return SUBSCRIBED).
    pub subscribed: bool,
    pub recursive: bool,
    /// Selection SPECIAL-USE: only folders with a special use.
    pub special_use: bool,
    pub return_subscribed: bool,
    /// RETURN (STATUS (…)).
    pub status: Option<Vec<StatusDataItemName>>,
}

struct P<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> P<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek() == Some(c)).then(|| self.i += 1)
    }

    /// An atom; `list` also allows the wildcards and "]" (list-mailbox).
    fn atom(&mut self, list: bool) -> Option<&'a [u8]> {
        let start = self.i;
        while let Some(c) = self.peek() {
            let special = c <= b' ' || c >= 0x7f || b"(){\"\\".contains(&c);
            let wild = b"%*]".contains(&c);
            if special || (wild && !list) {
                break;
            }
            self.i += 1;
        }
        (self.i > start).then(|| &self.b[start..self.i])
    }

    /// A quoted string or a literal (inline, as the framer left it).
    fn string(&mut self) -> Option<Vec<u8>> {
        if self.eat(b'"').is_some() {
            let mut out = Vec::new();
            loop {
                match self.peek()? {
                    b'"' => {
                        self.i += 1;
                        return Some(out);
                    }
                    b'\\' => {
                        out.push(*self.b.get(self.i + 1)?);
                        self.i += 2;
                    }
                    b'\r' | b'\n' => return None,
                    c => {
                        out.push(c);
                        self.i += 1;
                    }
                }
            }
        }
        self.eat(b'{')?;
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        let n: usize = std::str::from_utf8(&self.b[start..self.i])
            .ok()?
            .parse()
            .ok()?;
        let _ = self.eat(b'+');
        self.eat(b'}')?;
        self.eat(b'\r')?;
        self.eat(b'\n')?;
        let data = self.b.get(self.i..self.i.checked_add(n)?)?.to_vec();
        self.i += n;
        Some(data)
    }

    fn astring(&mut self, list: bool) -> Option<String> {
        let raw = match self.peek()? {
            b'"' | b'{' => self.string()?,
            _ => self.atom(list)?.to_vec(),
        };
        String::from_utf8(raw).ok()
    }

    /// `(a b c)` of atoms, or of what `item` reads.
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        self.eat(b'(')?;
        let mut out = Vec::new();
        if self.eat(b')').is_some() {
            return Some(out);
        }
        loop {
            out.push(item(self)?);
            if out.len() > MAX_ITEMS {
                return None;
            }
            if self.eat(b')').is_some() {
                return Some(out);
            }
            self.eat(b' ')?;
        }
    }

    fn word(&mut self) -> Option<String> {
        self.atom(false)
            .map(|a| String::from_utf8_lossy(a).to_ascii_uppercase())
    }
}

fn status_item(w: &str) -> Option<StatusDataItemName> {
    Some(match w {
        "MESSAGES" => StatusDataItemName::Messages,
        "RECENT" => StatusDataItemName::Recent,
        "UIDNEXT" => StatusDataItemName::UidNext,
        "UIDVALIDITY" => StatusDataItemName::UidValidity,
        "UNSEEN" => StatusDataItemName::Unseen,
        "DELETED" => StatusDataItemName::Deleted,
        "SIZE" => StatusDataItemName::Size,
        "HIGHESTMODSEQ" => StatusDataItemName::HighestModSeq,
        _ => return None,
    })
}

/// Parses `tag LIST …` in its extended forms: `Some(Err(reply))` for a
/// LIST that is wrong, `None` for a command that is not LIST at all.
pub(super) fn parse(bytes: &[u8]) -> Option<Result<(String, ListExt), Reply>> {
    let mut p = P { b: bytes, i: 0 };
    let tag = String::from_utf8(p.atom(false)?.to_vec()).ok()?;
    p.eat(b' ')?;
    if p.word()? != "LIST" {
        return None;
    }
    let bad = || Some(Err(Reply::bad("Syntax error in LIST")));
    let mut out = ListExt::default();
    let Some(()) = p.eat(b' ') else { return bad() };
    if p.peek() == Some(b'(') {
        let Some(opts) = p.list(P::word) else {
            return bad();
        };
        for o in opts {
            match o.as_str() {
                "SUBSCRIBED" => out.subscribed = true,
                "RECURSIVEMATCH" => out.recursive = true,
                "SPECIAL-USE" => out.special_use = true,
                // RFC 5258 §3: REMOTE only adds remote mailboxes; there are none.
                "REMOTE" => {}
                _ => return bad(),
            }
        }
        // RFC 5258 §3: RECURSIVEMATCH alone is an error.
        if out.recursive && !out.subscribed && !out.special_use {
            return bad();
        }
        let Some(()) = p.eat(b' ') else { return bad() };
    }
    let Some(reference) = p.astring(false) else {
        return bad();
    };
    out.reference = reference;
    let Some(()) = p.eat(b' ') else { return bad() };
    let patterns = if p.peek() == Some(b'(') {
        p.list(|p| p.astring(true))
    } else {
        p.astring(true).map(|s| vec![s])
    };
    let Some(patterns) = patterns.filter(|v| !v.is_empty()) else {
        return bad();
    };
    out.patterns = patterns;
    if p.eat(b' ').is_some() {
        if p.word().as_deref() != Some("RETURN") || p.eat(b' ').is_none() {
            return bad();
        }
        let opts = p.list(|p| {
            let w = p.word()?;
            if w == "STATUS" {
                p.eat(b' ')?;
                let items = p.list(|p| status_item(&p.word()?))?;
                return Some((w, Some(items)));
            }
            Some((w, None))
        });
        let Some(opts) = opts else { return bad() };
        for (w, items) in opts {
            match (w.as_str(), items) {
                ("SUBSCRIBED", _) => out.return_subscribed = true,
                // Always returned by this server.
                ("CHILDREN" | "SPECIAL-USE", _) => {}
                ("STATUS", Some(items)) if !items.is_empty() => out.status = Some(items),
                _ => return bad(),
            }
        }
    }
    if &p.b[p.i..] != b"\r\n" {
        return bad();
    }
    Some(Ok((tag, out)))
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) async fn list_extended(&mut self, l: ListExt) -> Reply {
        let Some(user) = self.user.as_ref().map(|u| u.id) else {
            return Reply::wrong_state();
        };
        let store = &self.ctx.store;
        let (folders, subs) = match (store.folders(user).await, store.subscriptions(user).await) {
            (Ok(f), Ok(s)) => (f, s),
            (Err(e), _) | (_, Err(e)) => return Reply::from_store(&e),
        };
        let pats: Vec<Vec<char>> = l
            .patterns
            .iter()
            .map(|p| {
                pattern_as(&format!("{}{p}", l.reference), self.utf8_names())
                    .chars()
                    .collect()
            })
            .collect();
        // Any HIGHESTMODSEQ response comes before the listing, not inside it.
        if l.status
            .as_ref()
            .is_some_and(|s| s.contains(&StatusDataItemName::HighestModSeq))
        {
            self.condstore_on();
        }
        let entries = subscribed::entries(&folders, &subs, l.recursive);
        for line in listing(&l, &pats, &entries, &folders, self.utf8_names()) {
            self.conn.push(&line.bytes);
            // RFC 5819 §2: STATUS right after the folder's LIST line.
            if let (Some(items), Some(id)) = (&l.status, line.status_of) {
                if let Err(r) = self.status_line(id, &line.name, items).await {
                    return r;
                }
            }
        }
        Reply::ok("LIST completed")
    }
}

/// One `* LIST` line, and the folder whose STATUS follows it.
struct Line {
    bytes: Vec<u8>,
    name: String,
    status_of: Option<postern_store::MailboxId>,
}

/// The lines of an extended LIST (RFC 5258 §3). An entry is listed when the
/// selection options choose it (SUBSCRIBED: subscribed, even without a
/// folder — then \NonExistent; otherwise: an existing folder), or, with
/// RECURSIVEMATCH, when a descendant chosen by them does not match a
/// pattern itself (then with CHILDINFO, as Dovecot does).
fn listing(
    l: &ListExt,
    pats: &[Vec<char>],
    entries: &[Entry<'_>],
    folders: &[Folder],
    utf8: bool,
) -> Vec<Line> {
    let matches_any = |name: &str| {
        let name: Vec<char> = name.chars().collect();
        pats.iter().any(|p| matches(p, &name))
    };
    let chosen = |e: &Entry<'_>| {
        let base = if l.subscribed {
            e.subscribed
        } else {
            e.folder.is_some()
        };
        base && (!l.special_use || e.folder.is_some_and(|f| f.special_use.is_some()))
    };
    let mut out = Vec::new();
    for e in entries.iter().filter(|e| matches_any(&e.name)) {
        let prefix = format!("{}/", e.name);
        let child_hit = l.recursive
            && entries
                .iter()
                .any(|o| o.name.starts_with(&prefix) && chosen(o) && !matches_any(&o.name));
        if !chosen(e) && !child_hit {
            continue;
        }
        let mut attrs = match e.folder {
            Some(f) => attributes(f, folders),
            None => "\\NonExistent".to_string(),
        };
        if (l.subscribed || l.return_subscribed) && e.subscribed {
            attrs.push_str(" \\Subscribed");
        }
        let mut bytes = format!("* LIST ({attrs}) \"/\" ").into_bytes();
        wire::mailbox_as(&mut bytes, &e.name, utf8);
        if child_hit {
            let why = if l.subscribed {
                "SUBSCRIBED"
            } else {
                "SPECIAL-USE"
            };
            bytes.extend_from_slice(format!(" (\"CHILDINFO\" (\"{why}\"))").as_bytes());
        }
        bytes.extend_from_slice(b"\r\n");
        out.push(Line {
            bytes,
            name: e.name.clone(),
            status_of: e.folder.map(|f| f.id),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_forms() {
        let (tag, l) = parse(b"a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (\"*\" %/x) RETURN (CHILDREN STATUS (MESSAGES UNSEEN))\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(tag, "a");
        assert!(l.subscribed && l.recursive);
        assert_eq!(l.patterns, ["*", "%/x"]);
        assert_eq!(
            l.status,
            Some(vec![
                StatusDataItemName::Messages,
                StatusDataItemName::Unseen
            ])
        );
        let (_, l) = parse(b"b list {0}\r\n {1+}\r\n* return (special-use)\r\n")
            .unwrap()
            .unwrap();
        assert_eq!((l.reference.as_str(), l.patterns[0].as_str()), ("", "*"));
        assert!(parse(b"c NOOP\r\n").is_none());
        for bad in [
            &b"d LIST (RECURSIVEMATCH) \"\" *\r\n"[..],
            b"d LIST (BOGUS) \"\" *\r\n",
            b"d LIST \"\" * RETURN (STATUS ())\r\n",
            b"d LIST \"\" () \r\n",
            b"d LIST \"\" * RETURN (CHILDREN) x\r\n",
            b"d LIST \"\" {99}\r\nab\r\n",
        ] {
            assert!(
                parse(bad).unwrap().is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
