//! Webmail settings of one user (issue 20 item 5): a signature and display
//! preferences (one JSON document a user, table of schema v20 in
//! contacts.rs), the senders whose remote images the user always allows,
//! and the identities the sender-identity rules let the user send as.

use crate::{Store, StoreError, UserId};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

/// Characters of a signature.
pub const MAX_SIGNATURE_CHARS: usize = 2_000;
/// Rows on a page of the message list, at most.
pub const MAX_PAGE_SIZE: u32 = 200;
/// Senders whose remote images one user always allows.
pub const MAX_IMAGE_SENDERS: usize = 1_000;

/// What a user chose; the defaults are what a new user sees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebmailPrefs {
    /// Plain text, added below a new message.
    pub signature: String,
    pub page_size: u32,
    /// Open folders grouped in threads.
    pub threads: bool,
    /// Show a message's HTML when it has both (else its plain text).
    pub prefer_html: bool,
}

impl Default for WebmailPrefs {
    fn default() -> Self {
        WebmailPrefs {
            signature: String::new(),
            page_size: 50,
            threads: false,
            prefer_html: true,
        }
    }
}

impl WebmailPrefs {
    pub fn check(&self) -> Result<(), StoreError> {
        if self.signature.chars().count() > MAX_SIGNATURE_CHARS {
            return Err(StoreError::Invalid(format!(
                "a signature has at most {MAX_SIGNATURE_CHARS} characters"
            )));
        }
        if self.page_size == 0 || self.page_size > MAX_PAGE_SIZE {
            return Err(StoreError::Invalid(format!(
                "a page holds 1 to {MAX_PAGE_SIZE} messages"
            )));
        }
        Ok(())
    }
}

impl Store {
    pub fn webmail_prefs(&self, user: UserId) -> Result<WebmailPrefs, StoreError> {
        let json: Option<String> = self
            .reader()?
            .query_row(
                "SELECT prefs FROM webmail_prefs WHERE user_id = ?1",
                [user.0],
                |r| r.get(0),
            )
            .optional()?;
        // A document from another version that no longer reads: the defaults.
        Ok(json
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default())
    }

    pub fn webmail_prefs_set(&self, user: UserId, prefs: &WebmailPrefs) -> Result<(), StoreError> {
        prefs.check()?;
        let json = serde_json::to_string(prefs).map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.conn().execute(
            "INSERT INTO webmail_prefs (user_id, prefs) VALUES (?1, ?2)
             ON CONFLICT (user_id) DO UPDATE SET prefs = excluded.prefs",
            params![user.0, json],
        )?;
        Ok(())
    }

    /// Remote images from `sender` are shown to `user` from now on.
    pub fn image_sender_allow(&self, user: UserId, sender: &str) -> Result<(), StoreError> {
        if !sender.contains('@') || sender.chars().any(char::is_control) {
            return Err(StoreError::Invalid(format!("`{sender}` is not an address")));
        }
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let (have, known): (i64, bool) = tx.query_row(
            "SELECT COUNT(*), COALESCE(SUM(sender = ?2), 0) > 0 FROM webmail_image_senders WHERE user_id = ?1",
            params![user.0, sender],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if !known && have as usize >= MAX_IMAGE_SENDERS {
            return Err(StoreError::Invalid(format!(
                "images are allowed for at most {MAX_IMAGE_SENDERS} senders"
            )));
        }
        tx.execute(
            "INSERT OR IGNORE INTO webmail_image_senders (user_id, sender) VALUES (?1, ?2)",
            params![user.0, sender],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn image_sender_allowed(&self, user: UserId, sender: &str) -> Result<bool, StoreError> {
        let hit: Option<i64> = self
            .reader()?
            .query_row(
                "SELECT 1 FROM webmail_image_senders WHERE user_id = ?1 AND sender = ?2",
                params![user.0, sender],
                |r| r.get(0),
            )
            .optional()?;
        Ok(hit.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::setup;

    #[test]
    fn prefs_default_then_keep_what_was_set() {
        let (_d, store, alice, bob) = setup();
        assert_eq!(store.webmail_prefs(alice).unwrap(), WebmailPrefs::default());
        let p = WebmailPrefs {
            signature: "-- \nAlice".into(),
            page_size: 20,
            threads: true,
            prefer_html: false,
        };
        store.webmail_prefs_set(alice, &p).unwrap();
        assert_eq!(store.webmail_prefs(alice).unwrap(), p);
        assert_eq!(store.webmail_prefs(bob).unwrap(), WebmailPrefs::default());
        let long = WebmailPrefs {
            signature: "x".repeat(MAX_SIGNATURE_CHARS + 1),
            ..p.clone()
        };
        assert!(store.webmail_prefs_set(alice, &long).is_err());
        let big = WebmailPrefs {
            page_size: MAX_PAGE_SIZE + 1,
            ..p.clone()
        };
        assert!(store.webmail_prefs_set(alice, &big).is_err());
    }

    #[test]
    fn image_senders_are_per_user_and_bounded() {
        let (_d, store, alice, bob) = setup();
        store.image_sender_allow(alice, "news@shop.test").unwrap();
        assert!(store.image_sender_allowed(alice, "NEWS@shop.test").unwrap());
        assert!(!store.image_sender_allowed(bob, "news@shop.test").unwrap());
        for i in 1..MAX_IMAGE_SENDERS {
            store
                .image_sender_allow(alice, &format!("s{i}@x.test"))
                .unwrap();
        }
        store.image_sender_allow(alice, "news@shop.test").unwrap();
        assert!(store.image_sender_allow(alice, "one-more@x.test").is_err());
    }
}
