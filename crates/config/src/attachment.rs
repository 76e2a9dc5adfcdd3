//! `[attachment]`: the attachment filter (SPEC V4, issue 17 item 6). The
//! rules themselves live in the database (`postern attachment rule add`);
//! this is what a blocked attachment gets.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Attachment {
    pub action: AttachmentAction,
    /// Tell the sender what was blocked; authenticated senders only (a
    /// notice to an unauthenticated sender would be backscatter).
    pub warn_sender: bool,
    /// An address told of each blocked attachment; "" for none.
    pub notify_admin: String,
    /// What that notice carries of the message.
    pub forward: crate::av::Forward,
}

impl Attachment {
    pub fn validate(&self) -> Result<(), String> {
        crate::av::valid_notify("attachment.notify_admin", &self.notify_admin)
    }
}

/// `attachment.action`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentAction {
    /// Delivered with the attachment replaced by a text part.
    #[default]
    Replace,
    /// Refused at the end of DATA/BDAT: `554 5.7.1 Attachment blocked: NAME`.
    Reject,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    #[test]
    fn defaults_and_parsing() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.attachment.action, AttachmentAction::Replace);
        let c = Config::parse("[attachment]\naction = \"reject\"\n").unwrap();
        assert_eq!(c.attachment.action, AttachmentAction::Reject);
        assert!(Config::parse("[attachment]\naction = \"strip\"\n").is_err());
        assert!(Config::parse("[attachment]\nactio = \"reject\"\n").is_err());
        let c = Config::parse("[attachment]\nwarn_sender = true\nnotify_admin = \"a@example.org\"\nforward = \"original\"\n").unwrap();
        assert!(c.attachment.warn_sender);
        assert_eq!(c.attachment.forward, crate::av::Forward::Original);
        let e = Config::parse("[attachment]\nnotify_admin = \"nobody\"\n").unwrap_err();
        assert!(e.contains("attachment.notify_admin"), "{e}");
    }
}
