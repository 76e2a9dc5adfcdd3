//! The envelope of one transaction and its command lines: MAIL FROM with
//! SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531), RET/ENVID (RFC 3461
//! §4.3, §4.4); RCPT TO with NOTIFY/ORCPT (RFC 3461 §4.1, §4.2). Extension
//! parameters go only to a server that offered the extension.

use super::{Capabilities, ClientError, Reply};
use smtp_proto::{RCPT_NOTIFY_DELAY, RCPT_NOTIFY_FAILURE, RCPT_NOTIFY_NEVER, RCPT_NOTIFY_SUCCESS};
use std::fmt::Write;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse path; empty for the null sender of a bounce.
    pub from: String,
    pub recipients: Vec<EnvelopeRecipient>,
    /// Ask for SMTPUTF8; the caller has checked the server offers it.
    pub smtputf8: bool,
    /// The body has 8-bit content: BODY=8BITMIME when the server offers it.
    pub eight_bit: bool,
    /// DSN envelope id (RFC 3461 §4.4), decoded.
    pub env_id: Option<String>,
    /// DSN RET: "FULL" or "HDRS" (RFC 3461 §4.3).
    pub ret: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvelopeRecipient {
    pub address: String,
    /// NOTIFY as smtp-proto's RCPT_NOTIFY_* bits; 0 = not given.
    pub notify: u64,
    /// The original recipient, an RFC 822 address, decoded (RFC 3461 §4.2).
    pub orcpt: Option<String>,
}

/// What the server finally said about one recipient: its RCPT reply if
/// refused there, else the reply that ended the transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientResult {
    pub address: String,
    pub reply: Reply,
}

/// "MAIL FROM:<a@b> SIZE=123 BODY=8BITMIME ..." without the line end.
pub(super) fn mail_command(
    env: &Envelope,
    caps: &Capabilities,
    size: u64,
) -> Result<String, ClientError> {
    check_text("sender", &env.from)?;
    let mut line = format!("MAIL FROM:<{}>", env.from);
    if caps.size.is_some() {
        let _ = write!(line, " SIZE={size}");
    }
    if env.eight_bit && caps.eight_bit_mime {
        line.push_str(" BODY=8BITMIME");
    }
    if env.smtputf8 {
        line.push_str(" SMTPUTF8");
    }
    if caps.dsn {
        let ret = env.ret.as_deref().map(str::to_ascii_uppercase);
        if let Some(ret) = ret.filter(|r| r == "FULL" || r == "HDRS") {
            let _ = write!(line, " RET={ret}");
        }
        if let Some(id) = env.env_id.as_deref().filter(|id| !id.is_empty()) {
            let _ = write!(line, " ENVID={}", xtext(id));
        }
    }
    Ok(line)
}

/// "RCPT TO:<a@b> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@b" without the line end.
pub(super) fn rcpt_command(
    rcpt: &EnvelopeRecipient,
    caps: &Capabilities,
) -> Result<String, ClientError> {
    if rcpt.address.is_empty() {
        return Err(ClientError::Invalid("an empty recipient address".into()));
    }
    check_text("recipient", &rcpt.address)?;
    let mut line = format!("RCPT TO:<{}>", rcpt.address);
    if caps.dsn {
        if let Some(notify) = notify_value(rcpt.notify) {
            let _ = write!(line, " NOTIFY={notify}");
        }
        if let Some(orcpt) = rcpt.orcpt.as_deref().filter(|o| !o.is_empty()) {
            let _ = write!(line, " ORCPT=rfc822;{}", xtext(orcpt));
        }
    }
    Ok(line)
}

/// NEVER alone, or the list of SUCCESS, FAILURE, DELAY (RFC 3461 §4.1).
fn notify_value(bits: u64) -> Option<String> {
    if bits & RCPT_NOTIFY_NEVER != 0 {
        return Some("NEVER".into());
    }
    let names = [
        (RCPT_NOTIFY_SUCCESS, "SUCCESS"),
        (RCPT_NOTIFY_FAILURE, "FAILURE"),
        (RCPT_NOTIFY_DELAY, "DELAY"),
    ];
    let set: Vec<&str> = names
        .iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, name)| *name)
        .collect();
    (!set.is_empty()).then(|| set.join(","))
}

/// xtext (RFC 3461 §4): "!" to "~" as themselves but "+" and "=", every other
/// octet (UTF-8 included) as "+" and two upper-case hex digits.
pub(super) fn xtext(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'+' | b'=' => {
                let _ = write!(out, "+{b:02X}");
            }
            b'!'..=b'~' => out.push(b as char),
            _ => {
                let _ = write!(out, "+{b:02X}");
            }
        }
    }
    out
}

/// An address with a control character (a line break above all) would
/// smuggle a command of its own onto the wire.
fn check_text(what: &str, s: &str) -> Result<(), ClientError> {
    match s.chars().any(char::is_control) {
        true => Err(ClientError::Invalid(format!(
            "a {what} address with a control character: {s:?}"
        ))),
        false => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(from: &str) -> Envelope {
        Envelope {
            from: from.into(),
            ..Default::default()
        }
    }

    fn all_caps() -> Capabilities {
        Capabilities {
            size: Some(1000),
            eight_bit_mime: true,
            smtputf8: true,
            dsn: true,
            ..Default::default()
        }
    }

    #[test]
    fn plain_mail_from() {
        let none = Capabilities::default();
        assert_eq!(
            mail_command(&env("a@b"), &none, 10).unwrap(),
            "MAIL FROM:<a@b>"
        );
        assert_eq!(mail_command(&env(""), &none, 10).unwrap(), "MAIL FROM:<>");
    }

    #[test]
    fn mail_parameters_only_when_offered() {
        let e = Envelope {
            from: "a@b".into(),
            eight_bit: true,
            smtputf8: true,
            env_id: Some("id=1 +x".into()),
            ret: Some("hdrs".into()),
            ..Default::default()
        };
        assert_eq!(
            mail_command(&e, &all_caps(), 123).unwrap(),
            "MAIL FROM:<a@b> SIZE=123 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=id+3D1+20+2Bx"
        );
        // SMTPUTF8 is the caller's decision; the rest needs the extension.
        assert_eq!(
            mail_command(&e, &Capabilities::default(), 123).unwrap(),
            "MAIL FROM:<a@b> SMTPUTF8"
        );
    }

    #[test]
    fn unknown_ret_values_are_left_out() {
        let e = Envelope {
            ret: Some("EVERYTHING".into()),
            ..env("a@b")
        };
        assert_eq!(
            mail_command(&e, &all_caps(), 1).unwrap(),
            "MAIL FROM:<a@b> SIZE=1"
        );
    }

    #[test]
    fn rcpt_parameters() {
        let r = EnvelopeRecipient {
            address: "b@c".into(),
            notify: RCPT_NOTIFY_DELAY | RCPT_NOTIFY_SUCCESS,
            orcpt: Some("B@C.example".into()),
        };
        assert_eq!(
            rcpt_command(&r, &all_caps()).unwrap(),
            "RCPT TO:<b@c> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;B@C.example"
        );
        assert_eq!(
            rcpt_command(&r, &Capabilities::default()).unwrap(),
            "RCPT TO:<b@c>"
        );
        let never = EnvelopeRecipient {
            notify: RCPT_NOTIFY_NEVER | RCPT_NOTIFY_FAILURE,
            orcpt: None,
            ..r.clone()
        };
        assert_eq!(
            rcpt_command(&never, &all_caps()).unwrap(),
            "RCPT TO:<b@c> NOTIFY=NEVER"
        );
        let nothing = EnvelopeRecipient {
            notify: 0,
            orcpt: None,
            ..r
        };
        assert_eq!(
            rcpt_command(&nothing, &all_caps()).unwrap(),
            "RCPT TO:<b@c>"
        );
    }

    #[test]
    fn xtext_encoding() {
        assert_eq!(xtext("plain@example.org"), "plain@example.org");
        assert_eq!(xtext("a+b=c d"), "a+2Bb+3Dc+20d");
        assert_eq!(xtext("\u{e9}"), "+C3+A9");
        assert_eq!(xtext("\r\n\x7f"), "+0D+0A+7F");
    }

    #[test]
    fn line_breaks_in_addresses_are_refused() {
        let caps = Capabilities::default();
        let smuggler = env("a@b>\r\nRCPT TO:<evil@x");
        assert!(matches!(
            mail_command(&smuggler, &caps, 1),
            Err(ClientError::Invalid(_))
        ));
        let r = EnvelopeRecipient {
            address: "b@c\n".into(),
            ..Default::default()
        };
        assert!(matches!(
            rcpt_command(&r, &caps),
            Err(ClientError::Invalid(_))
        ));
        let empty = EnvelopeRecipient::default();
        assert!(matches!(
            rcpt_command(&empty, &caps),
            Err(ClientError::Invalid(_))
        ));
    }
}
