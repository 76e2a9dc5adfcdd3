//! DIR/postern.listening: the addresses the running server is bound to, one
//! `NAME ADDRESS` line each, so `postern status` finds the admin listener
//! even on a port the system chose. Written after binding, removed when the
//! server stops cleanly; trusted only while `postern.pid` names a live server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "postern.listening";

pub struct ListeningFile(PathBuf);

impl ListeningFile {
    pub fn create(
        data_dir: &Path,
        addresses: &[(String, String)],
    ) -> Result<ListeningFile, String> {
        let path = data_dir.join(FILE_NAME);
        let tmp = data_dir.join(format!(".{FILE_NAME}.tmp"));
        let text: String = addresses
            .iter()
            .map(|(name, addr)| format!("{name} {addr}\n"))
            .collect();
        std::fs::write(&tmp, text)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(ListeningFile(path))
    }
}

impl Drop for ListeningFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Where to reach listener `name` of the server on `data_dir` from this
/// machine: a wildcard address becomes the loopback address of its family.
pub fn address_of(data_dir: &Path, name: &str) -> Option<SocketAddr> {
    let text = std::fs::read_to_string(data_dir.join(FILE_NAME)).ok()?;
    let mut addr: SocketAddr = text
        .lines()
        .filter_map(|l| l.split_once(' '))
        .find(|(n, _)| *n == name)?
        .1
        .parse()
        .ok()?;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    Some(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_read_and_removed() {
        let d = tempfile::tempdir().unwrap();
        let file = ListeningFile::create(
            d.path(),
            &[
                ("imap".into(), "127.0.0.1:1143".into()),
                ("admin".into(), "0.0.0.0:4040".into()),
            ],
        )
        .unwrap();
        assert_eq!(
            address_of(d.path(), "imap"),
            Some("127.0.0.1:1143".parse().unwrap())
        );
        assert_eq!(
            address_of(d.path(), "admin"),
            Some("127.0.0.1:4040".parse().unwrap())
        );
        assert_eq!(address_of(d.path(), "pop3"), None);
        drop(file);
        assert_eq!(address_of(d.path(), "imap"), None);
    }
}
