//! mail.log lines for outbound results: one per recipient and attempt.

use crate::outcome::{Decision, Verdict};
use postern_logs::Logs;
use postern_store::{OutboundMessage, RecipientStatus};

pub fn outcomes(
    logs: &Logs,
    msg: &OutboundMessage,
    verdicts: &[(i64, Verdict)],
    decision: &Decision,
    tls: &str,
) {
    for update in &decision.updates {
        let Some(r) = msg.recipients.iter().find(|r| r.id == update.id) else {
            continue;
        };
        let Some((_, verdict)) = verdicts.iter().find(|(id, _)| *id == update.id) else {
            continue;
        };
        let (reply, relay) = match verdict {
            Verdict::Delivered { reply, mta, .. } => (reply.as_str(), mta.as_str()),
            Verdict::Failed {
                diagnostic, mta, ..
            } => (diagnostic.as_str(), mta.as_deref().unwrap_or("none")),
        };
        let result = match update.status {
            RecipientStatus::Delivered => "sent",
            RecipientStatus::Deferred => "deferred",
            RecipientStatus::Bounced => "bounced",
            RecipientStatus::Pending => "pending",
        };
        count(update.status);
        let attempts = (r.attempts + update.attempted as u32).to_string();
        logs.mail(&[
            ("event", "outbound"),
            ("id", &msg.id),
            ("from", &msg.sender),
            ("to", &r.address),
            ("relay", relay),
            ("tls", tls),
            ("attempts", &attempts),
            ("result", result),
            ("reply", reply),
        ]);
    }
}

/// The recipient's outcome in the process-wide counters (`GET /metrics`).
fn count(status: RecipientStatus) {
    use postern_net::metrics::Event;
    let event = match status {
        RecipientStatus::Delivered => Event::Delivered,
        RecipientStatus::Deferred => Event::Deferred,
        RecipientStatus::Bounced => Event::Bounced,
        RecipientStatus::Pending => return,
    };
    postern_net::metrics::count(event, 1);
}
