//! The webmail's own data behind an async seam ([`WebmailStore`]): address
//! books and settings (the directory lookups compose needs are in
//! postern-directory: identity.rs, suggest.rs). The SQLite
//! backend runs each call on its blocking pool, as [`crate::MailStore`]'s.

use crate::api::StoreFuture;
use crate::contacts::Contact;
use crate::webmail_prefs::WebmailPrefs;
use crate::{Store, UserId};

/// What the webmail keeps per user besides mail.
pub trait WebmailStore: Send + Sync + 'static {
    fn contacts(&self, user: UserId) -> StoreFuture<'_, Vec<Contact>>;
    /// All or nothing; the new ids in order.
    fn contacts_add(&self, user: UserId, new: Vec<Contact>) -> StoreFuture<'_, Vec<i64>>;
    fn contact_update(&self, user: UserId, contact: Contact) -> StoreFuture<'_, ()>;
    fn contact_delete(&self, user: UserId, id: i64) -> StoreFuture<'_, ()>;
    fn contact_by_email(&self, user: UserId, email: String) -> StoreFuture<'_, Option<i64>>;
    fn contacts_matching(
        &self,
        user: UserId,
        text: String,
        limit: usize,
    ) -> StoreFuture<'_, Vec<Contact>>;
    fn webmail_prefs(&self, user: UserId) -> StoreFuture<'_, WebmailPrefs>;
    fn webmail_prefs_set(&self, user: UserId, prefs: WebmailPrefs) -> StoreFuture<'_, ()>;
    fn image_sender_allow(&self, user: UserId, sender: String) -> StoreFuture<'_, ()>;
    fn image_sender_allowed(&self, user: UserId, sender: String) -> StoreFuture<'_, bool>;
}

impl WebmailStore for Store {
    fn contacts(&self, user: UserId) -> StoreFuture<'_, Vec<Contact>> {
        self.blocking(move |s| Store::contacts(s, user))
    }

    fn contacts_add(&self, user: UserId, new: Vec<Contact>) -> StoreFuture<'_, Vec<i64>> {
        self.blocking(move |s| Store::contacts_add(s, user, &new))
    }

    fn contact_update(&self, user: UserId, contact: Contact) -> StoreFuture<'_, ()> {
        self.blocking(move |s| Store::contact_update(s, user, &contact))
    }

    fn contact_delete(&self, user: UserId, id: i64) -> StoreFuture<'_, ()> {
        self.blocking(move |s| Store::contact_delete(s, user, id))
    }

    fn contact_by_email(&self, user: UserId, email: String) -> StoreFuture<'_, Option<i64>> {
        self.blocking(move |s| Store::contact_by_email(s, user, &email))
    }

    fn contacts_matching(
        &self,
        user: UserId,
        text: String,
        limit: usize,
    ) -> StoreFuture<'_, Vec<Contact>> {
        self.blocking(move |s| Store::contacts_matching(s, user, &text, limit))
    }

    fn webmail_prefs(&self, user: UserId) -> StoreFuture<'_, WebmailPrefs> {
        self.blocking(move |s| Store::webmail_prefs(s, user))
    }

    fn webmail_prefs_set(&self, user: UserId, prefs: WebmailPrefs) -> StoreFuture<'_, ()> {
        self.blocking(move |s| Store::webmail_prefs_set(s, user, &prefs))
    }

    fn image_sender_allow(&self, user: UserId, sender: String) -> StoreFuture<'_, ()> {
        self.blocking(move |s| Store::image_sender_allow(s, user, &sender))
    }

    fn image_sender_allowed(&self, user: UserId, sender: String) -> StoreFuture<'_, bool> {
        self.blocking(move |s| Store::image_sender_allowed(s, user, &sender))
    }
}
