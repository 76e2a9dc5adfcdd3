//! Delivery status notifications (RFC 3464): one pure function, [`build`], turns
//! what happened to some recipients of a queued message into the complete
//! notification for its envelope sender — a multipart/report (RFC 6522) with a
//! human-readable explanation, the machine-readable message/delivery-status, and
//! the original message or its header block (RFC 3461 §4.3).
//!
//! Every value that came from outside (addresses, ORCPT, ENVID, the remote reply)
//! is cleaned before it reaches a header field: control characters, CR and LF
//! above all, become spaces, so nothing can end a field early or forge another.
//! The delivery-status part stays 7-bit: non-ASCII addresses go as the `utf-8`
//! address type in its utf-8-addr-xtext form (RFC 6533 §3), other non-ASCII text
//! as `\x{HEX}`.

mod fields;
mod original;
mod report;
#[cfg(test)]
mod tests;
mod text;

pub use original::MAX_HEADER_BLOCK;

use original::{Returned, Transport};
use std::io::{self, Read};

/// What happened to a recipient (RFC 3464 §2.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Permanent failure: given up.
    Failed,
    /// Not delivered yet; still being retried.
    Delayed,
    /// Delivered into the recipient's mailbox.
    Delivered,
    /// Passed on to a server that does not send DSNs itself (RFC 3461 §5.2.2).
    Relayed,
}

impl Action {
    /// The Action field's value (RFC 3464 §2.3.3).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Failed => "failed",
            Action::Delayed => "delayed",
            Action::Delivered => "delivered",
            Action::Relayed => "relayed",
        }
    }
}

/// One recipient the notification reports on (RFC 3464 §2.3).
#[derive(Debug, Clone)]
pub struct DsnRecipient {
    /// The address delivery was tried to → `Final-Recipient`.
    pub address: String,
    /// ORCPT as stored (`type;address`, xtext already decoded, RFC 3461 §4.2)
    /// → `Original-Recipient`.
    pub orcpt: Option<String>,
    pub action: Action,
    /// The enhanced status code (RFC 3463), e.g. "5.1.1". One that does not parse
    /// is replaced by the action's class with 0.0 ("5.0.0", "4.0.0", "2.0.0").
    pub status: String,
    /// The host that answered → `Remote-MTA: dns; host`.
    pub remote_mta: Option<String>,
    /// The remote reply (`Diagnostic-Code: smtp; …`) or, when it is not an SMTP
    /// reply (a connection failure), our own explanation (`X-Postern; …`).
    pub diagnostic: Option<String>,
    /// Unix seconds → `Last-Attempt-Date`.
    pub last_attempt: Option<i64>,
    /// Unix seconds → `Will-Retry-Until`; used only with [`Action::Delayed`].
    pub will_retry_until: Option<i64>,
}

/// Everything a notification says besides the returned message.
#[derive(Debug, Clone)]
pub struct DsnRequest<'a> {
    /// Our host name → `Reporting-MTA`, `From: MAILER-DAEMON@host`, Message-ID.
    pub reporting_mta: &'a str,
    /// The original envelope sender, who gets the notification (`To:`).
    pub recipient: &'a str,
    /// ENVID (RFC 3461 §4.4) → `Original-Envelope-Id`.
    pub env_id: Option<&'a str>,
    /// Unix seconds the message was accepted → `Arrival-Date`.
    pub arrival: i64,
    /// Unix seconds now → `Date:`.
    pub now: i64,
    /// RET=FULL: return the whole message when it fits; else its headers only.
    pub return_full: bool,
    pub recipients: Vec<DsnRecipient>,
}

/// The complete notification (header and body, CRLF line ends) for `req`, with
/// `original` returned as message/rfc822 when RET=FULL asked for it and it fits
/// in `limit` octets (after CRLF normalisation), else its header block as
/// text/rfc822-headers (at most `limit` and [`MAX_HEADER_BLOCK`] octets, whole
/// fields only). Reads at most `limit + 1` octets of `original` with RET=FULL;
/// otherwise 8 KiB at a time until the end of its header block is seen, never
/// more than `min(limit, MAX_HEADER_BLOCK) + 1` octets.
///
/// Errors: reading `original`; no recipients (RFC 3464 §2.3 wants at least one);
/// an empty `recipient` (no notification goes to the null sender, RFC 5321 §4.5.5).
pub fn build(req: &DsnRequest, original: &mut dyn Read, limit: usize) -> io::Result<Vec<u8>> {
    if req.recipients.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a DSN reports on at least one recipient",
        ));
    }
    if fields::one_line(req.recipient).is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no DSN is sent to the null sender",
        ));
    }
    let returned = original::read(original, req.return_full, limit)?;
    let (parts, transport) = parts(req, &returned);
    let boundary = pick_boundary(&parts, random_boundary);
    let mut out = top_header(req, &boundary, transport).into_bytes();
    // RFC 2046 §5.1.1: each body part follows "--boundary"; the CRLF before a
    // delimiter belongs to the delimiter, so part content is returned intact.
    out.extend_from_slice(b"This is a MIME-encapsulated message.\r\n");
    for part in &parts {
        out.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
        out.extend_from_slice(part);
    }
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Ok(out)
}

/// The three body parts, each its MIME header, a blank line and its content
/// (RFC 6522 §3, RFC 3464 §2), and the transfer encoding the whole needs.
fn parts(req: &DsnRequest, returned: &Returned) -> ([Vec<u8>; 3], Transport) {
    let explanation = text::part(req);
    let mut status = b"Content-Type: message/delivery-status\r\n\
        Content-Description: Delivery report\r\n\r\n"
        .to_vec();
    status.extend_from_slice(report::delivery_status(req).as_bytes());
    let (original, transport) = returned.part();
    ([explanation, status, original], transport)
}

/// The notification's own header (RFC 5322 §3.6, RFC 2045 §3, RFC 3834 §5).
fn top_header(req: &DsnRequest, boundary: &str, transport: Transport) -> String {
    let host = fields::host_name(req.reporting_mta);
    let mut h = String::new();
    fields::field(
        &mut h,
        "From",
        &format!("\"Mail Delivery System\" <MAILER-DAEMON@{host}>"),
    );
    fields::field(
        &mut h,
        "To",
        &format!("<{}>", fields::one_line(req.recipient)),
    );
    fields::field(&mut h, "Subject", subject(&req.recipients));
    fields::field(&mut h, "Date", &fields::date(req.now));
    let id: u128 = rand::random();
    fields::field(
        &mut h,
        "Message-ID",
        &format!("<{}.{id:032x}@{host}>", req.now),
    );
    h.push_str("MIME-Version: 1.0\r\n");
    // RFC 3834 §5: a notification is an automatic response; no one should answer it.
    h.push_str("Auto-Submitted: auto-replied\r\n");
    // RFC 6522 §3: report-type names the second part's type.
    h.push_str("Content-Type: multipart/report; report-type=delivery-status;\r\n");
    h.push_str(&format!("\tboundary=\"{boundary}\"\r\n"));
    if let Some(cte) = transport.header_value() {
        h.push_str(&format!("Content-Transfer-Encoding: {cte}\r\n"));
    }
    h.push_str("\r\n");
    h
}

/// The subject for the gravest action reported: failure, then delay, then success.
fn subject(recipients: &[DsnRecipient]) -> &'static str {
    if recipients.iter().any(|r| r.action == Action::Failed) {
        "Undelivered Mail Returned to Sender"
    } else if recipients.iter().any(|r| r.action == Action::Delayed) {
        "Delayed Mail (still being retried)"
    } else {
        "Successful Mail Delivery Report"
    }
}

/// A boundary from `candidates` that occurs nowhere in `parts` (RFC 2046 §5.1.1:
/// it must not appear in the encapsulated content).
fn pick_boundary(parts: &[Vec<u8>], mut candidates: impl FnMut() -> String) -> String {
    loop {
        let boundary = candidates();
        let found = |part: &Vec<u8>| {
            part.windows(boundary.len())
                .any(|w| w == boundary.as_bytes())
        };
        if !boundary.is_empty() && !parts.iter().any(found) {
            return boundary;
        }
    }
}

/// 128 random bits; "=_" cannot occur in quoted-printable or base64 text.
fn random_boundary() -> String {
    format!("=_postern_dsn_{:032x}", rand::random::<u128>())
}
