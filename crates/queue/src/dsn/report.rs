//! The machine-readable part: message/delivery-status (RFC 3464 §2.1–§2.3),
//! the per-message fields, then one group per recipient, each group after a
//! blank line. ASCII throughout.

use super::fields::{
    ascii_line, date, field, host_name, original_recipient, status_code, typed_address,
};
use super::{Action, DsnRecipient, DsnRequest};

/// The body of the message/delivery-status part.
pub(super) fn delivery_status(req: &DsnRequest) -> String {
    let mut s = String::new();
    // RFC 3464 §2.2 gives the order: Original-Envelope-Id first when there is one.
    if let Some(id) = req.env_id.map(ascii_line).filter(|id| !id.is_empty()) {
        field(&mut s, "Original-Envelope-Id", &id); // §2.2.1
    }
    field(
        &mut s,
        "Reporting-MTA",
        &format!("dns; {}", host_name(req.reporting_mta)),
    ); // §2.2.2
    field(&mut s, "Arrival-Date", &date(req.arrival)); // §2.2.5
    for r in &req.recipients {
        s.push_str("\r\n");
        recipient(&mut s, r);
    }
    s
}

/// One per-recipient group (RFC 3464 §2.3), in the RFC's order.
fn recipient(s: &mut String, r: &DsnRecipient) {
    if let Some(orcpt) = r.orcpt.as_deref().filter(|o| !o.trim().is_empty()) {
        field(s, "Original-Recipient", &original_recipient(orcpt)); // §2.3.1
    }
    field(s, "Final-Recipient", &typed_address(&r.address)); // §2.3.2
    field(s, "Action", r.action.as_str()); // §2.3.3
    field(s, "Status", &status_code(&r.status, r.action)); // §2.3.4
    if let Some(host) = r.remote_mta.as_deref().filter(|h| !h.trim().is_empty()) {
        field(s, "Remote-MTA", &format!("dns; {}", host_name(host))); // §2.3.5
    }
    if let Some(text) = r
        .diagnostic
        .as_deref()
        .map(ascii_line)
        .filter(|t| !t.is_empty())
    {
        field(s, "Diagnostic-Code", &diagnostic_code(&text)); // §2.3.6
    }
    if let Some(t) = r.last_attempt {
        field(s, "Last-Attempt-Date", &date(t)); // §2.3.7
    }
    // §2.3.8: only for delayed recipients.
    if let (Action::Delayed, Some(t)) = (r.action, r.will_retry_until) {
        field(s, "Will-Retry-Until", &date(t));
    }
}

/// `smtp; reply` for an SMTP reply (three digits, RFC 5321 §4.2); anything else
/// is our own words, typed as ours (RFC 3464 §2.3.6 allows X- types).
fn diagnostic_code(text: &str) -> String {
    let b = text.as_bytes();
    let reply = b.len() >= 3
        && matches!(b[0], b'2'..=b'5')
        && b[1..3].iter().all(u8::is_ascii_digit)
        && b.get(3).is_none_or(|c| matches!(c, b' ' | b'-'));
    if reply {
        format!("smtp; {text}")
    } else {
        format!("X-Postern; {text}")
    }
}
