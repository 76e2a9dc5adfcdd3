//! Notices of the antivirus and attachment stages (issue 17 items 4 and 6):
//! to the admin (`av.notify_admin`, `attachment.notify_admin`) with the
//! message attached as received or filtered (`forward`), and to an
//! authenticated sender whose attachment was blocked
//! (`attachment.warn_sender`; never to others: that would be backscatter).
//! A notice is a new message from the null sender (no bounce can loop
//! back, RFC 5321 §4.5.5), marked `Auto-Submitted: auto-generated`
//! (RFC 3834 §5), committed through the normal delivery path; a notice to
//! another domain is DKIM-signed as postmaster@host, as DSNs are (SPEC P8).
//! A notice that cannot be sent is a security.log line; the message goes on.

use super::Session;
use crate::trace::rfc5322_date;
use postern_config::Forward;
use postern_directory::prelude::*;
use postern_dkim::outbound::sign_own;
use postern_store::archive::{envelope_for, Direction};
use postern_store::{Delivery, RemoteRecipient};
use tokio::io::{AsyncRead, AsyncWrite};

/// One notice to send.
pub(super) struct Notice {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// A message to attach (message/rfc822).
    pub attached: Option<Vec<u8>>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) async fn send_notice(&self, n: Notice) {
        if let Err(e) = self.try_notice(&n).await {
            self.security_log("notice-failed", &[("to", &n.to), ("error", &e)]);
        }
    }

    async fn try_notice(&self, n: &Notice) -> Result<(), String> {
        let store = self.ctx.directory.clone();
        let to = n.to.clone();
        let expansion = tokio::task::spawn_blocking(move || store.expand(&to))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        if expansion.is_empty() {
            return Err("no such recipient".into());
        }
        let host = &self.cfg.server.hostname;
        let now = time::OffsetDateTime::now_utc();
        let mut blob = self
            .ctx
            .store
            .create_blob()
            .await
            .map_err(|e| e.to_string())?;
        let id = blob.id().to_string();
        let bytes = notice_message(n, host, &id, now);
        blob.write(&bytes).await.map_err(|e| e.to_string())?;
        let blob = blob.finish().await.map_err(|e| e.to_string())?;
        let prepend = match expansion.remote.is_empty() {
            true => Vec::new(),
            false => self.sign_notice(bytes).await?,
        };
        let remote = expansion.remote.into_iter().map(|address| RemoteRecipient {
            address,
            orcpt: None,
            notify: 0,
        });
        let delivery = Delivery {
            blob,
            sender: String::new(),
            local: expansion.local.into_iter().collect(),
            remote: remote.collect(),
            env_id: None,
            ret: None,
            smtputf8: false,
            internal_date: now.unix_timestamp(),
            prepend,
            junk: false,
        };
        // Mail the server sends is archived like any other (SPEC M8).
        let direction = match delivery.remote.is_empty() {
            true => Direction::Local,
            false => Direction::Out,
        };
        let archive = envelope_for(
            &self.cfg.archive,
            direction,
            "",
            vec![n.to.clone()],
            String::new(),
            now.unix_timestamp(),
        );
        self.ctx
            .store
            .commit_archived(delivery, archive)
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    /// The DKIM-Signature fields for a notice that leaves.
    async fn sign_notice(&self, bytes: Vec<u8>) -> Result<Vec<u8>, String> {
        let store = self.ctx.directory.clone();
        let from = format!("postmaster@{}", self.cfg.server.hostname);
        let signed = tokio::task::spawn_blocking(move || sign_own(&store, &from, &bytes))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("DKIM signing: {e}"))?;
        Ok(signed.fields)
    }
}

/// What a notice to the admin carries of the message (`forward`): as
/// received, with `targets` replaced, or nothing.
pub(super) fn forwarded(
    raw: &[u8],
    forward: Forward,
    targets: &[(usize, String)],
) -> Option<Vec<u8>> {
    match forward {
        Forward::Original => Some(raw.to_vec()),
        Forward::Filtered => Some(postern_av::replace::replace_parts(raw, targets)),
        Forward::None => None,
    }
}

/// The notice as an RFC 5322 message: the text, then the attached message.
fn notice_message(n: &Notice, host: &str, id: &str, date: time::OffsetDateTime) -> Vec<u8> {
    let boundary = format!("postern-notice-{id}");
    let text = n.text.lines().collect::<Vec<_>>().join("\r\n");
    let subject: String = n.subject.chars().filter(|c| !c.is_control()).collect();
    let mut out = format!(
        "From: Postern <postmaster@{host}>\r\n\
         To: <{}>\r\n\
         Subject: {subject}\r\n\
         Date: {}\r\n\
         Message-ID: <{id}.notice@{host}>\r\n\
         Auto-Submitted: auto-generated\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n\
         {text}\r\n",
        n.to,
        rfc5322_date(date)
    )
    .into_bytes();
    if let Some(m) = &n.attached {
        out.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Type: message/rfc822\r\n\
                 Content-Disposition: attachment; filename=\"message.eml\"\r\n\r\n"
            )
            .as_bytes(),
        );
        out.extend_from_slice(m);
        if !m.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_spam::mime;

    #[test]
    fn a_notice_with_the_message_attached() {
        let n = Notice {
            to: "admin@example.org".into(),
            subject: "Virus found:\r\nBcc: x Eicar".into(),
            text: "line one\nline two".into(),
            attached: Some(b"Subject: orig\r\n\r\nbody".to_vec()),
        };
        let raw = notice_message(
            &n,
            "mx.example.org",
            "abc123",
            time::OffsetDateTime::UNIX_EPOCH,
        );
        let text = String::from_utf8(raw.clone()).unwrap();
        assert!(text.contains("\r\nSubject: Virus found:Bcc: x Eicar\r\n"));
        assert!(text.contains("Auto-Submitted: auto-generated\r\n"));
        let mut leaves = Vec::new();
        mime::walk(&raw, |p| {
            if let Some(b) = p.body {
                leaves.push((p.content_type.mime, String::from_utf8_lossy(b).to_string()));
            }
        });
        assert_eq!(
            leaves[0],
            ("text/plain".into(), "line one\r\nline two".into())
        );
        assert_eq!(leaves.last().unwrap().1, "body");
    }
}
