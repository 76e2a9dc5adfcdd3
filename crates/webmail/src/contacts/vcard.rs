//! vCard 3.0 (RFC 2426) and 4.0 (RFC 6350) for address-book import and
//! export: a pure decoder and encoder, no I/O. What a contact holds travels
//! (FN, N, EMAIL, TEL, ORG, NOTE); other properties are skipped on import.
//! Input is bounded ([`MAX_VCARD_BYTES`], [`MAX_VCARD_CARDS`]); a malformed
//! card is refused with the line it starts on, and nothing is imported.

use postern_store::Contact;

/// Largest vCard file taken.
pub const MAX_VCARD_BYTES: usize = 1024 * 1024;
/// Most cards in one file.
pub const MAX_VCARD_CARDS: usize = 2_000;
/// RFC 6350 §3.2: lines SHOULD NOT be longer than 75 octets.
const FOLD_AT: usize = 75;

/// Why a file was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum VcardError {
    TooLarge,
    TooManyCards,
    NotUtf8,
    /// A malformed card: the (1-based) physical line and what is wrong.
    Line(usize, String),
}

impl std::fmt::Display for VcardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VcardError::TooLarge => write!(f, "a vCard file is at most {MAX_VCARD_BYTES} bytes"),
            VcardError::TooManyCards => {
                write!(f, "a vCard file holds at most {MAX_VCARD_CARDS} cards")
            }
            VcardError::NotUtf8 => write!(f, "a vCard file is UTF-8 (RFC 6350 §3.1)"),
            VcardError::Line(n, why) => write!(f, "line {n}: {why}"),
        }
    }
}

/// RFC 6350 §3.2: a line break followed by a space or a tab is removed.
/// The logical lines, each with the physical line it starts on.
fn unfold(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        match (line.strip_prefix([' ', '\t']), out.last_mut()) {
            (Some(rest), Some((_, last))) => last.push_str(rest),
            _ if line.is_empty() => {}
            _ => out.push((i + 1, line.to_string())),
        }
    }
    out
}

/// RFC 6350 §3.4: `\\`, `\,`, `\;`, `\n` (or `\N`) in a value.
fn unescape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            (c, false) => out.push(c),
        }
    }
    out
}

/// Splits a structured value at the `sep` not escaped by a backslash.
fn split_unescaped(v: &str, sep: char) -> Vec<&str> {
    let (mut out, mut start, mut escaped) = (Vec::new(), 0, false);
    for (i, c) in v.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            c if c == sep => {
                out.push(&v[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&v[start..]);
    out
}

/// `[group.]NAME[;params]:value` → (NAME uppercase, value).
fn property(line: &str) -> Option<(String, &str)> {
    // The name ends at the first ';' or ':'; a ':' inside a quoted parameter
    // value does not end the parameters (RFC 6350 §3.3).
    let mut quoted = false;
    let colon = line.char_indices().find_map(|(i, c)| match c {
        '"' => {
            quoted = !quoted;
            None
        }
        ':' if !quoted => Some(i),
        _ => None,
    })?;
    let head = &line[..colon];
    let name = head.split(';').next()?;
    let name = name.rsplit('.').next()?;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return None;
    }
    Some((name.to_ascii_uppercase(), &line[colon + 1..]))
}

/// Adds one property of a card to `c`.
fn apply(c: &mut Contact, name: &str, value: &str) {
    match name {
        "FN" => c.name = unescape(value),
        "N" => {
            let parts = split_unescaped(value, ';');
            c.family = unescape(parts.first().copied().unwrap_or(""));
            c.given = unescape(parts.get(1).copied().unwrap_or(""));
        }
        "EMAIL" => {
            let e = unescape(value);
            if !e.trim().is_empty() {
                c.emails.push(e.trim().to_string());
            }
        }
        "TEL" => {
            // vCard 4.0 writes a tel: URI (RFC 3966), 3.0 the bare number.
            let v = unescape(value);
            let mut t = v.trim();
            while let Some(rest) = t.strip_prefix("tel:") {
                t = rest.trim();
            }
            if !t.is_empty() {
                c.phones.push(t.to_string());
            }
        }
        "ORG" => {
            let units: Vec<String> = split_unescaped(value, ';')
                .into_iter()
                .map(unescape)
                .filter(|u| !u.is_empty())
                .collect();
            c.org = units.join(", ");
        }
        "NOTE" => c.note = unescape(value),
        _ => {}
    }
}

/// Every card of `data`, or why the file is refused.
pub fn parse(data: &[u8]) -> Result<Vec<Contact>, VcardError> {
    if data.len() > MAX_VCARD_BYTES {
        return Err(VcardError::TooLarge);
    }
    let text = std::str::from_utf8(data).map_err(|_| VcardError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut cards = Vec::new();
    let mut open: Option<(usize, Contact)> = None;
    for (n, line) in unfold(text) {
        let bad = |why: &str| Err(VcardError::Line(n, why.to_string()));
        let Some((name, value)) = property(&line) else {
            return bad("not a vCard property (NAME:value)");
        };
        match (name.as_str(), open.as_mut()) {
            ("BEGIN", None) if value.eq_ignore_ascii_case("VCARD") => {
                if cards.len() == MAX_VCARD_CARDS {
                    return Err(VcardError::TooManyCards);
                }
                open = Some((n, Contact::default()));
            }
            ("BEGIN", Some(_)) => return bad("BEGIN:VCARD inside a card (no END:VCARD before it)"),
            (_, None) => return bad("a property outside BEGIN:VCARD ... END:VCARD"),
            ("END", Some(_)) => {
                let (start, card) = open.take().expect("open");
                if card.name.trim().is_empty() && card.emails.is_empty() {
                    return Err(VcardError::Line(
                        start,
                        "a card with neither FN nor EMAIL".into(),
                    ));
                }
                cards.push(card);
            }
            ("VERSION", Some(_)) if !matches!(value.trim(), "3.0" | "4.0") => {
                return bad("only vCard 3.0 and 4.0 are read");
            }
            (name, Some((_, card))) => apply(card, name, value),
        }
    }
    match open {
        Some((start, _)) => Err(VcardError::Line(
            start,
            "BEGIN:VCARD without END:VCARD".into(),
        )),
        None => Ok(cards),
    }
}

/// RFC 6350 §3.4: a text value with `\`, `,`, `;` and line breaks escaped.
fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// One content line, folded at [`FOLD_AT`] octets (never inside a UTF-8
/// character), CRLF-terminated.
fn fold_into(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > FOLD_AT {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

/// `contacts` as vCard `version` ("3.0" or "4.0").
pub fn write(contacts: &[Contact], version: &str) -> String {
    let mut out = String::new();
    for c in contacts {
        let mut lines = vec![
            "BEGIN:VCARD".to_string(),
            format!("VERSION:{version}"),
            format!("FN:{}", escape(&c.name)),
            format!("N:{};{};;;", escape(&c.family), escape(&c.given)),
        ];
        lines.extend(c.emails.iter().map(|e| format!("EMAIL:{}", escape(e))));
        lines.extend(c.phones.iter().map(|t| format!("TEL:{}", escape(t))));
        if !c.org.is_empty() {
            lines.push(format!("ORG:{}", escape(&c.org)));
        }
        if !c.note.is_empty() {
            lines.push(format!("NOTE:{}", escape(&c.note)));
        }
        lines.push("END:VCARD".into());
        for l in &lines {
            fold_into(&mut out, l);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARD: &str = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Carol\r\n  Example\r\nN:Example;Carol;;;\r\nEMAIL;TYPE=work:carol@example.net\r\nitem1.TEL;VALUE=uri:tel:+1-555-0100\r\nORG:Acme\\, Inc.;Research\r\nNOTE:Likes tea\\nand\\; cake\r\nPHOTO;MEDIATYPE=\"image/png;x=a:b\":data:xx\r\nEND:VCARD\r\n";

    #[test]
    fn a_card_with_folded_lines_and_escapes() {
        let cards = parse(CARD.as_bytes()).unwrap();
        assert_eq!(cards.len(), 1);
        let c = &cards[0];
        assert_eq!(c.name, "Carol Example");
        assert_eq!((c.family.as_str(), c.given.as_str()), ("Example", "Carol"));
        assert_eq!(c.emails, ["carol@example.net"]);
        assert_eq!(c.phones, ["+1-555-0100"]);
        assert_eq!(c.org, "Acme, Inc., Research");
        assert_eq!(c.note, "Likes tea\nand; cake");
    }

    #[test]
    fn version_3_with_lf_line_ends_reads_too() {
        let v3 =
            "BEGIN:VCARD\nVERSION:3.0\nFN:Dan\nEMAIL;TYPE=INTERNET:dan@example.org\nEND:VCARD\n";
        assert_eq!(parse(v3.as_bytes()).unwrap()[0].emails, ["dan@example.org"]);
        let v21 = "BEGIN:VCARD\nVERSION:2.1\nFN:Old\nEND:VCARD\n";
        assert_eq!(
            parse(v21.as_bytes()).unwrap_err(),
            VcardError::Line(2, "only vCard 3.0 and 4.0 are read".into())
        );
    }

    #[test]
    fn what_is_read_is_what_is_written_back() {
        // Found by the fuzz target: a number read as "\t\0" (trimmed before
        // "tel:" was taken off, not after) came back as "\0".
        let tricky =
            "BEGIN:VCARD\nFN:x\nTEL:tel:\t\0\nTEL:tel: tel:1\nTEL:tel:\nEMAIL: \nEND:VCARD\n";
        let cards = parse(tricky.as_bytes()).unwrap();
        assert_eq!(cards[0].phones, ["\0", "1"]);
        assert!(cards[0].emails.is_empty());
        assert_eq!(parse(write(&cards, "4.0").as_bytes()).unwrap(), cards);
    }

    #[test]
    fn malformed_cards_are_named_by_line() {
        let unclosed = "BEGIN:VCARD\nVERSION:4.0\nFN:A\nEND:VCARD\nBEGIN:VCARD\nFN:B\n";
        assert_eq!(
            parse(unclosed.as_bytes()).unwrap_err().to_string(),
            "line 5: BEGIN:VCARD without END:VCARD"
        );
        let junk = "BEGIN:VCARD\nFN:A\nthis is not a property\nEND:VCARD\n";
        assert_eq!(
            parse(junk.as_bytes()).unwrap_err(),
            VcardError::Line(3, "not a vCard property (NAME:value)".into())
        );
        let nested = "BEGIN:VCARD\nFN:A\nBEGIN:VCARD\n";
        assert!(matches!(
            parse(nested.as_bytes()),
            Err(VcardError::Line(3, _))
        ));
        let outside = "FN:A\n";
        assert!(matches!(
            parse(outside.as_bytes()),
            Err(VcardError::Line(1, _))
        ));
        let empty = "BEGIN:VCARD\nVERSION:4.0\nTEL:1\nEND:VCARD\n";
        assert!(matches!(
            parse(empty.as_bytes()),
            Err(VcardError::Line(1, _))
        ));
        assert_eq!(parse(&[0xff, 0xfe]).unwrap_err(), VcardError::NotUtf8);
    }

    #[test]
    fn the_size_limit_is_crossed_by_one_byte() {
        let card = "BEGIN:VCARD\nFN:A\nX-PAD:";
        let end = "\nEND:VCARD\n";
        let pad = MAX_VCARD_BYTES - card.len() - end.len();
        let exact = format!("{card}{}{end}", "x".repeat(pad));
        assert_eq!(exact.len(), MAX_VCARD_BYTES);
        assert!(parse(exact.as_bytes()).is_ok());
        let over = format!("{card}{}{end}", "x".repeat(pad + 1));
        assert_eq!(parse(over.as_bytes()).unwrap_err(), VcardError::TooLarge);
    }

    #[test]
    fn the_card_limit_is_crossed_by_one_card() {
        let one = "BEGIN:VCARD\nFN:A\nEND:VCARD\n";
        assert_eq!(
            parse(one.repeat(MAX_VCARD_CARDS).as_bytes()).unwrap().len(),
            MAX_VCARD_CARDS
        );
        assert_eq!(
            parse(one.repeat(MAX_VCARD_CARDS + 1).as_bytes()).unwrap_err(),
            VcardError::TooManyCards
        );
    }

    #[test]
    fn export_folds_escapes_and_reads_back() {
        let c = Contact {
            name: "Zoë, the \"long\" name; ".repeat(5),
            family: "Zo;ë".into(),
            given: "Z".into(),
            emails: vec!["zoe@example.org".into(), "z@example.net".into()],
            phones: vec!["+44 20 7946 0000".into()],
            org: "Org\\Unit".into(),
            note: "two\nlines".into(),
            ..Contact::default()
        };
        for version in ["3.0", "4.0"] {
            let text = write(std::slice::from_ref(&c), version);
            assert!(text.lines().all(|l| l.len() <= FOLD_AT + 1), "{text}");
            assert!(text.contains("\r\n "), "folded: {text}");
            assert!(text.contains(&format!("VERSION:{version}\r\n")));
            let back = parse(text.as_bytes()).unwrap();
            assert_eq!(back, std::slice::from_ref(&c), "{text}");
        }
    }
}
