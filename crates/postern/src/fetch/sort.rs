//! Domain-mailbox mode (SPEC M7): a remote mailbox that receives a whole
//! domain's mail is sorted to local users by the recipients its messages
//! name in `Delivered-To`, `X-Original-To`, `To` and `Cc` (the envelope is
//! gone; these headers are what is left of it). Pure: the addresses, in
//! that order, without duplicates; the delivery asks which are local.

/// Fields looked at, most reliable first (added by the delivering MTA).
const FIELDS: [&str; 4] = ["delivered-to", "x-original-to", "to", "cc"];
/// Most addresses taken from one message: each is a RCPT in the local
/// session, where unknown ones count toward `smtp.max_unknown_recipients`.
pub const MAX_SORTED_RECIPIENTS: usize = 10;

/// The header block's unfolded fields as (lowercase name, value).
fn fields(message: &[u8]) -> Vec<(String, String)> {
    let end = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(message.len(), |p| p + 2);
    let text = String::from_utf8_lossy(&message[..end]);
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    out
}

/// The addr-specs in an address-list value (RFC 5322 §3.4): display names
/// in quotes and comments in parentheses are dropped first, so an `@` in
/// them is not taken for an address.
fn addresses(value: &str) -> Vec<String> {
    let mut plain = String::new();
    let (mut quoted, mut depth, mut escaped) = (false, 0u32, false);
    for c in value.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted || depth > 0 => escaped = true,
            '"' if depth == 0 => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            _ if quoted || depth > 0 => {}
            _ => plain.push(c),
        }
    }
    plain
        .split(|c: char| c == ',' || c == ';' || c == '<' || c == '>' || c.is_whitespace())
        .filter(|t| matches!(t.split_once('@'), Some((l, d)) if !l.is_empty() && !d.is_empty()))
        .map(|t| t.to_ascii_lowercase())
        .collect()
}

/// The recipients a message names, in field order, each once, at most
/// [`MAX_SORTED_RECIPIENTS`].
pub fn recipients(message: &[u8]) -> Vec<String> {
    let fields = fields(message);
    let mut out: Vec<String> = Vec::new();
    for want in FIELDS {
        for (_, value) in fields.iter().filter(|(n, _)| n == want) {
            for a in addresses(value) {
                if !out.contains(&a) && out.len() < MAX_SORTED_RECIPIENTS {
                    out.push(a);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_delivered_to_first_then_to_and_cc() {
        let m = b"From: x@remote.test\r\nTo: \"Bob @ work\" <Bob@example.org>,\r\n carol@example.org (carol@wrong.test)\r\nCc: dave@example.org\r\nDelivered-To: alice@example.org\r\nSubject: a@b.c\r\n\r\nTo: body@example.org\r\n";
        assert_eq!(
            recipients(m),
            [
                "alice@example.org",
                "bob@example.org",
                "carol@example.org",
                "dave@example.org"
            ]
        );
    }

    #[test]
    fn no_recipient_headers_no_recipients() {
        assert!(recipients(b"Subject: hi\r\n\r\nbody\r\n").is_empty());
        assert!(recipients(b"To: undisclosed-recipients:;\r\n\r\n").is_empty());
    }

    #[test]
    fn recipients_crossing_the_maximum_are_dropped() {
        let many: Vec<String> = (0..=MAX_SORTED_RECIPIENTS)
            .map(|i| format!("u{i}@example.org"))
            .collect();
        let m = format!("To: {}\r\n\r\n", many.join(", "));
        let got = recipients(m.as_bytes());
        assert_eq!(got.len(), MAX_SORTED_RECIPIENTS);
        assert_eq!(got, many[..MAX_SORTED_RECIPIENTS]);
    }
}
