//! The human-readable first part (RFC 3464 §2, RFC 6522 §3): what happened to
//! whom, and what the other server said. Lines are wrapped at 76 columns; text
//! with non-ASCII in it goes as UTF-8, quoted-printable, so the part stays 7-bit.

use super::fields::{date, host_name, one_line, status_code, wrap};
use super::original::quoted_printable;
use super::{Action, DsnRecipient, DsnRequest};

const WIDTH: usize = 76;

/// The whole part: MIME header, blank line, content.
pub(super) fn part(req: &DsnRequest) -> Vec<u8> {
    let text = explanation(req);
    let header = "Content-Description: Notification\r\n";
    if text.is_ascii() {
        format!("Content-Type: text/plain; charset=us-ascii\r\n{header}\r\n{text}").into_bytes()
    } else {
        let mut out = format!(
            "Content-Type: text/plain; charset=utf-8\r\n{header}Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        )
        .into_bytes();
        out.extend_from_slice(&quoted_printable(text.as_bytes()));
        out
    }
}

/// The explanation: one paragraph per kind of outcome, its recipients below it.
pub(super) fn explanation(req: &DsnRequest) -> String {
    let mut t = String::new();
    let host = host_name(req.reporting_mta);
    paragraph(&mut t, &format!("This is the mail system at {host}."), 0);
    for action in [
        Action::Failed,
        Action::Delayed,
        Action::Delivered,
        Action::Relayed,
    ] {
        let mut group = req
            .recipients
            .iter()
            .filter(|r| r.action == action)
            .peekable();
        if group.peek().is_none() {
            continue;
        }
        t.push_str("\r\n");
        paragraph(&mut t, intro(action), 0);
        for r in group {
            t.push_str("\r\n");
            recipient(&mut t, r);
        }
    }
    t
}

fn intro(action: Action) -> &'static str {
    match action {
        Action::Failed => {
            "Your message could not be delivered to the recipients below. The error is \
             permanent: the mail system has given up and will not try again."
        }
        Action::Delayed => {
            "Your message has not been delivered yet to the recipients below. This is \
             only a warning: the mail system will keep trying, and there is no need to \
             send the message again. You will be told if it finally fails."
        }
        Action::Delivered => "Your message was delivered to the recipients below.",
        Action::Relayed => {
            "Your message was passed on to the recipients below through mail servers \
             that do not report delivery, so no further notice may come."
        }
    }
}

/// `<address>`, then what the remote server said (or the status), indented.
fn recipient(t: &mut String, r: &DsnRecipient) {
    paragraph(t, &format!("<{}>", one_line(&r.address)), 2);
    let status = status_code(&r.status, r.action);
    let host = r.remote_mta.as_deref().map(host_name);
    let said = match (
        host,
        r.diagnostic
            .as_deref()
            .map(one_line)
            .filter(|d| !d.is_empty()),
    ) {
        (Some(host), Some(reply)) => format!("{host} said: {reply}"),
        (None, Some(reply)) => reply,
        (Some(host), None) => format!("last tried at {host}; status {status}"),
        (None, None) => format!("status {status}"),
    };
    paragraph(t, &said, 4);
    if r.action == Action::Delayed {
        let until = match r.will_retry_until {
            Some(until) => format!("The mail system will keep trying until {}.", date(until)),
            None => "The mail system will keep trying.".to_string(),
        };
        paragraph(t, &until, 4);
    }
}

/// `text` wrapped at [`WIDTH`] columns, every line indented by `indent`, CRLF-ended.
fn paragraph(t: &mut String, text: &str, indent: usize) {
    for line in wrap(&one_line(text), indent, indent, WIDTH) {
        t.push_str(&" ".repeat(indent));
        t.push_str(&line);
        t.push_str("\r\n");
    }
}
