//! A session's life outside transactions: the greeting, EHLO (HELO when the
//! server does not know EHLO), RSET between messages, QUIT.

use super::channel::Channel;
use super::{Capabilities, ClientError, Io, Reply, Stage, Timeouts};
use std::time::Duration;

/// The longest we wait for the reply to QUIT: the work is done either way.
const QUIT_WAIT: Duration = Duration::from_secs(30);

/// One SMTP client session over one connection.
pub struct ClientSession {
    pub(super) chan: Channel,
    pub(super) caps: Capabilities,
    pub(super) greeting: Reply,
    pub(super) helo_name: String,
    pub(super) timeouts: Timeouts,
}

impl ClientSession {
    /// Reads the greeting (anything but 2xx is `Rejected`), sends EHLO
    /// (HELO after a 5xx) and keeps the capabilities the server lists.
    pub async fn connect(
        stream: Box<dyn Io>,
        helo_name: &str,
        timeouts: Timeouts,
    ) -> Result<ClientSession, ClientError> {
        check_helo_name(helo_name)?;
        let mut chan = Channel::new(stream);
        let greeting = chan.read_reply(Stage::Greeting, timeouts.greeting).await?;
        let mut s = ClientSession {
            chan,
            caps: Capabilities::default(),
            greeting,
            helo_name: helo_name.to_string(),
            timeouts,
        };
        if !s.greeting.is_positive() {
            // RFC 5321 §3.1: after a 554 greeting the client sends QUIT.
            let reply = s.greeting.clone();
            s.quit().await;
            return Err(ClientError::Rejected {
                stage: Stage::Greeting,
                reply,
            });
        }
        s.hello().await?;
        Ok(s)
    }

    /// What the server offered in its last EHLO reply (nothing after HELO).
    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    pub fn greeting(&self) -> &Reply {
        &self.greeting
    }

    /// Whether an earlier error left the session unusable (it must be dropped).
    pub fn is_broken(&self) -> bool {
        self.chan.is_broken()
    }

    /// EHLO, and HELO if EHLO is refused with 5xx (RFC 5321 §3.2, §4.1.4).
    pub(super) async fn hello(&mut self) -> Result<(), ClientError> {
        let limit = self.timeouts.ehlo;
        let line = format!("EHLO {}", self.helo_name);
        let ehlo = self.chan.command(&line, Stage::Ehlo, limit).await?;
        if ehlo.is_positive() {
            self.caps = Capabilities::from_ehlo(&ehlo);
            return Ok(());
        }
        if !ehlo.is_permanent() {
            return Err(rejected(Stage::Ehlo, ehlo));
        }
        let line = format!("HELO {}", self.helo_name);
        let helo = self.chan.command(&line, Stage::Helo, limit).await?;
        self.caps = Capabilities::default();
        match helo.is_positive() {
            true => Ok(()),
            false => Err(rejected(Stage::Helo, helo)),
        }
    }

    /// RSET (RFC 5321 §4.1.1.5): between messages on a reused connection.
    pub async fn rset(&mut self) -> Result<(), ClientError> {
        self.rset_within(self.timeouts.ehlo).await
    }

    /// RSET with its own deadline: the check that an idle connection is
    /// still alive before it carries another message.
    pub async fn rset_within(&mut self, limit: Duration) -> Result<(), ClientError> {
        self.chan.check()?;
        let reply = self.chan.command("RSET", Stage::Rset, limit).await?;
        match reply.is_positive() {
            true => Ok(()),
            false => Err(self.chan.fail(rejected(Stage::Rset, reply))),
        }
    }

    /// RSET inside a transaction that went wrong; a failure only marks the
    /// session unusable, since the recipients' replies are already known.
    pub(super) async fn reset_quietly(&mut self) {
        if self.chan.check().is_ok() {
            let _ = self.rset().await;
        }
    }

    /// QUIT (RFC 5321 §4.1.1.10) and close, ignoring failures.
    pub async fn quit(mut self) {
        let limit = QUIT_WAIT.min(self.timeouts.ehlo);
        if self.chan.check().is_ok() {
            let _ = self.chan.command("QUIT", Stage::Quit, limit).await;
        }
        self.chan.shutdown(limit).await;
    }
}

pub(super) fn rejected(stage: Stage, reply: Reply) -> ClientError {
    ClientError::Rejected { stage, reply }
}

/// The EHLO argument is a domain or an address literal (RFC 5321 §4.1.1.1):
/// no spaces, no line breaks.
fn check_helo_name(name: &str) -> Result<(), ClientError> {
    let bad = name.is_empty() || name.bytes().any(|b| b <= b' ' || b == 0x7f);
    match bad {
        true => Err(ClientError::Invalid(format!("EHLO name {name:?}"))),
        false => Ok(()),
    }
}
