//! The archive as auditors see it over IMAP (SPEC M8, issue 21 item 4): a
//! [`MailStore`] in front of the SQLite one that adds, for users with the
//! `auditor` role only, one read-only folder per period, `Archive/2026-12`
//! (archive.rs), and passes everything else through unchanged.
//!
//! A period folder is a virtual mailbox: its [`MailboxId`] is negative (no
//! table row has one), its UIDVALIDITY is fixed by its label
//! ([`period_code`]), its UIDs are the archive entries' ids (never reused:
//! AUTOINCREMENT) and so is their MODSEQ, so a new entry shows up in a
//! selected folder as any delivery does. Bodies are the archived copies
//! (envelope header fields, then the message), under blob ids of their own
//! (`archive-ID`). Every write into or out of a period folder — flags,
//! expunge, APPEND, COPY, MOVE, DELETE, RENAME — is refused with
//! [`StoreError::NoPerm`] (IMAP NO [NOPERM], RFC 5530); other users get
//! nothing of it (`Archive/…` is then just a name among their folders).

use crate::api::{AppendResult, Body, BodyFiles, MailStore, ScanJob, StoreFuture};
use crate::append::Upload;
use crate::archive::{header_block, ArchiveEntry, ArchiveQuery};
use crate::mailbox::MessageInfo;
use crate::{
    BlobId, BlobWriter, Change, Changes, Committed, Copied, Delivery, FlagOp, FlagUpdate, Folder,
    InboxRenamed, MailboxId, SpamTraining, Store, StoreError, UserId,
};
use rusqlite::OptionalExtension;
use tokio::sync::broadcast;

/// The folder holding the periods.
pub const ARCHIVE_ROOT: &str = "Archive/";
/// Blob ids of archived copies start with this (real ones are hex).
const BLOB_PREFIX: &str = "archive-";

impl MailboxId {
    /// A period folder of the archive (archive_view.rs), not a table row.
    pub fn is_archive(self) -> bool {
        self.0 < 0
    }
}

/// A period label's number: its UIDVALIDITY, and minus its mailbox id.
/// `2026-12` → 1202612, `2026-W50` → 2202650, `2026-12-07` → 120261207.
pub fn period_code(label: &str) -> Option<u32> {
    let num = |s: &str| -> Option<u32> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };
    let parts: Vec<&str> = label.split('-').collect();
    match parts[..] {
        [y, w] if w.starts_with('W') && y.len() == 4 && w.len() == 3 => {
            let (y, w) = (num(y)?, num(&w[1..])?);
            (1..=53).contains(&w).then_some(2_000_000 + y * 100 + w)
        }
        [y, m] if y.len() == 4 && m.len() == 2 => {
            let (y, m) = (num(y)?, num(m)?);
            (1..=12).contains(&m).then_some(1_000_000 + y * 100 + m)
        }
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
            let (y, m, d) = (num(y)?, num(m)?, num(d)?);
            ((1..=12).contains(&m) && (1..=31).contains(&d))
                .then_some(100_000_000 + y * 10_000 + m * 100 + d)
        }
        _ => None,
    }
}

/// The label of a period folder's id: [`period_code`] backwards.
fn label_of(m: MailboxId) -> Option<String> {
    let code = u32::try_from(m.0.checked_neg()?).ok()?;
    let label = match code {
        100_000_000.. => {
            let d = code - 100_000_000;
            format!("{:04}-{:02}-{:02}", d / 10_000, d / 100 % 100, d % 100)
        }
        2_000_000.. => {
            let w = code - 2_000_000;
            format!("{:04}-W{:02}", w / 100, w % 100)
        }
        1_000_000.. => {
            let m = code - 1_000_000;
            format!("{:04}-{:02}", m / 100, m % 100)
        }
        _ => return None,
    };
    (period_code(&label) == Some(code)).then_some(label)
}

fn virtual_id(label: &str) -> Option<MailboxId> {
    period_code(label).map(|c| MailboxId(-i64::from(c)))
}

fn archive_blob(id: &BlobId) -> Option<i64> {
    id.as_str().strip_prefix(BLOB_PREFIX)?.parse().ok()
}

fn info(e: &ArchiveEntry) -> MessageInfo {
    MessageInfo {
        uid: e.id as u32,
        guid: format!("archive{}", e.id),
        blob: BlobId(format!("{BLOB_PREFIX}{}", e.id)),
        size: header_block(e).len() as u64 + e.size,
        internal_date: e.received,
        flags: String::new(),
        modseq: e.id as u64,
    }
}

fn refused() -> StoreError {
    StoreError::NoPerm("the archive is read-only".into())
}

impl Store {
    /// Whether `user` has the auditor role (postern-directory's admin_access.rs).
    pub fn is_auditor(&self, user: UserId) -> Result<bool, StoreError> {
        let conn = self.reader()?;
        let mut st = conn
            .prepare_cached("SELECT 1 FROM admin_roles WHERE user_id = ?1 AND role = 'auditor'")?;
        Ok(st.query_row([user.0], |_| Ok(())).optional()?.is_some())
    }

    /// The period folder `name` names for `user`, if they are an auditor.
    fn archive_folder(&self, user: UserId, name: &str) -> Result<Option<MailboxId>, StoreError> {
        let Some(label) = name.strip_prefix(ARCHIVE_ROOT) else {
            return Ok(None);
        };
        let Some(id) = virtual_id(label) else {
            return Ok(None);
        };
        if !self.is_auditor(user)? || self.archive_period_last(label)? == 0 {
            return Ok(None);
        }
        Ok(Some(id))
    }

    /// A period folder's entries after UID `after`, and its HIGHESTMODSEQ
    /// (its last UID; 1 when empty, as MODSEQ starts at 1, RFC 7162 §3.1.1).
    fn archive_snapshot(
        &self,
        m: MailboxId,
        after: u64,
    ) -> Result<(Vec<MessageInfo>, u64), StoreError> {
        let label = label_of(m).ok_or_else(|| StoreError::NotFound("mailbox".into()))?;
        let q = ArchiveQuery {
            after_id: Some(after as i64),
            period: Some(label.clone()),
            ..Default::default()
        };
        let msgs: Vec<MessageInfo> = self.archive_entries(&q)?.iter().map(info).collect();
        let highest = self.archive_period_last(&label)?.max(1) as u64;
        Ok((msgs, highest))
    }

    /// The archived copy behind an `archive-ID` blob id.
    fn archive_copy(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        match self.archive_entry(id)? {
            Some(e) => self.archive_message(&e),
            None => Ok(None),
        }
    }

    fn auditor_folders(&self, user: UserId) -> Result<Vec<Folder>, StoreError> {
        let mut folders = Store::folders(self, user)?;
        if self.is_auditor(user)? {
            for p in self.archive_periods()? {
                let Some(id) = virtual_id(&p) else { continue };
                let name = format!("{ARCHIVE_ROOT}{p}");
                folders.retain(|f| f.name != name);
                folders.push(Folder {
                    id,
                    name,
                    special_use: None,
                    subscribed: false,
                });
            }
        }
        Ok(folders)
    }
}

/// Bodies for SEARCH's scans: archived copies by their own ids, the rest
/// from the store.
struct ScanFiles<'a> {
    inner: &'a dyn BodyFiles,
    store: &'a Store,
}

impl BodyFiles for ScanFiles<'_> {
    fn read(&self, id: &BlobId) -> Result<Option<Vec<u8>>, StoreError> {
        match archive_blob(id) {
            Some(n) => self.store.archive_copy(n),
            None => self.inner.read(id),
        }
    }

    fn open(&self, id: &BlobId) -> Result<Option<Box<dyn std::io::Read + Send>>, StoreError> {
        match archive_blob(id) {
            Some(n) => Ok(self
                .store
                .archive_copy(n)?
                .map(|v| Box::new(std::io::Cursor::new(v)) as Box<dyn std::io::Read + Send>)),
            None => self.inner.open(id),
        }
    }
}

/// The store as IMAP sessions see it: the SQLite store plus, for auditors,
/// the archive's period folders.
#[derive(Clone)]
pub struct ArchiveView {
    store: Store,
}

impl ArchiveView {
    pub fn new(store: Store) -> ArchiveView {
        ArchiveView { store }
    }

    fn refuse<'a, T: Send + 'a>(&self) -> StoreFuture<'a, T> {
        Box::pin(async { Err(refused()) })
    }

    /// Whether `name` is a period folder `user` sees (so may not change).
    fn names_archive<'a>(&self, user: UserId, name: &str) -> StoreFuture<'a, bool> {
        let name = name.to_string();
        self.store
            .blocking(move |s| Ok(s.archive_folder(user, &name)?.is_some()))
    }
}

impl MailStore for ArchiveView {
    fn open_body<'a>(&'a self, id: &'a BlobId) -> StoreFuture<'a, Option<Body>> {
        let Some(n) = archive_blob(id) else {
            return MailStore::open_body(&self.store, id);
        };
        let copy = self.store.blocking(move |s| s.archive_copy(n));
        Box::pin(async move {
            Ok(copy.await?.map(|v| {
                let len = v.len() as u64;
                Body::new(Box::new(std::io::Cursor::new(v)), len)
            }))
        })
    }

    fn read_body<'a>(&'a self, id: &'a BlobId) -> StoreFuture<'a, Option<Vec<u8>>> {
        match archive_blob(id) {
            Some(n) => self.store.blocking(move |s| s.archive_copy(n)),
            None => MailStore::read_body(&self.store, id),
        }
    }

    fn scan(&self, job: ScanJob) -> StoreFuture<'_, ()> {
        let store = self.store.clone();
        MailStore::scan(
            &self.store,
            Box::new(move |inner: &dyn BodyFiles| {
                job(&ScanFiles {
                    inner,
                    store: &store,
                })
            }),
        )
    }

    fn create_blob(&self) -> StoreFuture<'_, BlobWriter> {
        MailStore::create_blob(&self.store)
    }

    fn commit(&self, delivery: Delivery) -> StoreFuture<'_, Committed> {
        MailStore::commit(&self.store, delivery)
    }

    fn commit_archived(
        &self,
        delivery: Delivery,
        archive: Option<crate::archive::ArchiveEnvelope>,
    ) -> StoreFuture<'_, Committed> {
        MailStore::commit_archived(&self.store, delivery, archive)
    }

    fn append_batch(
        &self,
        commands: Vec<(MailboxId, Vec<Upload>)>,
    ) -> StoreFuture<'_, Vec<AppendResult>> {
        if commands.iter().all(|(m, _)| !m.is_archive()) {
            return MailStore::append_batch(&self.store, commands);
        }
        // Each command into the archive is refused; the others go on.
        let (mine, theirs): (Vec<_>, Vec<_>) = commands
            .into_iter()
            .enumerate()
            .partition(|(_, (m, _))| m.is_archive());
        let order: Vec<usize> = theirs.iter().map(|(i, _)| *i).collect();
        let fut =
            MailStore::append_batch(&self.store, theirs.into_iter().map(|(_, c)| c).collect());
        Box::pin(async move {
            let mut done = fut.await?.into_iter();
            let mut out: Vec<(usize, AppendResult)> = order
                .into_iter()
                .map(|i| (i, done.next().unwrap_or(Err(StoreError::Unavailable))))
                .collect();
            out.extend(mine.into_iter().map(|(i, _)| (i, Err(refused()))));
            out.sort_by_key(|(i, _)| *i);
            Ok(out.into_iter().map(|(_, r)| r).collect())
        })
    }

    fn mailbox<'a>(&'a self, user: UserId, name: &'a str) -> StoreFuture<'a, Option<MailboxId>> {
        if !name.starts_with(ARCHIVE_ROOT) {
            return MailStore::mailbox(&self.store, user, name);
        }
        let name = name.to_string();
        self.store
            .quick_call(move |s| match s.archive_folder(user, &name)? {
                Some(id) => Ok(Some(id)),
                None => Store::mailbox(s, user, &name),
            })
    }

    fn mailbox_state(&self, mailbox: MailboxId) -> StoreFuture<'_, (u32, u32, u64)> {
        if !mailbox.is_archive() {
            return MailStore::mailbox_state(&self.store, mailbox);
        }
        self.store.blocking(move |s| {
            let label = label_of(mailbox).ok_or_else(|| StoreError::NotFound("mailbox".into()))?;
            let last = s.archive_period_last(&label)?;
            Ok(((-mailbox.0) as u32, last as u32 + 1, last.max(1) as u64))
        })
    }

    fn messages(&self, mailbox: MailboxId) -> StoreFuture<'_, Vec<MessageInfo>> {
        if !mailbox.is_archive() {
            return MailStore::messages(&self.store, mailbox);
        }
        self.store
            .blocking(move |s| Ok(s.archive_snapshot(mailbox, 0)?.0))
    }

    fn mailbox_counts(&self, mailbox: MailboxId) -> StoreFuture<'_, crate::MailboxCounts> {
        if !mailbox.is_archive() {
            return MailStore::mailbox_counts(&self.store, mailbox);
        }
        // Archived copies carry no flags: every one is unseen, none deleted.
        self.store.blocking(move |s| {
            let msgs = s.archive_snapshot(mailbox, 0)?.0;
            Ok(crate::MailboxCounts {
                messages: msgs.len() as u64,
                unseen: msgs.len() as u64,
                deleted: 0,
                size: msgs.iter().map(|m| m.size).sum(),
            })
        })
    }

    fn snapshot(&self, mailbox: MailboxId) -> StoreFuture<'_, (Vec<MessageInfo>, u64)> {
        if !mailbox.is_archive() {
            return MailStore::snapshot(&self.store, mailbox);
        }
        self.store.blocking(move |s| s.archive_snapshot(mailbox, 0))
    }

    fn changes_since(&self, mailbox: MailboxId, modseq: u64) -> StoreFuture<'_, Changes> {
        if !mailbox.is_archive() {
            return MailStore::changes_since(&self.store, mailbox, modseq);
        }
        self.store.blocking(move |s| {
            let (changed, highest) = s.archive_snapshot(mailbox, modseq)?;
            Ok(Changes {
                changed,
                vanished: Vec::new(),
                highest_modseq: highest,
            })
        })
    }

    fn usage(&self, user: UserId) -> StoreFuture<'_, (u64, u64)> {
        MailStore::usage(&self.store, user)
    }

    fn subscribe(&self) -> broadcast::Receiver<Change> {
        Store::subscribe(&self.store)
    }

    fn folders(&self, user: UserId) -> StoreFuture<'_, Vec<Folder>> {
        self.store.quick_call(move |s| s.auditor_folders(user))
    }

    fn create_folder<'a>(&'a self, user: UserId, name: &'a str) -> StoreFuture<'a, MailboxId> {
        let seen = self.names_archive(user, name);
        let create = MailStore::create_folder(&self.store, user, name);
        Box::pin(async move {
            if seen.await? {
                return Err(StoreError::Exists(name.to_string()));
            }
            create.await
        })
    }

    fn delete_folder<'a>(&'a self, user: UserId, name: &'a str) -> StoreFuture<'a, ()> {
        let seen = self.names_archive(user, name);
        let delete = MailStore::delete_folder(&self.store, user, name);
        Box::pin(async move {
            if seen.await? {
                return Err(refused());
            }
            delete.await
        })
    }

    fn rename_folder<'a>(
        &'a self,
        user: UserId,
        from: &'a str,
        to: &'a str,
    ) -> StoreFuture<'a, ()> {
        let (a, b) = (self.names_archive(user, from), self.names_archive(user, to));
        let rename = MailStore::rename_folder(&self.store, user, from, to);
        Box::pin(async move {
            if a.await? || b.await? {
                return Err(refused());
            }
            rename.await
        })
    }

    fn rename_inbox<'a>(&'a self, user: UserId, to: &'a str) -> StoreFuture<'a, InboxRenamed> {
        let seen = self.names_archive(user, to);
        let rename = MailStore::rename_inbox(&self.store, user, to);
        Box::pin(async move {
            if seen.await? {
                return Err(refused());
            }
            rename.await
        })
    }

    fn subscriptions(&self, user: UserId) -> StoreFuture<'_, Vec<String>> {
        MailStore::subscriptions(&self.store, user)
    }

    fn set_subscribed<'a>(&'a self, user: UserId, name: &'a str, on: bool) -> StoreFuture<'a, ()> {
        MailStore::set_subscribed(&self.store, user, name, on)
    }

    fn store_flags<'a>(
        &'a self,
        mailbox: MailboxId,
        uids: &'a [u32],
        op: FlagOp,
        given: &'a [String],
        unchanged_since: Option<u64>,
    ) -> StoreFuture<'a, (Vec<FlagUpdate>, Vec<u32>)> {
        if mailbox.is_archive() {
            return self.refuse();
        }
        MailStore::store_flags(&self.store, mailbox, uids, op, given, unchanged_since)
    }

    fn copy<'a>(
        &'a self,
        src: MailboxId,
        dst: MailboxId,
        uids: &'a [u32],
    ) -> StoreFuture<'a, Copied> {
        if src.is_archive() || dst.is_archive() {
            return self.refuse();
        }
        MailStore::copy(&self.store, src, dst, uids)
    }

    fn move_messages<'a>(
        &'a self,
        src: MailboxId,
        dst: MailboxId,
        uids: &'a [u32],
    ) -> StoreFuture<'a, Copied> {
        if src.is_archive() || dst.is_archive() {
            return self.refuse();
        }
        MailStore::move_messages(&self.store, src, dst, uids)
    }

    fn expunge<'a>(&'a self, mailbox: MailboxId, uids: &'a [u32]) -> StoreFuture<'a, Vec<u32>> {
        if mailbox.is_archive() {
            return self.refuse();
        }
        MailStore::expunge(&self.store, mailbox, uids)
    }

    fn recent_from(&self, mailbox: MailboxId) -> StoreFuture<'_, u32> {
        if mailbox.is_archive() {
            // Nothing in the archive is \Recent.
            return Box::pin(async { Ok(u32::MAX) });
        }
        MailStore::recent_from(&self.store, mailbox)
    }

    fn claim_recent(&self, mailbox: MailboxId, upto: u32) -> StoreFuture<'_, u32> {
        if mailbox.is_archive() {
            return Box::pin(async { Ok(u32::MAX) });
        }
        MailStore::claim_recent(&self.store, mailbox, upto)
    }

    fn recent_count(&self, mailbox: MailboxId) -> StoreFuture<'_, u32> {
        if mailbox.is_archive() {
            return Box::pin(async { Ok(0) });
        }
        MailStore::recent_count(&self.store, mailbox)
    }

    fn spam_train(&self, training: SpamTraining) -> StoreFuture<'_, ()> {
        MailStore::spam_train(&self.store, training)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_codes_are_distinct_and_checked() {
        assert_eq!(period_code("2026-12"), Some(1_202_612));
        assert_eq!(period_code("2026-W50"), Some(2_202_650));
        assert_eq!(period_code("2026-12-07"), Some(120_261_207));
        for bad in [
            "2026-13",
            "2026-W54",
            "2026-12-32",
            "26-12",
            "x",
            "2026-1a",
            "-2026-12",
        ] {
            assert_eq!(period_code(bad), None, "{bad}");
        }
        for label in [
            "2026-12",
            "2026-W50",
            "2026-W01",
            "2026-12-07",
            "0001-01-01",
        ] {
            assert_eq!(label_of(virtual_id(label).unwrap()).as_deref(), Some(label));
        }
        assert_eq!(label_of(MailboxId(7)), None);
        assert_eq!(label_of(MailboxId(-1_202_613)), None, "month 13");
    }
}
