//! Cheap offline header tests, each worth a few points (the figures of the
//! 5-fold cross-validation in bench/README.md judge them). No DNS.

use crate::header::{self, ContentType};

/// A header test that fired: its name and its points.
pub type Hit = (&'static str, f64);

/// Runs every test on the message's own header fields.
pub fn run(fields: &[(String, String)]) -> Vec<Hit> {
    let mut hits = Vec::new();
    let has = |name: &str| header::get(fields, name).is_some();
    // RFC 5322 §3.6: Date and From are required, Message-ID should be there.
    if !has("date") {
        hits.push(("MISSING_DATE", 0.5));
    }
    if !has("message-id") {
        hits.push(("MISSING_MID", 0.5));
    }
    if reply_to_differs(fields) {
        hits.push(("REPLYTO_DIFFERS", 0.5));
    }
    if let Some(s) = header::get(fields, "subject") {
        let letters: Vec<char> = header::decode_words(s)
            .chars()
            .filter(|c| c.is_alphabetic())
            .collect();
        if letters.len() >= 8 && letters.iter().all(|c| c.is_uppercase()) {
            hits.push(("SUBJ_ALL_CAPS", 0.5));
        }
    }
    if ContentType::parse(header::get(fields, "content-type")).mime == "text/html" {
        hits.push(("HTML_ONLY", 0.5));
    }
    hits
}

/// The domain of the first address in a field.
fn domain(value: &str) -> Option<String> {
    let at = value.rfind('@')?;
    let d: String = value[at + 1..]
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '.' || *c == '-')
        .collect();
    Some(d.to_ascii_lowercase())
}

fn reply_to_differs(fields: &[(String, String)]) -> bool {
    let from = header::get(fields, "from").and_then(domain);
    let reply = header::get(fields, "reply-to").and_then(domain);
    matches!((from, reply), (Some(f), Some(r)) if f != r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn well_formed_fires_nothing() {
        let fields = f(&[
            ("date", "Mon, 7 Dec 2026 00:00:00 +0000"),
            ("message-id", "<1@a.example>"),
            ("from", "A <a@a.example>"),
            ("reply-to", "a@A.example"),
            ("subject", "Lunch tomorrow"),
        ]);
        assert!(run(&fields).is_empty());
    }

    #[test]
    fn each_test_fires() {
        let fields = f(&[
            ("from", "a@a.example"),
            ("reply-to", "x@b.example"),
            ("subject", "FREE MONEY NOW"),
            ("content-type", "text/html; charset=us-ascii"),
        ]);
        let names: Vec<&str> = run(&fields).iter().map(|h| h.0).collect();
        assert_eq!(
            names,
            [
                "MISSING_DATE",
                "MISSING_MID",
                "REPLYTO_DIFFERS",
                "SUBJ_ALL_CAPS",
                "HTML_ONLY"
            ]
        );
    }
}
