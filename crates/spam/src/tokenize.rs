//! A message as a set of tokens, extracted once and used both to score and
//! to learn. Header tokens carry their field's prefix (`s:` Subject, `f:`
//! From, `r:` Received, …), body tokens come from the decoded text parts
//! (HTML turned into text, plus a few structure tokens), URLs give host
//! tokens. Tokens are lowercased, bounded in length, hashed (FNV-1a, stable
//! across builds: the hashes are what the store keeps) and counted once per
//! message. Bounded: [`MAX_TEXT_BYTES`] of decoded text, [`MAX_PART_BYTES`]
//! of any one part, [`MAX_TOKENS`] distinct tokens.

use crate::header;
use crate::mime::{self, Part};
use mail_parser::decoders::{base64::base64_decode, quoted_printable::quoted_printable_decode};

/// Distinct tokens kept per message (the first ones met: headers come first).
pub const MAX_TOKENS: usize = 3000;
/// Decoded body text tokenized per message, over all parts.
pub const MAX_TEXT_BYTES: usize = 256 * 1024;
/// Bytes of one part read before decoding (a 50 MB attachment costs no more).
pub const MAX_PART_BYTES: usize = 512 * 1024;
/// Words longer than this become one `skip:` token (SpamBayes' rule).
pub const MAX_WORD: usize = 20;
const MIN_WORD: usize = 3;
/// Received fields looked at (the nearest hops).
const MAX_RECEIVED: usize = 3;

/// The GTUBE test string: a message containing it is always spam.
pub(crate) const GTUBE_MARK: &str =
    "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

/// The distinct token hashes of one message, sorted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tokens {
    hashes: Vec<u64>,
    gtube: bool,
}

impl Tokens {
    /// Tokenizes a whole message (RFC 5322 header and MIME body).
    pub fn from_message(raw: &[u8]) -> Tokens {
        let mut b = Builder::default();
        mime::walk(raw, |part| b.part(part));
        b.finish()
    }

    /// Tokens of the given strings, as they would be hashed (for tests).
    pub fn from_words<'a>(words: impl IntoIterator<Item = &'a str>) -> Tokens {
        let mut b = Builder::default();
        words.into_iter().for_each(|w| b.push("", w));
        b.finish()
    }

    pub fn hashes(&self) -> &[u64] {
        &self.hashes
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Whether the decoded text contains the GTUBE string.
    pub fn gtube(&self) -> bool {
        self.gtube
    }
}

/// The stable 64-bit FNV-1a hash of `prefix` and `word`.
pub fn hash(prefix: &str, word: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in prefix.as_bytes().iter().chain(word.as_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[derive(Default)]
struct Builder {
    hashes: Vec<u64>,
    text_bytes: usize,
    gtube: bool,
}

impl Builder {
    fn push(&mut self, prefix: &str, word: &str) {
        // Duplicates are removed at the end; this bounds the work before that.
        if self.hashes.len() < MAX_TOKENS * 8 {
            self.hashes.push(hash(prefix, word));
        }
    }

    fn finish(mut self) -> Tokens {
        // Keep the first MAX_TOKENS distinct tokens in order met, then sort.
        let mut seen = std::collections::HashSet::with_capacity(self.hashes.len());
        self.hashes.retain(|h| seen.insert(*h));
        self.hashes.truncate(MAX_TOKENS);
        self.hashes.sort_unstable();
        Tokens {
            hashes: self.hashes,
            gtube: self.gtube,
        }
    }

    fn part(&mut self, part: Part<'_>) {
        if part.depth == 0 {
            crate::tokenize::headers::message_header(self, &part.fields);
        }
        self.push("ct:", &part.content_type.mime);
        if let Some(cs) = &part.content_type.charset {
            self.push("cs:", cs);
        }
        let Some(body) = part.body else { return };
        let encoding = part.encoding();
        self.push("cte:", &encoding);
        if let Some(name) = &part.content_type.name {
            let ext = name.rsplit('.').next().unwrap_or("");
            self.push("ext:", &ext.to_ascii_lowercase());
        }
        let mime = part.content_type.mime.as_str();
        if !mime.starts_with("text/") || self.text_bytes >= MAX_TEXT_BYTES {
            return;
        }
        let raw = &body[..body.len().min(MAX_PART_BYTES)];
        let decoded = decode(raw, &encoding);
        let text = header::to_text(&decoded, part.content_type.charset.as_deref());
        self.text(&text, mime == "text/html");
    }

    fn text(&mut self, text: &str, html: bool) {
        let room = MAX_TEXT_BYTES - self.text_bytes;
        let text = &text[..floor_char(text, room)];
        self.text_bytes += text.len();
        if text.contains(GTUBE_MARK) {
            self.gtube = true;
        }
        urls(self, text);
        if html {
            html_tags(self, text);
            let plain = mail_parser::decoders::html::html_to_text(text);
            self.words("", &plain);
        } else {
            self.words("", text);
        }
    }

    /// Words of free text: split on white space, stripped of punctuation at
    /// either end, lowercased; long ones summarised as `skip:` tokens.
    fn words(&mut self, prefix: &str, text: &str) {
        for raw in text.split_whitespace() {
            let w = raw.trim_matches(|c: char| !c.is_alphanumeric() && c != '$');
            if w.len() < MIN_WORD {
                continue;
            }
            if w.len() > MAX_WORD {
                let first = w.chars().next().unwrap_or('?');
                self.push("skip:", &format!("{prefix}{first}{}", w.len() / 10 * 10));
                continue;
            }
            if w.bytes().any(|b| b.is_ascii_uppercase()) || !w.is_ascii() {
                self.push(prefix, &w.to_lowercase());
            } else {
                self.push(prefix, w);
            }
        }
    }
}

mod headers;

/// Undoes the Content-Transfer-Encoding (RFC 2045 §6); bytes that do not
/// decode are used as they are.
pub(crate) fn decode(raw: &[u8], encoding: &str) -> Vec<u8> {
    let decoded = match encoding {
        "base64" => base64_decode(raw),
        "quoted-printable" => quoted_printable_decode(raw),
        _ => None,
    };
    decoded.unwrap_or_else(|| raw.to_vec())
}

/// The largest index ≤ `at` on a char boundary of `s`.
fn floor_char(s: &str, at: usize) -> usize {
    if at >= s.len() {
        return s.len();
    }
    (0..=at).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0)
}

/// `u:` tokens for each URL's host and its parent domains, and `up:` for
/// words of its path.
fn urls(b: &mut Builder, text: &str) {
    let lower = text.to_ascii_lowercase();
    for (at, _) in lower.match_indices("http") {
        let rest = &lower[at + 4..];
        let rest = rest.strip_prefix('s').unwrap_or(rest);
        let Some(rest) = rest.strip_prefix("://") else {
            continue;
        };
        let end = rest
            .find(|c: char| c.is_whitespace() || "\"'<>()".contains(c))
            .unwrap_or(rest.len());
        let url = &rest[..end.min(200)];
        let (host, path) = url.split_at(url.find(['/', '?', '#']).unwrap_or(url.len()));
        let host = host.rsplit('@').next().unwrap_or(host);
        let host = host.split(':').next().unwrap_or(host);
        host_tokens(b, "u:", host);
        for w in path.split(|c: char| !c.is_alphanumeric()) {
            if (MIN_WORD..=MAX_WORD).contains(&w.len()) {
                b.push("up:", w);
            }
        }
    }
}

/// A host name and its parent domains, or a numeric address as `ip`.
fn host_tokens(b: &mut Builder, prefix: &str, host: &str) {
    let host = host.trim_matches(|c: char| !c.is_alphanumeric());
    if host.is_empty() {
        return;
    }
    if host.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        b.push(prefix, "ip");
        return;
    }
    let mut rest = host;
    b.push(prefix, rest);
    while let Some((_, parent)) = rest.split_once('.') {
        if !parent.contains('.') {
            break;
        }
        b.push(prefix, parent);
        rest = parent;
    }
}

/// A few HTML-structure tokens: which of the telling tags occur.
fn html_tags(b: &mut Builder, html: &str) {
    const TAGS: [&str; 12] = [
        "img", "font", "table", "script", "iframe", "form", "center", "style", "a", "b", "map",
        "base",
    ];
    let lower = html.to_ascii_lowercase();
    for tag in TAGS {
        if lower.contains(&format!("<{tag} ")) || lower.contains(&format!("<{tag}>")) {
            b.push("tag:", tag);
        }
    }
    if lower.contains("color=") || lower.contains("color:") {
        b.push("tag:", "color");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(t: &Tokens, prefix: &str, word: &str) -> bool {
        t.hashes().binary_search(&hash(prefix, word)).is_ok()
    }

    #[test]
    fn header_body_and_url_tokens() {
        let raw = b"From: Deals <deals@promo.example.com>\r\nSubject: FREE money!!\r\nContent-Type: text/html\r\n\r\n<p>Click <a href=\"http://win.bad.example/offer?id=1\">here</a> Now</p>";
        let t = Tokens::from_message(raw);
        assert!(has(&t, "s:", "free") && has(&t, "s:", "<!!>"));
        assert!(has(&t, "f:", "deals@promo.example.com") && has(&t, "f:", "promo.example.com"));
        assert!(has(&t, "u:", "win.bad.example") && has(&t, "u:", "bad.example"));
        assert!(
            has(&t, "", "click") && has(&t, "", "now"),
            "HTML as text, lowercased"
        );
        assert!(has(&t, "tag:", "a") && has(&t, "h:", "subject"));
        assert!(!has(&t, "", "href"), "markup is not text");
    }

    #[test]
    fn only_the_nearest_received_fields_count() {
        let hops: String = (0..=MAX_RECEIVED)
            .map(|i| format!("Received: from hop{i}.example.net by mx\r\n"))
            .collect();
        let t = Tokens::from_message(format!("{hops}\r\nbody").as_bytes());
        assert!(has(
            &t,
            "r:",
            &format!("hop{}.example.net", MAX_RECEIVED - 1)
        ));
        assert!(!has(&t, "r:", &format!("hop{MAX_RECEIVED}.example.net")));
    }

    #[test]
    fn filter_headers_are_ignored() {
        let t = Tokens::from_message(b"X-Spam-Status: Yes\r\nX-Postern-Spam: 9\r\n\r\nhello there");
        assert!(!has(&t, "h:", "x-spam-status") && !has(&t, "h:", "x-postern-spam"));
    }

    #[test]
    fn long_words_become_skip_tokens() {
        let word = "a".repeat(MAX_WORD + 1);
        let t = Tokens::from_message(format!("\r\n{word} {}", "b".repeat(MAX_WORD)).as_bytes());
        assert!(has(&t, "skip:", "a20") && !has(&t, "", &word));
        assert!(has(&t, "", &"b".repeat(MAX_WORD)));
    }

    #[test]
    fn distinct_tokens_are_capped() {
        let body: String = (0..MAX_TOKENS * 2).map(|i| format!("word{i} ")).collect();
        let t = Tokens::from_message(format!("Subject: s\r\n\r\n{body}").as_bytes());
        assert_eq!(t.len(), MAX_TOKENS);
        let few: String = (0..10).map(|i| format!("word{i} ")).collect();
        assert!(Tokens::from_message(format!("\r\n{few}").as_bytes()).len() < MAX_TOKENS);
    }

    /// A message whose marker word follows `filler` bytes of text.
    fn after(filler: usize) -> Tokens {
        let pad = "xy ".repeat(filler / 3);
        Tokens::from_message(format!("Subject: s\r\n\r\n{pad}markerword").as_bytes())
    }

    #[test]
    fn text_scanned_is_bounded() {
        assert!(has(&after(MAX_TEXT_BYTES - 100), "", "markerword"));
        assert!(!has(&after(MAX_TEXT_BYTES + 100), "", "markerword"));
        // Raw bytes of one part: quoted-printable soft line breaks decode to
        // nothing, so only MAX_PART_BYTES keeps the marker out.
        let qp = |raw_bytes: usize| {
            let breaks = "=\r\n".repeat(raw_bytes / 3);
            let raw =
                format!("Content-Transfer-Encoding: quoted-printable\r\n\r\n{breaks}markerword");
            Tokens::from_message(raw.as_bytes())
        };
        assert!(has(&qp(MAX_PART_BYTES - 100), "", "markerword"));
        assert!(!has(&qp(MAX_PART_BYTES + 100), "", "markerword"));
        // Over several parts, the text budget is shared.
        let part = format!(
            "--b\r\n\r\n{}\r\n",
            "xy ".repeat(MAX_TEXT_BYTES / 3 / 2 + 10)
        );
        let raw = format!(
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n{part}{part}--b\r\n\r\nmarkerword\r\n--b--\r\n"
        );
        assert!(!has(
            &Tokens::from_message(raw.as_bytes()),
            "",
            "markerword"
        ));
    }

    #[test]
    fn huge_and_many_part_messages_stay_cheap() {
        // 50 MB in one part: only MAX_PART_BYTES of it is read.
        let mut raw = b"Content-Type: text/plain\r\n\r\n".to_vec();
        raw.resize(50 << 20, b'a');
        let started = std::time::Instant::now();
        Tokens::from_message(&raw);
        // A million tiny parts: MAX_PARTS of them are walked.
        let mut raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
        for _ in 0..1_000_000 {
            raw.extend_from_slice(b"--b\r\n\r\nx\r\n");
        }
        Tokens::from_message(&raw);
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }
}
