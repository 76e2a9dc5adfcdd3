//! Personal address books (issue 20 item 4): each user's contacts, which
//! only that user sees. A contact is a name, its parts, addresses, phone
//! numbers, an organisation and a note — what vCard import and export
//! (in the webmail crate) carry. Schema v20 also holds the webmail
//! preferences (webmail_prefs.rs), one migration for the two.

use crate::{Store, StoreError, UserId};
use rusqlite::params;
use serde::{Deserialize, Serialize};

pub(crate) const SCHEMA_V20: &str = r#"
BEGIN;
CREATE TABLE IF NOT EXISTS contacts (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    family TEXT NOT NULL DEFAULT '',
    given TEXT NOT NULL DEFAULT '',
    emails TEXT NOT NULL DEFAULT '',
    phones TEXT NOT NULL DEFAULT '',
    org TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS contacts_user ON contacts(user_id, name);
CREATE TABLE IF NOT EXISTS webmail_prefs (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    prefs TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS webmail_image_senders (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    sender TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (user_id, sender)
);
PRAGMA user_version = 20;
COMMIT;
"#;

/// Contacts one user may keep; an import that would pass it is refused whole.
pub const MAX_CONTACTS: usize = 10_000;
/// Addresses (and, apart, phone numbers) of one contact.
pub const MAX_CONTACT_VALUES: usize = 20;
/// Characters of one field (a note may be long, a name is not).
pub const MAX_FIELD_CHARS: usize = 4_000;

/// One entry of an address book (`id` 0 for one not stored yet).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Contact {
    pub id: i64,
    /// The formatted name (vCard FN).
    pub name: String,
    pub family: String,
    pub given: String,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub org: String,
    pub note: String,
}

impl Contact {
    /// Refuses what the store would not keep: no name and no address,
    /// control characters in a value list, a field past its limit.
    pub fn check(&self) -> Result<(), StoreError> {
        let bad = |why: String| Err(StoreError::Invalid(why));
        if self.name.trim().is_empty() && self.emails.is_empty() {
            return bad("a contact needs a name or an address".into());
        }
        if self.emails.len() > MAX_CONTACT_VALUES || self.phones.len() > MAX_CONTACT_VALUES {
            return bad(format!(
                "at most {MAX_CONTACT_VALUES} addresses and {MAX_CONTACT_VALUES} phone numbers"
            ));
        }
        let singles = [&self.name, &self.family, &self.given, &self.org];
        let lists = self.emails.iter().chain(&self.phones);
        for v in singles.into_iter().chain(lists) {
            if v.chars().any(char::is_control) {
                return bad("a name, address or number has a control character".into());
            }
        }
        let all = [&self.name, &self.family, &self.given, &self.org, &self.note];
        if all.iter().any(|v| v.chars().count() > MAX_FIELD_CHARS) {
            return bad(format!(
                "a field is longer than {MAX_FIELD_CHARS} characters"
            ));
        }
        if let Some(e) = self.emails.iter().find(|e| !e.contains('@')) {
            return bad(format!("`{e}` is not an address"));
        }
        Ok(())
    }

    /// The name shown: FN, else the given and family names, else the address.
    fn display_name(&self) -> String {
        let name = self.name.trim();
        if !name.is_empty() {
            return name.to_string();
        }
        let parts = format!("{} {}", self.given.trim(), self.family.trim());
        match parts.trim() {
            "" => self.emails.first().cloned().unwrap_or_default(),
            p => p.to_string(),
        }
    }
}

/// A stored list column: one value a line.
fn join(values: &[String]) -> String {
    values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn split(column: String) -> Vec<String> {
    column.lines().map(str::to_string).collect()
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Contact> {
    Ok(Contact {
        id: r.get(0)?,
        name: r.get(1)?,
        family: r.get(2)?,
        given: r.get(3)?,
        emails: split(r.get(4)?),
        phones: split(r.get(5)?),
        org: r.get(6)?,
        note: r.get(7)?,
    })
}

const COLUMNS: &str = "id, name, family, given, emails, phones, org, note";

/// `%text%` for LIKE, with the wildcards in `text` taken literally.
/// A LIKE pattern matching `text` anywhere, `%`, `_` and `\\` taken literally
/// (used with `ESCAPE '\\'`).
pub fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

impl Store {
    /// `user`'s contacts, by name.
    pub fn contacts(&self, user: UserId) -> Result<Vec<Contact>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM contacts WHERE user_id = ?1 ORDER BY name COLLATE NOCASE, id"
        ))?;
        let rows = stmt.query_map([user.0], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Adds `new` to `user`'s book in one transaction (an import is all or
    /// nothing); their ids, in order.
    pub fn contacts_add(&self, user: UserId, new: &[Contact]) -> Result<Vec<i64>, StoreError> {
        for c in new {
            c.check()?;
        }
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let have: i64 = tx.query_row(
            "SELECT COUNT(*) FROM contacts WHERE user_id = ?1",
            [user.0],
            |r| r.get(0),
        )?;
        if have as usize + new.len() > MAX_CONTACTS {
            return Err(StoreError::Invalid(format!(
                "an address book holds at most {MAX_CONTACTS} contacts ({have} now, {} more)",
                new.len()
            )));
        }
        let mut ids = Vec::with_capacity(new.len());
        {
            let mut insert = tx.prepare(
                "INSERT INTO contacts (user_id, name, family, given, emails, phones, org, note)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for c in new {
                insert.execute(params![
                    user.0,
                    c.display_name(),
                    c.family.trim(),
                    c.given.trim(),
                    join(&c.emails),
                    join(&c.phones),
                    c.org.trim(),
                    c.note,
                ])?;
                ids.push(tx.last_insert_rowid());
            }
        }
        tx.commit()?;
        Ok(ids)
    }

    /// Replaces contact `c.id` of `user` (another user's is not found).
    pub fn contact_update(&self, user: UserId, c: &Contact) -> Result<(), StoreError> {
        c.check()?;
        let n = self.conn().execute(
            "UPDATE contacts SET name = ?3, family = ?4, given = ?5, emails = ?6, phones = ?7, org = ?8, note = ?9
             WHERE id = ?1 AND user_id = ?2",
            params![
                c.id,
                user.0,
                c.display_name(),
                c.family.trim(),
                c.given.trim(),
                join(&c.emails),
                join(&c.phones),
                c.org.trim(),
                c.note,
            ],
        )?;
        match n {
            0 => Err(StoreError::NotFound(format!("contact {}", c.id))),
            _ => Ok(()),
        }
    }

    pub fn contact_delete(&self, user: UserId, id: i64) -> Result<(), StoreError> {
        let n = self.conn().execute(
            "DELETE FROM contacts WHERE id = ?1 AND user_id = ?2",
            params![id, user.0],
        )?;
        match n {
            0 => Err(StoreError::NotFound(format!("contact {id}"))),
            _ => Ok(()),
        }
    }

    /// `user`'s contact with address `email`, if any.
    pub fn contact_by_email(&self, user: UserId, email: &str) -> Result<Option<i64>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare(
            "SELECT id, emails FROM contacts WHERE user_id = ?1 AND emails LIKE ?2 ESCAPE '\\'",
        )?;
        let mut rows = stmt.query(params![user.0, like_pattern(email)])?;
        while let Some(r) = rows.next()? {
            let emails: String = r.get(1)?;
            if emails.lines().any(|e| e.eq_ignore_ascii_case(email)) {
                return Ok(Some(r.get(0)?));
            }
        }
        Ok(None)
    }

    /// Up to `limit` of `user`'s contacts whose name or address contains `text`.
    pub fn contacts_matching(
        &self,
        user: UserId,
        text: &str,
        limit: usize,
    ) -> Result<Vec<Contact>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM contacts WHERE user_id = ?1
             AND (name LIKE ?2 ESCAPE '\\' OR emails LIKE ?2 ESCAPE '\\')
             ORDER BY name COLLATE NOCASE LIMIT ?3"
        ))?;
        let rows = stmt.query_map(params![user.0, like_pattern(text), limit as i64], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::setup;

    fn carol() -> Contact {
        Contact {
            name: "Carol Example".into(),
            emails: vec!["carol@example.net".into()],
            phones: vec!["+1 555 0100".into()],
            ..Contact::default()
        }
    }

    #[test]
    fn a_book_is_its_owners_only() {
        let (_d, store, alice, bob) = setup();
        let [id] = store.contacts_add(alice, &[carol()]).unwrap()[..] else {
            panic!()
        };
        let list = store.contacts(alice).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].emails, ["carol@example.net"]);
        assert!(store.contacts(bob).unwrap().is_empty());
        assert_eq!(
            store.contact_by_email(alice, "CAROL@example.net").unwrap(),
            Some(id)
        );
        assert_eq!(
            store.contact_by_email(bob, "carol@example.net").unwrap(),
            None
        );
        let mut edited = Contact { id, ..carol() };
        edited.org = "Acme".into();
        assert!(store.contact_update(bob, &edited).is_err(), "not bob's");
        store.contact_update(alice, &edited).unwrap();
        assert_eq!(store.contacts(alice).unwrap()[0].org, "Acme");
        assert!(store.contact_delete(bob, id).is_err());
        store.contact_delete(alice, id).unwrap();
        assert!(store.contacts(alice).unwrap().is_empty());
    }

    #[test]
    fn matching_takes_wildcards_literally() {
        let (_d, store, alice, _) = setup();
        store.contacts_add(alice, &[carol()]).unwrap();
        assert_eq!(store.contacts_matching(alice, "caro", 10).unwrap().len(), 1);
        assert_eq!(
            store
                .contacts_matching(alice, "EXAMPLE.NET", 10)
                .unwrap()
                .len(),
            1
        );
        assert!(store.contacts_matching(alice, "%", 10).unwrap().is_empty());
        assert!(store
            .contacts_matching(alice, "c_rol", 10)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn the_book_is_bounded() {
        let (_d, store, alice, _) = setup();
        let many = vec![carol(); MAX_CONTACTS];
        store.contacts_add(alice, &many).unwrap();
        let err = store.contacts_add(alice, &[carol()]).unwrap_err();
        assert!(err.to_string().contains("10000"), "{err}");
        assert_eq!(store.contacts(alice).unwrap().len(), MAX_CONTACTS);
    }

    #[test]
    fn contacts_are_checked() {
        assert!(Contact::default().check().is_err(), "nothing at all");
        let bad = Contact {
            name: "x".into(),
            emails: vec!["not-an-address".into()],
            ..Contact::default()
        };
        assert!(bad.check().is_err());
        let long = Contact {
            name: "x".repeat(MAX_FIELD_CHARS + 1),
            ..Contact::default()
        };
        assert!(long.check().is_err());
        let ok = Contact {
            name: "x".repeat(MAX_FIELD_CHARS),
            emails: vec!["a@b.test".into(); MAX_CONTACT_VALUES],
            phones: vec!["1".into(); MAX_CONTACT_VALUES],
            ..Contact::default()
        };
        assert!(ok.check().is_ok());
        let mut many = ok.clone();
        many.emails.push("a@b.test".into());
        assert!(many.check().is_err());
        let mut many = ok;
        many.phones.push("1".into());
        assert!(many.check().is_err());
    }
}
