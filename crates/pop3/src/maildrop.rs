//! The maildrop as a session sees it: the INBOX snapshot taken at login,
//! numbered from 1 (RFC 1939 §5), with the deletion marks that only QUIT
//! carries out (RFC 1939 §6). Mail arriving during the session is not shown.

use crate::reply::{self, Reply};
use postern_store::mailbox::MessageInfo;
use postern_store::BlobId;

/// One message of the snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub uid: u32,
    /// The unique-id listing (RFC 1939 §7 UIDL): the store's GUID, stable for life.
    pub guid: String,
    pub blob: BlobId,
    pub size: u64,
    deleted: bool,
}

/// Why a message number names nothing usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageError {
    NoSuchMessage,
    Deleted,
}

impl From<MessageError> for Reply {
    fn from(e: MessageError) -> Reply {
        match e {
            MessageError::NoSuchMessage => reply::NO_SUCH_MESSAGE,
            MessageError::Deleted => reply::ALREADY_DELETED,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Maildrop {
    entries: Vec<Entry>,
}

impl Maildrop {
    /// The snapshot of a folder's messages, in UID order (oldest first).
    pub fn new(messages: Vec<MessageInfo>) -> Maildrop {
        let entries = messages
            .into_iter()
            .map(|m| Entry {
                uid: m.uid,
                guid: m.guid,
                blob: m.blob,
                size: m.size,
                deleted: false,
            })
            .collect();
        Maildrop { entries }
    }

    /// A message by its number, unless it is out of range or marked deleted.
    pub fn get(&self, n: u32) -> Result<&Entry, MessageError> {
        let entry = (n as usize)
            .checked_sub(1)
            .and_then(|i| self.entries.get(i))
            .ok_or(MessageError::NoSuchMessage)?;
        if entry.deleted {
            return Err(MessageError::Deleted);
        }
        Ok(entry)
    }

    /// Marks a message for deletion at QUIT (RFC 1939 §5 DELE).
    pub fn delete(&mut self, n: u32) -> Result<(), MessageError> {
        self.get(n)?;
        self.entries[n as usize - 1].deleted = true;
        Ok(())
    }

    /// Unmarks every message (RFC 1939 §5 RSET).
    pub fn reset(&mut self) {
        for e in &mut self.entries {
            e.deleted = false;
        }
    }

    /// Messages not marked deleted, with their numbers.
    pub fn live(&self) -> impl Iterator<Item = (u32, &Entry)> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.deleted)
            .map(|(i, e)| (i as u32 + 1, e))
    }

    /// Count and total size of the messages not marked deleted (RFC 1939 §5 STAT).
    pub fn stat(&self) -> (usize, u64) {
        self.live()
            .fold((0, 0), |(n, size), (_, e)| (n + 1, size + e.size))
    }

    /// UIDs of the messages marked deleted, for the expunge at QUIT.
    pub fn deleted_uids(&self) -> Vec<u32> {
        self.entries
            .iter()
            .filter(|e| e.deleted)
            .map(|e| e.uid)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(uid: u32, size: u64) -> MessageInfo {
        MessageInfo {
            uid,
            guid: format!("g{uid}"),
            blob: BlobId::parse(&format!("{uid:04x}")).unwrap(),
            size,
            internal_date: 0,
            flags: String::new(),
            modseq: 1,
        }
    }

    #[test]
    fn numbering_and_marks() {
        let mut m = Maildrop::new(vec![info(3, 10), info(7, 20), info(9, 30)]);
        assert_eq!(m.stat(), (3, 60));
        assert_eq!(m.get(2).unwrap().uid, 7);
        assert_eq!(m.get(0), Err(MessageError::NoSuchMessage));
        assert_eq!(m.get(4), Err(MessageError::NoSuchMessage));
        assert_eq!(m.get(u32::MAX), Err(MessageError::NoSuchMessage));

        m.delete(2).unwrap();
        assert_eq!(m.delete(2), Err(MessageError::Deleted));
        assert_eq!(m.get(2), Err(MessageError::Deleted));
        assert_eq!(m.delete(5), Err(MessageError::NoSuchMessage));
        assert_eq!(m.stat(), (2, 40));
        assert_eq!(
            m.live().map(|(n, e)| (n, e.uid)).collect::<Vec<_>>(),
            vec![(1, 3), (3, 9)]
        );
        m.delete(3).unwrap();
        assert_eq!(m.deleted_uids(), vec![7, 9]);

        m.reset();
        assert_eq!(m.stat(), (3, 60));
        assert!(m.deleted_uids().is_empty());
        assert_eq!(Reply::from(MessageError::Deleted), reply::ALREADY_DELETED);
    }

    #[test]
    fn empty_maildrop() {
        let mut m = Maildrop::default();
        assert_eq!(m.stat(), (0, 0));
        assert_eq!(m.delete(1), Err(MessageError::NoSuchMessage));
        assert!(m.deleted_uids().is_empty());
    }
}
