//! Tokens of the message header: each field's words under its own prefix.
//! Fields a filter adds on its way (X-Spam-*, our own X-Postern-*) are left
//! out: the classifier must judge the message, not an earlier verdict.

use super::{host_tokens, Builder, MAX_RECEIVED};
use crate::header::decode_words;

pub(super) fn message_header(b: &mut Builder, fields: &[(String, String)]) {
    let mut received = 0;
    for (name, value) in fields {
        if name.starts_with("x-spam") || name.starts_with("x-postern") {
            continue;
        }
        b.push("h:", name);
        match name.as_str() {
            "subject" => subject(b, &decode_words(value)),
            "from" | "reply-to" | "sender" | "return-path" => address(b, "f:", value),
            "to" | "cc" => address(b, "to:", value),
            "received" if received < MAX_RECEIVED => {
                received += 1;
                received_tokens(b, value);
            }
            "message-id" => {
                let domain = value.rsplit('@').next().unwrap_or("");
                host_tokens(b, "mid:", domain.trim_end_matches('>'));
            }
            "x-mailer" | "user-agent" => b.words("xm:", &decode_words(value)),
            "content-type" => {
                if let Some((_, v)) = value.split_once(';') {
                    b.words("ctp:", v.split('=').next().unwrap_or(""));
                }
            }
            "list-id" | "list-unsubscribe" | "precedence" | "importance" | "x-priority"
            | "x-msmail-priority" | "organization" => b.words(&format!("{name}:"), value),
            _ => {}
        }
    }
}

fn subject(b: &mut Builder, subject: &str) {
    b.words("s:", subject);
    let letters: Vec<char> = subject.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() >= 8 && letters.iter().all(|c| c.is_uppercase()) {
        b.push("s:", "<allcaps>");
    }
    if subject.contains("!!") {
        b.push("s:", "<!!>");
    }
    if subject.contains('$') {
        b.push("s:", "<$>");
    }
    if subject.trim().is_empty() {
        b.push("s:", "<empty>");
    }
}

/// An address field: the addresses, their domains, the display-name words.
fn address(b: &mut Builder, prefix: &str, value: &str) {
    let value = decode_words(value).to_lowercase();
    for piece in value.split([',', ' ', '<', '>', '"', '(', ')']) {
        if let Some((local, domain)) = piece.split_once('@') {
            b.push(prefix, piece);
            host_tokens(b, prefix, domain);
            if local.bytes().filter(u8::is_ascii_digit).count() >= 3 {
                b.push(prefix, "<digits>");
            }
        } else if piece.len() >= 3 && piece.len() <= super::MAX_WORD {
            b.push(prefix, piece);
        }
    }
}

/// Received (RFC 5321 §4.4): host names, and numeric addresses as their /16
/// and /24 networks.
fn received_tokens(b: &mut Builder, value: &str) {
    let lower = value.to_ascii_lowercase();
    for piece in lower.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-')) {
        let piece = piece.trim_matches('.');
        if !piece.contains('.') {
            if ["with", "from", "esmtp", "smtp", "by", "for", "id"].contains(&piece) {
                continue;
            }
            if piece.len() >= MIN && piece.chars().any(|c| c.is_ascii_alphabetic()) {
                b.push("r:", piece);
            }
            continue;
        }
        let octets: Vec<&str> = piece.split('.').collect();
        if octets.len() == 4 && octets.iter().all(|o| o.parse::<u8>().is_ok()) {
            b.push("r:ip/16:", &octets[..2].join("."));
            b.push("r:ip/24:", &octets[..3].join("."));
        } else {
            host_tokens(b, "r:", piece);
        }
    }
}

const MIN: usize = 3;
