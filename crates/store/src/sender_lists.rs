//! Sender white- and blacklists (SPEC P1, issue 16 item 1): entries are an
//! address (`someone@example.org`) or a whole domain (`@example.org`),
//! server-wide or one user's (`postern spam whitelist|blacklist ... --user`).
//! The SMTP session asks [`Store::sender_listed`] once per MAIL FROM.

use crate::{Store, StoreError, UserId};
use rusqlite::params;

/// Which list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SenderList {
    White,
    Black,
}

impl SenderList {
    fn key(self) -> &'static str {
        match self {
            SenderList::White => "white",
            SenderList::Black => "black",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SenderList::White => "whitelist",
            SenderList::Black => "blacklist",
        }
    }
}

/// Where a sender is listed: server-wide, and by which users.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SenderListed {
    pub white: bool,
    pub black: bool,
    pub white_users: Vec<UserId>,
    pub black_users: Vec<UserId>,
}

impl SenderListed {
    pub fn is_empty(&self) -> bool {
        *self == SenderListed::default()
    }
}

/// An entry as stored: lower case, `@domain` or `local@domain`.
pub fn normalise_entry(entry: &str) -> Result<String, StoreError> {
    let e = entry.trim().to_lowercase();
    let ok = match e.rsplit_once('@') {
        Some((_, domain)) => {
            !domain.is_empty()
                && !domain.contains(char::is_whitespace)
                && !e[..e.len() - domain.len() - 1].contains('@')
        }
        None => false,
    };
    if !ok {
        return Err(StoreError::Invalid(format!(
            "`{entry}` is neither an address (user@example.org) nor a domain (@example.org)"
        )));
    }
    Ok(e)
}

impl Store {
    /// The id for `user` (None: server-wide); NotFound for an unknown user.
    fn list_owner(&self, user: Option<&str>) -> Result<i64, StoreError> {
        match user {
            None => Ok(0),
            Some(u) => self
                .account_id(u)?
                .map(|id| id.0)
                .ok_or_else(|| StoreError::NotFound(format!("user {u}"))),
        }
    }

    /// Adds an entry; Exists when it is there already.
    pub fn sender_list_add(
        &self,
        list: SenderList,
        entry: &str,
        user: Option<&str>,
    ) -> Result<String, StoreError> {
        let e = normalise_entry(entry)?;
        let owner = self.list_owner(user)?;
        let n = self.conn().execute(
            "INSERT OR IGNORE INTO sender_lists (list, user_id, pattern) VALUES (?1, ?2, ?3)",
            params![list.key(), owner, e],
        )?;
        if n == 0 {
            return Err(StoreError::Exists(format!("{e} in the {}", list.name())));
        }
        Ok(e)
    }

    /// Removes an entry; NotFound when it is not there.
    pub fn sender_list_del(
        &self,
        list: SenderList,
        entry: &str,
        user: Option<&str>,
    ) -> Result<String, StoreError> {
        let e = normalise_entry(entry)?;
        let owner = self.list_owner(user)?;
        let n = self.conn().execute(
            "DELETE FROM sender_lists WHERE list = ?1 AND user_id = ?2 AND pattern = ?3",
            params![list.key(), owner, e],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("{e} in the {}", list.name())));
        }
        Ok(e)
    }

    /// The entries of one list (server-wide, or `user`'s), sorted.
    pub fn sender_list(
        &self,
        list: SenderList,
        user: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        let owner = self.list_owner(user)?;
        let conn = self.reader()?;
        let mut st = conn.prepare(
            "SELECT pattern FROM sender_lists WHERE list = ?1 AND user_id = ?2 ORDER BY pattern",
        )?;
        let rows = st.query_map(params![list.key(), owner], |r| r.get(0))?;
        Ok(rows.collect::<Result<Vec<String>, _>>()?)
    }

    /// Where `sender` (its address, or its domain) is listed.
    pub fn sender_listed(&self, sender: &str) -> Result<SenderListed, StoreError> {
        let mut out = SenderListed::default();
        let Some((_, domain)) = sender.rsplit_once('@') else {
            return Ok(out);
        };
        let conn = self.reader()?;
        let mut st =
            conn.prepare("SELECT list, user_id FROM sender_lists WHERE pattern IN (?1, ?2)")?;
        let rows = st.query_map(
            params![sender.to_lowercase(), format!("@{}", domain.to_lowercase())],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
        )?;
        for row in rows {
            let (list, user) = row?;
            let white = list == "white";
            match (white, user) {
                (true, 0) => out.white = true,
                (false, 0) => out.black = true,
                (true, u) => out.white_users.push(UserId(u)),
                (false, u) => out.black_users.push(UserId(u)),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_added_listed_matched_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let alice = crate::tests::add_user(&store, "alice@example.org", 0);
        store
            .sender_list_add(SenderList::Black, "Spammer@Bad.example", None)
            .unwrap();
        store
            .sender_list_add(
                SenderList::White,
                "@friends.example",
                Some("alice@example.org"),
            )
            .unwrap();
        assert!(matches!(
            store.sender_list_add(SenderList::Black, "spammer@bad.example", None),
            Err(StoreError::Exists(_))
        ));
        assert!(matches!(
            store.sender_list_add(SenderList::White, "x@y.example", Some("nobody@example.org")),
            Err(StoreError::NotFound(_))
        ));
        assert!(store
            .sender_list_add(SenderList::White, "no-at-sign", None)
            .is_err());
        assert_eq!(
            store.sender_list(SenderList::Black, None).unwrap(),
            ["spammer@bad.example"]
        );
        assert!(store
            .sender_list(SenderList::White, None)
            .unwrap()
            .is_empty());
        let got = store.sender_listed("SPAMMER@bad.example").unwrap();
        assert!(got.black && !got.white && got.white_users.is_empty());
        let got = store.sender_listed("bob@Friends.example").unwrap();
        assert_eq!(got.white_users, [alice]);
        assert!(store.sender_listed("").unwrap().is_empty());
        store
            .sender_list_del(SenderList::Black, "spammer@bad.example", None)
            .unwrap();
        assert!(store
            .sender_listed("spammer@bad.example")
            .unwrap()
            .is_empty());
        // A user's entries go with the user.
        crate::tests::del_user(&store, alice);
        assert!(store
            .sender_listed("bob@friends.example")
            .unwrap()
            .is_empty());
    }
}
