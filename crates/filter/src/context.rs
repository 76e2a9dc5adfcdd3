//! One message's context, shared by every stage: who sent it, the envelope,
//! the raw message and its header block parsed once.

use crate::results::{Results, SpfOutcome};
use mail_auth::AuthenticatedMessage;
use std::net::IpAddr;

/// The SMTP client.
#[derive(Clone, Debug)]
pub struct Client {
    pub ip: IpAddr,
    /// The HELO/EHLO name.
    pub helo: String,
    /// Authenticated (SMTP AUTH) or in a trusted IP group: its mail is not
    /// checked for authenticity (RFC 7208 §2.5, RFC 7489 §6.6 apply to mail from outside).
    pub exempt: bool,
}

/// What the stages read and the results they leave for the next ones.
pub struct Context<'a> {
    pub client: Client,
    /// MAIL FROM ("" for the null sender).
    pub mail_from: String,
    /// The message as stored (our trace header first), complete.
    pub raw: &'a [u8],
    /// The top-level header block parsed, once, with the body hashes DKIM
    /// and ARC need; no MIME recursion (so hostile nesting costs nothing).
    /// None when there is no header at all.
    pub message: Option<AuthenticatedMessage<'a>>,
    pub results: Results,
}

impl<'a> Context<'a> {
    /// `spf`: the SPF result when it was already checked (at MAIL FROM).
    pub fn new(client: Client, mail_from: &str, raw: &'a [u8], spf: Option<SpfOutcome>) -> Self {
        Context {
            client,
            mail_from: mail_from.to_string(),
            raw,
            // RFC 6376 §3.5 l= is refused at parse (strict): see dkim.rs.
            message: AuthenticatedMessage::parse_with_opts(raw, true),
            results: Results {
                spf,
                ..Results::default()
            },
        }
    }

    /// The RFC5322.From domains (lower case), in order.
    pub fn from_domains(&self) -> Vec<String> {
        let Some(m) = &self.message else {
            return vec![];
        };
        m.from
            .iter()
            .filter_map(|a| a.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()))
            .collect()
    }
}
