//! QUOTA (RFC 9208): one quota root per user, named "", holding every one of
//! the user's mailboxes; one resource, STORAGE, in units of 1024 octets.
//! Limits are set by the administrator (`postern user add --quota`), so
//! SETQUOTA is refused and QUOTASET not advertised.

use super::reply::Reply;
use super::Session;
use imap_codec::imap_types::core::AString;
use imap_codec::imap_types::mailbox::Mailbox;
use tokio::io::{AsyncRead, AsyncWrite};

/// The one quota root's name.
const ROOT: &str = "";

/// `(STORAGE used limit)` in KiB, or `()` when the user has no limit.
pub(super) fn storage_list(used: u64, quota: u64) -> String {
    if quota == 0 {
        return "()".into();
    }
    format!("(STORAGE {} {})", used.div_ceil(1024), quota.div_ceil(1024))
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    async fn quota_line(&mut self) -> Result<(), Reply> {
        let user = self.need_auth()?.id;
        let (used, quota) = self
            .ctx
            .store
            .usage(user)
            .await
            .map_err(|e| Reply::from_store(&e))?;
        self.untagged(&format!("QUOTA \"{ROOT}\" {}", storage_list(used, quota)));
        Ok(())
    }

    /// RFC 9208 §4.1.1.
    pub(super) async fn getquota(&mut self, root: &AString<'_>) -> Reply {
        if let Err(r) = self.need_auth() {
            return r;
        }
        if root.as_ref() != ROOT.as_bytes() {
            return Reply::no("No such quota root").code("NONEXISTENT");
        }
        match self.quota_line().await {
            Ok(()) => Reply::ok("GETQUOTA completed"),
            Err(r) => r,
        }
    }

    /// RFC 9208 §4.1.2: the mailbox need not exist; every name has the one root.
    pub(super) async fn getquotaroot(&mut self, mailbox: &Mailbox<'_>) -> Reply {
        if let Err(r) = self.need_auth() {
            return r;
        }
        let name = match self.name_of(mailbox) {
            Ok(n) => n,
            Err(r) => return r,
        };
        let mut line = b"* QUOTAROOT ".to_vec();
        self.put_mailbox(&mut line, &name);
        line.extend_from_slice(format!(" \"{ROOT}\"\r\n").as_bytes());
        self.conn.push(&line);
        match self.quota_line().await {
            Ok(()) => Reply::ok("GETQUOTAROOT completed"),
            Err(r) => r,
        }
    }

    /// RFC 9208 §4.1.3: limits are the administrator's.
    pub(super) fn setquota(&mut self) -> Reply {
        if let Err(r) = self.need_auth() {
            return r;
        }
        Reply::no("Quotas are set by the administrator").code("NOPERM")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn storage_in_kib() {
        assert_eq!(super::storage_list(0, 0), "()");
        assert_eq!(super::storage_list(1, 1 << 20), "(STORAGE 1 1024)");
        assert_eq!(super::storage_list(2048, 1500), "(STORAGE 2 2)");
    }
}
