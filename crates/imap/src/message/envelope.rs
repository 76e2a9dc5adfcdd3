//! ENVELOPE (RFC 3501 §7.4.2): date, subject, from, sender, reply-to, to,
//! cc, bcc, in-reply-to and message-id of a header, values as written
//! (RFC 2047 encoded words are passed on encoded, for the client to decode).
//! Addresses are parsed here (RFC 5322 §3.4, leniently), because
//! mail-parser decodes the display names it parses.

use super::fields::{nstring, unfold, Fields};
use imap_codec::imap_types::envelope::{Address, Envelope};

/// Put where an address has no domain (a bare local part): a NIL host
/// would read as the start of a group (RFC 3501 §7.4.2).
const MISSING_DOMAIN: &[u8] = b"MISSING_DOMAIN";

/// The envelope of a header block.
pub fn envelope(header: &[u8]) -> Envelope<'static> {
    let f = Fields::parse(header);
    let list = |name: &str| f.raw(name).map(|v| addresses(&v)).unwrap_or_default();
    let from = list("From");
    // RFC 3501 §7.4.2: an absent or empty Sender or Reply-To is the From.
    let or_from = |v: Vec<Address<'static>>| if v.is_empty() { from.clone() } else { v };
    Envelope {
        date: nstring(f.raw("Date")),
        subject: nstring(f.raw("Subject")),
        sender: or_from(list("Sender")),
        reply_to: or_from(list("Reply-To")),
        from,
        to: list("To"),
        cc: list("Cc"),
        bcc: list("Bcc"),
        in_reply_to: nstring(f.raw("In-Reply-To")),
        message_id: nstring(f.raw("Message-ID")),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// An atom (dots included) or a quoted string, unquoted.
    Word(Vec<u8>),
    /// The text of a comment, without its parentheses.
    Comment(Vec<u8>),
    /// A domain literal, brackets included.
    Literal(Vec<u8>),
    /// One of `< > , : ; @`.
    Special(u8),
}

fn tokens(s: &[u8]) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        i += 1;
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => {}
            b'<' | b'>' | b',' | b':' | b';' | b'@' => out.push(Tok::Special(c)),
            b'"' => {
                let (text, next) = quoted(s, i);
                out.push(Tok::Word(text));
                i = next;
            }
            b'(' => {
                let (text, next) = comment(s, i);
                out.push(Tok::Comment(text));
                i = next;
            }
            b'[' => {
                let end = s[i..]
                    .iter()
                    .position(|&b| b == b']')
                    .map_or(s.len(), |p| i + p + 1);
                out.push(Tok::Literal(s[i - 1..end].to_vec()));
                i = end;
            }
            _ => {
                let end = s[i..]
                    .iter()
                    .position(|&b| b" \t\r\n<>,:;@\"([".contains(&b))
                    .map_or(s.len(), |p| i + p);
                out.push(Tok::Word(s[i - 1..end].to_vec()));
                i = end;
            }
        }
    }
    out
}

/// A quoted string's content from `i` (after the opening quote), escapes
/// removed; and the offset after the closing quote (or the end).
fn quoted(s: &[u8], mut i: usize) -> (Vec<u8>, usize) {
    let mut text = Vec::new();
    while i < s.len() {
        match s[i] {
            b'"' => return (text, i + 1),
            b'\\' if i + 1 < s.len() => {
                text.push(s[i + 1]);
                i += 2;
            }
            b => {
                text.push(b);
                i += 1;
            }
        }
    }
    (text, i)
}

/// A comment's content from `i` (after the opening parenthesis), nested
/// comments kept as written; and the offset after it.
fn comment(s: &[u8], mut i: usize) -> (Vec<u8>, usize) {
    let start = i;
    let mut depth = 1;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return (s[start..i].trim_ascii().to_vec(), i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    (s[start..].trim_ascii().to_vec(), s.len())
}

/// The address structures of an address-list header value (RFC 3501
/// §7.4.2): a group is framed by (NIL NIL "name" NIL) and (NIL NIL NIL NIL).
pub fn addresses(value: &[u8]) -> Vec<Address<'static>> {
    let toks = tokens(&unfold(value));
    let mut p = ListParser::default();
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Word(w) | Tok::Literal(w) => p.words.push(w.clone()),
            Tok::Comment(c) if !c.is_empty() => p.comment = Some(c.clone()),
            Tok::Comment(_) => {}
            Tok::Special(b'<') => {
                let end = toks[i..]
                    .iter()
                    .position(|t| *t == Tok::Special(b'>'))
                    .map_or(toks.len(), |e| i + e);
                p.angle(&toks[i + 1..end]);
                i = end;
            }
            Tok::Special(b'@') if p.spec.is_none() => {
                let end = toks[i + 1..]
                    .iter()
                    .position(|t| matches!(t, Tok::Special(b',' | b';' | b'<' | b':')))
                    .map_or(toks.len(), |e| i + 1 + e);
                p.addr_spec(&toks[i + 1..end]);
                i = end;
                continue;
            }
            Tok::Special(b':') if !p.in_group => p.group_start(),
            Tok::Special(b';') => {
                p.flush();
                p.group_end();
            }
            Tok::Special(b',') => p.flush(),
            Tok::Special(_) => {}
        }
        i += 1;
    }
    p.flush();
    p.group_end();
    p.out
}

#[derive(Default)]
struct ListParser {
    out: Vec<Address<'static>>,
    in_group: bool,
    /// Words seen since the last address: a display name, a local part or a group name.
    words: Vec<Vec<u8>>,
    comment: Option<Vec<u8>>,
    /// An address read, waiting for its end (a trailing comment may name it).
    spec: Option<Spec>,
}

struct Spec {
    name: Option<Vec<u8>>,
    adl: Option<Vec<u8>>,
    mailbox: Vec<u8>,
    host: Vec<u8>,
}

impl ListParser {
    fn phrase(&mut self) -> Option<Vec<u8>> {
        let words = std::mem::take(&mut self.words);
        (!words.is_empty()).then(|| words.join(&b' '))
    }

    /// `addr-spec` after its `@`: the words before are the local part.
    fn addr_spec(&mut self, domain: &[Tok]) {
        let mailbox = std::mem::take(&mut self.words).concat();
        // "user@host (Name)": a comment is the only name such an address has.
        for t in domain {
            if let Tok::Comment(c) = t {
                if !c.is_empty() {
                    self.comment = Some(c.clone());
                }
            }
        }
        self.spec = Some(Spec {
            name: None,
            adl: None,
            mailbox,
            host: concat(domain),
        });
    }

    /// `[display-name] "<" [route ":"] addr-spec ">"`: the tokens inside the brackets.
    fn angle(&mut self, inner: &[Tok]) {
        let name = self.phrase();
        let (adl, spec) = match inner.iter().position(|t| *t == Tok::Special(b':')) {
            Some(c) if inner.first() == Some(&Tok::Special(b'@')) => {
                (Some(concat(&inner[..c])), &inner[c + 1..])
            }
            _ => (None, inner),
        };
        let (mailbox, host) = match spec.iter().rposition(|t| *t == Tok::Special(b'@')) {
            Some(at) => (concat(&spec[..at]), concat(&spec[at + 1..])),
            None => (concat(spec), Vec::new()),
        };
        if mailbox.is_empty() && host.is_empty() {
            return; // "<>": no address
        }
        self.spec = Some(Spec {
            name,
            adl,
            mailbox,
            host,
        });
    }

    fn group_start(&mut self) {
        self.flush_words_only();
        let name = self.phrase().unwrap_or_default();
        self.comment = None;
        self.in_group = true;
        self.out.push(address(None, None, Some(name), None));
    }

    fn group_end(&mut self) {
        if std::mem::take(&mut self.in_group) {
            self.out.push(address(None, None, None, None));
        }
    }

    /// Ends the current address: the one read, or bare words (a local part without domain).
    fn flush(&mut self) {
        let comment = self.comment.take();
        if let Some(mut s) = self.spec.take() {
            s.name = s.name.or(comment);
            if s.host.is_empty() {
                s.host = MISSING_DOMAIN.to_vec();
            }
            self.words.clear();
            self.out
                .push(address(s.name, s.adl, Some(s.mailbox), Some(s.host)));
        } else if !self.words.is_empty() {
            let mailbox = std::mem::take(&mut self.words).concat();
            self.out.push(address(
                comment,
                None,
                Some(mailbox),
                Some(MISSING_DOMAIN.to_vec()),
            ));
        }
    }

    /// Before a group name: an address still open is ended, keeping the words.
    fn flush_words_only(&mut self) {
        if self.spec.is_some() {
            let words = std::mem::take(&mut self.words);
            self.flush();
            self.words = words;
        }
    }
}

fn concat(toks: &[Tok]) -> Vec<u8> {
    let mut out = Vec::new();
    for t in toks {
        match t {
            Tok::Word(w) | Tok::Literal(w) => out.extend_from_slice(w),
            Tok::Special(c) => out.push(*c),
            Tok::Comment(_) => {}
        }
    }
    out
}

fn address(
    name: Option<Vec<u8>>,
    adl: Option<Vec<u8>>,
    mailbox: Option<Vec<u8>>,
    host: Option<Vec<u8>>,
) -> Address<'static> {
    Address {
        name: nstring(name),
        adl: nstring(adl),
        mailbox: nstring(mailbox),
        host: nstring(host),
    }
}
