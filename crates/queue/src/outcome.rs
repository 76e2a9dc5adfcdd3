//! From what servers answered to what the queue records (SPEC M2, RFC 3461):
//! 2xx delivered, 5xx bounced, 4xx and failures deferred until the give-up
//! time; and which of these the sender is told about, per their NOTIFY.

use crate::policy::{Retry, RetryPolicy};
use postern_store::{OutboundMessage, OutboundRecipient, RecipientStatus, RecipientUpdate};
use smtp_proto::{RCPT_NOTIFY_DELAY, RCPT_NOTIFY_FAILURE, RCPT_NOTIFY_NEVER, RCPT_NOTIFY_SUCCESS};

/// What happened to one recipient in one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The server accepted it. `took_dsn`: it supports DSN and was passed
    /// NOTIFY, so it — not we — reports success (RFC 3461 §4.1).
    Delivered {
        reply: String,
        mta: String,
        took_dsn: bool,
    },
    /// Refused or not reached. `status` is the RFC 3463 code, `diagnostic` the
    /// server's reply or our reason.
    Failed {
        permanent: bool,
        status: String,
        diagnostic: String,
        mta: Option<String>,
    },
}

impl Verdict {
    pub fn temporary(status: &str, diagnostic: impl Into<String>, mta: Option<String>) -> Verdict {
        Verdict::Failed {
            permanent: false,
            status: status.into(),
            diagnostic: diagnostic.into(),
            mta,
        }
    }

    pub fn permanent(status: &str, diagnostic: impl Into<String>, mta: Option<String>) -> Verdict {
        Verdict::Failed {
            permanent: true,
            status: status.into(),
            diagnostic: diagnostic.into(),
            mta,
        }
    }
}

/// What the sender hears about one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub recipient: OutboundRecipient,
    pub kind: NoticeKind,
    pub status: String,
    pub diagnostic: Option<String>,
    pub mta: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeKind {
    Failed,
    Delayed { until: i64 },
    Relayed,
}

/// Updates for the store and notices for the sender.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decision {
    pub updates: Vec<RecipientUpdate>,
    pub notices: Vec<Notice>,
}

/// Decides every verdict of one message's attempt at `now`.
pub fn decide(
    msg: &OutboundMessage,
    verdicts: &[(i64, Verdict)],
    policy: &RetryPolicy,
    now: i64,
    attempted: bool,
) -> Decision {
    let mut out = Decision::default();
    for (id, verdict) in verdicts {
        let Some(r) = msg
            .recipients
            .iter()
            .find(|r| r.id == *id && r.status.is_active())
        else {
            continue;
        };
        let (update, notice) = decide_one(msg, r, verdict, policy, now, attempted);
        out.updates.push(update);
        // RFC 3464 §2: never a DSN about a message from the null sender.
        if let Some(n) = notice.filter(|_| !msg.sender.is_empty()) {
            out.notices.push(n);
        }
    }
    out
}

fn decide_one(
    msg: &OutboundMessage,
    r: &OutboundRecipient,
    verdict: &Verdict,
    policy: &RetryPolicy,
    now: i64,
    attempted: bool,
) -> (RecipientUpdate, Option<Notice>) {
    let mut update = RecipientUpdate {
        id: r.id,
        status: RecipientStatus::Delivered,
        next_attempt: now,
        last_error: None,
        remote_mta: None,
        attempted,
        attempt_time: now,
        warned: false,
    };
    match verdict {
        Verdict::Delivered { mta, took_dsn, .. } => {
            update.remote_mta = Some(mta.clone());
            let notice = (wants(r.notify, RCPT_NOTIFY_SUCCESS) && !took_dsn).then(|| Notice {
                recipient: r.clone(),
                kind: NoticeKind::Relayed,
                status: "2.0.0".into(),
                diagnostic: None,
                mta: Some(mta.clone()),
            });
            (update, notice)
        }
        Verdict::Failed {
            permanent,
            status,
            diagnostic,
            mta,
        } => {
            update.last_error = Some(diagnostic.clone());
            update.remote_mta = mta.clone();
            let retry = if *permanent {
                Retry::GiveUp
            } else {
                policy.after_failure(r.attempts + attempted as u32, msg.created, now)
            };
            let failed = |status: String| Notice {
                recipient: r.clone(),
                kind: NoticeKind::Failed,
                status,
                diagnostic: Some(diagnostic.clone()),
                mta: mta.clone(),
            };
            match retry {
                Retry::GiveUp => {
                    update.status = RecipientStatus::Bounced;
                    let status = if *permanent {
                        status.clone()
                    } else {
                        expired_status(status)
                    };
                    if !*permanent {
                        update.last_error = Some(format!(
                            "gave up after {} attempts: {diagnostic}",
                            r.attempts + attempted as u32
                        ));
                    }
                    (update, wants_failure(r.notify).then(|| failed(status)))
                }
                Retry::At(next) => {
                    update.status = RecipientStatus::Deferred;
                    update.next_attempt = next;
                    let warn =
                        policy.warning_due(msg.created, now, r.warned) && wants_delay(r.notify);
                    update.warned = warn;
                    let notice = warn.then(|| Notice {
                        kind: NoticeKind::Delayed {
                            until: policy.deadline(msg.created),
                        },
                        ..failed(status.clone())
                    });
                    (update, notice)
                }
            }
        }
    }
}

/// A temporary status that became final: keep a 4.x.x the server gave, else 4.4.7 (RFC 3463: delivery time expired).
fn expired_status(status: &str) -> String {
    if status.starts_with("4.") && status != "4.0.0" {
        status.to_string()
    } else {
        "4.4.7".to_string()
    }
}

fn wants(notify: u64, bit: u64) -> bool {
    notify & RCPT_NOTIFY_NEVER == 0 && notify & bit != 0
}

/// RFC 3461 §4.1: without NOTIFY, failures are reported (and delays at our option).
fn explicit(notify: u64) -> bool {
    notify & (RCPT_NOTIFY_SUCCESS | RCPT_NOTIFY_FAILURE | RCPT_NOTIFY_DELAY | RCPT_NOTIFY_NEVER)
        != 0
}

fn wants_failure(notify: u64) -> bool {
    !explicit(notify) || wants(notify, RCPT_NOTIFY_FAILURE)
}

fn wants_delay(notify: u64) -> bool {
    !explicit(notify) || wants(notify, RCPT_NOTIFY_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_store::BlobId;

    fn msg(sender: &str, notify: u64) -> OutboundMessage {
        OutboundMessage {
            id: "q1".into(),
            blob: BlobId::parse("0123456789abcdef0123456789abcdef")
                .unwrap_or_else(|| panic!("blob id format")),
            sender: sender.into(),
            created: 1000,
            size: 10,
            env_id: None,
            ret: None,
            smtputf8: false,
            held: false,
            recipients: vec![OutboundRecipient {
                id: 7,
                address: "bob@example.net".into(),
                domain: "example.net".into(),
                orcpt: None,
                notify,
                status: RecipientStatus::Pending,
                attempts: 0,
                next_attempt: 1000,
                last_error: None,
                warned: false,
            }],
            prepend: vec![],
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            schedule: vec![300, 600],
            give_up: 86400,
            delay_warning: Some(3600),
        }
    }

    #[test]
    fn delivered_is_final_and_silent_by_default() {
        let d = decide(
            &msg("a@x", 0),
            &[(
                7,
                Verdict::Delivered {
                    reply: "250 ok".into(),
                    mta: "mx".into(),
                    took_dsn: false,
                },
            )],
            &policy(),
            1001,
            true,
        );
        assert_eq!(d.updates[0].status, RecipientStatus::Delivered);
        assert!(d.notices.is_empty());
        let d = decide(
            &msg("a@x", RCPT_NOTIFY_SUCCESS),
            &[(
                7,
                Verdict::Delivered {
                    reply: "250".into(),
                    mta: "mx".into(),
                    took_dsn: false,
                },
            )],
            &policy(),
            1001,
            true,
        );
        assert_eq!(d.notices[0].kind, NoticeKind::Relayed);
        let d = decide(
            &msg("a@x", RCPT_NOTIFY_SUCCESS),
            &[(
                7,
                Verdict::Delivered {
                    reply: "250".into(),
                    mta: "mx".into(),
                    took_dsn: true,
                },
            )],
            &policy(),
            1001,
            true,
        );
        assert!(
            d.notices.is_empty(),
            "the DSN-capable server reports success"
        );
    }

    #[test]
    fn permanent_failure_bounces_unless_never_or_null_sender() {
        let v = [(
            7,
            Verdict::permanent("5.1.1", "550 5.1.1 no such user", Some("mx".into())),
        )];
        let d = decide(&msg("a@x", 0), &v, &policy(), 1001, true);
        assert_eq!(d.updates[0].status, RecipientStatus::Bounced);
        assert_eq!(
            (d.notices[0].kind, d.notices[0].status.as_str()),
            (NoticeKind::Failed, "5.1.1")
        );
        assert!(
            decide(&msg("a@x", RCPT_NOTIFY_NEVER), &v, &policy(), 1001, true)
                .notices
                .is_empty()
        );
        assert!(
            decide(&msg("a@x", RCPT_NOTIFY_SUCCESS), &v, &policy(), 1001, true)
                .notices
                .is_empty()
        );
        assert!(decide(&msg("", 0), &v, &policy(), 1001, true)
            .notices
            .is_empty());
    }

    #[test]
    fn temporary_failure_defers_warns_once_then_expires() {
        let v = [(
            7,
            Verdict::temporary("4.2.0", "451 4.2.0 try later", Some("mx".into())),
        )];
        let d = decide(&msg("a@x", 0), &v, &policy(), 1001, true);
        assert_eq!(
            (d.updates[0].status, d.updates[0].next_attempt),
            (RecipientStatus::Deferred, 1301)
        );
        assert!(d.notices.is_empty());
        let d = decide(&msg("a@x", 0), &v, &policy(), 1000 + 3600, true);
        assert!(d.updates[0].warned);
        assert_eq!(
            d.notices[0].kind,
            NoticeKind::Delayed {
                until: 1000 + 86400
            }
        );
        let mut m = msg("a@x", 0);
        m.recipients[0].warned = true;
        assert!(
            decide(&m, &v, &policy(), 5000, true).notices.is_empty(),
            "one warning only"
        );
        let d = decide(&m, &v, &policy(), 1000 + 86400, true);
        assert_eq!(d.updates[0].status, RecipientStatus::Bounced);
        assert_eq!(d.notices[0].status, "4.2.0");
        assert!(d.updates[0]
            .last_error
            .as_deref()
            .unwrap()
            .starts_with("gave up"));
    }

    #[test]
    fn final_recipients_are_not_touched() {
        let mut m = msg("a@x", 0);
        m.recipients[0].status = RecipientStatus::Delivered;
        let d = decide(
            &m,
            &[(7, Verdict::permanent("5.1.1", "550", None))],
            &policy(),
            1001,
            true,
        );
        assert!(d.updates.is_empty() && d.notices.is_empty());
    }
}
