//! `[attachment]`: the attachment filter (SPEC V4, issue 17 item 6). The
//! rules themselves live in the database (`postern attachment rule add`);
//! this is what a blocked attachment gets.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Attachment {
    pub action: AttachmentAction,
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
    }
}
