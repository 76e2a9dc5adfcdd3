//! The Authentication-Results header field (RFC 8601) we add, and the
//! incoming ones that claim our authserv-id, which are removed (§5).

use crate::context::Context;
use crate::results::Results;
use std::fmt::Write;
use std::ops::Range;

/// Our Authentication-Results field, CRLF-terminated, folded one method a line.
pub(crate) fn render(authserv_id: &str, r: &Results) -> String {
    let mut methods: Vec<String> = Vec::new();
    if let Some(spf) = &r.spf {
        methods.push(format!(
            "spf={} smtp.mailfrom={}",
            spf.mail_from.as_str(),
            value(&spf.mail_from_identity)
        ));
        if !spf.helo_name.is_empty() {
            methods.push(format!(
                "spf={} smtp.helo={}",
                spf.helo.as_str(),
                value(&spf.helo_name)
            ));
        }
    }
    for d in &r.dkim {
        let mut m = format!("dkim={}", d.result.as_str());
        if let Some(why) = &d.reason {
            let _ = write!(m, " ({})", comment(why));
        }
        if !d.domain.is_empty() {
            let _ = write!(
                m,
                " header.d={} header.s={}",
                value(&d.domain),
                value(&d.selector)
            );
        }
        methods.push(m);
    }
    if r.dkim_skipped > 0 {
        methods.push(format!(
            "dkim=neutral ({} more signatures not verified)",
            r.dkim_skipped
        ));
    }
    if let Some(arc) = &r.arc {
        let mut m = format!("arc={}", arc.result.as_str());
        if let Some(s) = &arc.sealer {
            let _ = write!(m, " (sealer {})", comment(s));
        }
        methods.push(m);
    }
    if let Some(d) = &r.dmarc {
        methods.push(format!(
            "dmarc={} (p={} dis={}) header.from={}",
            d.result.as_str(),
            d.policy,
            comment(&d.disposition),
            value(&d.from_domain)
        ));
    }
    if methods.is_empty() {
        return format!("Authentication-Results: {authserv_id}; none\r\n");
    }
    format!(
        "Authentication-Results: {authserv_id};\r\n\t{}\r\n",
        methods.join(";\r\n\t")
    )
}

/// A property value: a token as is, anything else quoted (RFC 2045 value).
fn value(v: &str) -> String {
    let token = !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>,;:\\\"[]?=".contains(&b));
    if token {
        v.to_string()
    } else {
        let escaped: String = v
            .chars()
            .filter(|c| !c.is_control())
            .flat_map(|c| match c {
                '"' | '\\' => vec!['\\', c],
                _ => vec![c],
            })
            .collect();
        format!("\"{escaped}\"")
    }
}

/// Text safe inside a comment: no parentheses, backslashes or controls.
fn comment(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() && !matches!(c, '(' | ')' | '\\'))
        .collect()
}

/// Whether an Authentication-Results value's authserv-id is `id` (RFC 8601 §2.2:
/// the first token, after any comments and folding white space).
pub fn claims_authserv_id(value: &[u8], id: &str) -> bool {
    let text = String::from_utf8_lossy(value);
    let mut rest = text.trim_start();
    while let Some(after) = rest.strip_prefix('(') {
        let mut depth = 1;
        let end = after.char_indices().find_map(|(i, c)| {
            depth += match c {
                '(' => 1,
                ')' => -1,
                _ => 0,
            };
            (depth == 0).then_some(i + 1)
        });
        rest = after[end.unwrap_or(after.len())..].trim_start();
    }
    let token: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != ';' && *c != '(')
        .collect();
    token
        .trim_end_matches('.')
        .eq_ignore_ascii_case(id.trim_end_matches('.'))
}

/// Byte ranges of the incoming Authentication-Results fields claiming `id`.
pub fn own_headers(ctx: &Context<'_>, id: &str) -> Vec<Range<usize>> {
    let Some(msg) = &ctx.message else {
        return vec![];
    };
    let base = ctx.raw.as_ptr() as usize;
    msg.headers
        .iter()
        .filter(|(name, value)| {
            name.eq_ignore_ascii_case(b"Authentication-Results") && claims_authserv_id(value, id)
        })
        .map(|(name, value)| {
            let start = name.as_ptr() as usize - base;
            let end = value.as_ptr() as usize - base + value.len();
            start..end
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Client;

    #[test]
    fn authserv_id_is_the_first_token() {
        assert!(claims_authserv_id(b" mx.test; spf=pass", "mx.test"));
        assert!(claims_authserv_id(b" (forged) MX.TEST 1; none", "mx.test"));
        assert!(claims_authserv_id(
            b"\r\n\tmx.test;\r\n\tdkim=pass",
            "mx.test"
        ));
        assert!(!claims_authserv_id(b" mx.test.evil; none", "mx.test"));
        assert!(!claims_authserv_id(
            b" other.example; spf=pass (mx.test)",
            "mx.test"
        ));
    }

    #[test]
    fn own_headers_cover_whole_fields() {
        let raw = b"Received: x\r\nAuthentication-Results: mx.test;\r\n spf=pass\r\nAuthentication-Results: other; none\r\nSubject: s\r\n\r\nbody\r\n";
        let ctx = crate::Context::new(
            Client {
                ip: "192.0.2.1".parse().unwrap(),
                helo: "h".into(),
                exempt: false,
            },
            "",
            raw,
            None,
        );
        let ranges = own_headers(&ctx, "mx.test");
        assert_eq!(ranges.len(), 1);
        let kept = crate::Verdict {
            action: crate::Action::Accept,
            add_headers: String::new(),
            remove: ranges,
            results: Results::default(),
            reason: None,
        }
        .rewrite(raw);
        assert_eq!(
            String::from_utf8(kept).unwrap(),
            "Received: x\r\nAuthentication-Results: other; none\r\nSubject: s\r\n\r\nbody\r\n"
        );
    }

    #[test]
    fn values_are_quoted_when_not_tokens() {
        assert_eq!(value("a@b.example"), "a@b.example");
        assert_eq!(value("a b\""), "\"a b\\\"\"");
        assert_eq!(value("example.net"), "example.net");
        assert_eq!(comment("x (y) \\z"), "x y z");
    }
}
