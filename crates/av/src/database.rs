//! Builds an [`Engine`] from database files given as bytes (sans-I/O: the
//! caller reads them). By extension: `.hdb`/`.hsb` hash detections,
//! `.fp`/`.sfp` hash allow-lists, `.ndb` body signatures, `.cvd`/`.cld`
//! containers of those. Other extensions (ClamAV's `.ldb`, `.mdb`, `.cbc`,
//! …) are ignored and counted. Empty lines and lines starting with `#` are
//! skipped. A malformed line refuses the whole set with its file and line;
//! a valid line using a feature this engine lacks is skipped and counted.

use crate::engine::Engine;
use crate::hashsig::{self, HashTable};
use crate::hexsig::HexError;
use crate::matcher::BodyMatcher;
use crate::ndb::{self, BodySig};

/// What `av status` shows for one file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DbInfo {
    pub file: String,
    /// From a container's header; `None` for a plain signature file.
    pub version: Option<u32>,
    pub date: Option<String>,
    /// Build time (seconds since the epoch) from a container's header.
    pub built: Option<u64>,
    pub signatures: usize,
    /// Lines skipped for features this engine does not support.
    pub skipped: usize,
    /// Files of a container in formats this engine does not read.
    pub ignored_files: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{file}:{line}: {reason}")]
    Line {
        file: String,
        line: usize,
        reason: String,
    },
    #[error("{file}: {reason}")]
    File { file: String, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// The kinds of file read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Hash,
    Allow,
    Body,
    Container { check_md5: bool },
}

fn kind(file: &str) -> Option<Kind> {
    let ext = file.rsplit_once('.')?.1.to_ascii_lowercase();
    match ext.as_str() {
        "hdb" | "hsb" => Some(Kind::Hash),
        "fp" | "sfp" => Some(Kind::Allow),
        "ndb" => Some(Kind::Body),
        "cvd" => Some(Kind::Container { check_md5: true }),
        "cld" => Some(Kind::Container { check_md5: false }),
        _ => None,
    }
}

/// Whether `file` is a database file this engine reads.
pub fn is_database(file: &str) -> bool {
    kind(file).is_some()
}

#[derive(Default)]
pub struct Builder {
    hashes: HashTable,
    allow: HashTable,
    body: Vec<BodySig>,
    infos: Vec<DbInfo>,
}

impl Builder {
    /// Adds one file; files of unknown kinds are ignored (Ok).
    pub fn add(&mut self, file: &str, data: &[u8]) -> Result<(), LoadError> {
        let mut info = DbInfo {
            file: file.to_string(),
            ..DbInfo::default()
        };
        match kind(file) {
            None => return Ok(()),
            Some(Kind::Container { check_md5 }) => {
                let (header, members) =
                    crate::cvd::unpack(data, check_md5).map_err(|reason| LoadError::File {
                        file: file.to_string(),
                        reason,
                    })?;
                info.version = Some(header.version);
                info.date = Some(header.date);
                info.built = Some(header.stime);
                for (name, bytes) in members {
                    match kind(&name) {
                        Some(k @ (Kind::Hash | Kind::Allow | Kind::Body)) => {
                            let label = format!("{file}/{name}");
                            self.add_lines(&label, k, &bytes, &mut info)?
                        }
                        _ => info.ignored_files += 1,
                    }
                }
            }
            Some(k) => self.add_lines(file, k, data, &mut info)?,
        }
        self.infos.push(info);
        Ok(())
    }

    fn add_lines(
        &mut self,
        file: &str,
        kind: Kind,
        data: &[u8],
        info: &mut DbInfo,
    ) -> Result<(), LoadError> {
        for (n, line) in data.split(|&b| b == b'\n').enumerate() {
            let at = |reason: String| LoadError::Line {
                file: file.to_string(),
                line: n + 1,
                reason,
            };
            let line = std::str::from_utf8(line).map_err(|_| at("not UTF-8".into()))?;
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            match kind {
                Kind::Hash => self.hashes.insert(hashsig::parse_line(line).map_err(at)?),
                Kind::Allow => self.allow.insert(hashsig::parse_line(line).map_err(at)?),
                Kind::Body => match ndb::parse_line(line) {
                    Ok(sig) => self.body.push(sig),
                    Err(HexError::Unsupported(_)) => {
                        info.skipped += 1;
                        continue;
                    }
                    Err(e) => return Err(at(e.to_string())),
                },
                Kind::Container { .. } => unreachable!("containers are unpacked first"),
            }
            info.signatures += 1;
        }
        Ok(())
    }

    pub fn build(mut self) -> Result<Engine, LoadError> {
        self.body.push(crate::engine::eicar());
        let body = BodyMatcher::new(self.body).map_err(|reason| LoadError::File {
            file: "(all body signatures)".into(),
            reason,
        })?;
        Ok(Engine::new(self.hashes, self.allow, body, self.infos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_line_named_with_its_number() {
        let mut b = Builder::default();
        let e = b
            .add(
                "local.ndb",
                b"Good:0:*:41424344\n\n# note\nBad:0:*:4142zz\n",
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "local.ndb:4: bad hex signature: 'z' is not a hex digit"
        );
        let e = b.add("x.hdb", b"nothex:1:X\r\n").unwrap_err();
        assert!(e.to_string().starts_with("x.hdb:1: "), "{e}");
    }

    #[test]
    fn unsupported_lines_are_counted_not_fatal() {
        let mut b = Builder::default();
        b.add(
            "a.ndb",
            b"A:0:*:41424344\nB:1:EP+0:41424344\nC:0:*:4142!(43|44)\n",
        )
        .unwrap();
        b.add("README.txt", b"whatever").unwrap();
        assert_eq!((b.infos[0].signatures, b.infos[0].skipped), (1, 2));
        assert_eq!(b.infos.len(), 1, "unknown files are ignored");
    }

    #[test]
    fn container_members_loaded_and_named() {
        let cvd = crate::cvd::build(
            7,
            100,
            &[
                ("t.hdb", b"5d41402abc4b2a76b9719d911017c592:5:Hello.Hash\n"),
                ("t.ndb", b"Bad:0:*:zz\n"),
            ],
        );
        let e = Builder::default().add("daily.cvd", &cvd).unwrap_err();
        assert!(e.to_string().starts_with("daily.cvd/t.ndb:1: "), "{e}");
        let cvd = crate::cvd::build(
            7,
            100,
            &[
                ("t.hdb", b"5d41402abc4b2a76b9719d911017c592:5:Hello.Hash\n"),
                ("t.ldb", b"ignored\n"),
            ],
        );
        let mut b = Builder::default();
        b.add("daily.cvd", &cvd).unwrap();
        let engine = b.build().unwrap();
        let info = &engine.databases()[0];
        assert_eq!(
            (info.version, info.signatures, info.ignored_files),
            (Some(7), 1, 1)
        );
        assert_eq!(engine.detect(b"hello"), Some("Hello.Hash"));
    }

    #[test]
    fn every_extension_is_read() {
        let sha1 = "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"; // "hello"
        let sha256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        let mut b = Builder::default();
        b.add("a.hsb", format!("{sha1}:5:Sha1.Hello\n").as_bytes())
            .unwrap();
        b.add("b.HDB", b"0123456789abcdef0123456789abcdef:*:Any.Size\n")
            .unwrap();
        b.add("c.sfp", format!("{sha256}:*:Allowed\n").as_bytes())
            .unwrap();
        b.add("d.ndb", b"World:0:*:776f726c64\n").unwrap();
        let engine = b.build().unwrap();
        assert_eq!(
            engine.counts(),
            (2, 2, 1),
            "EICAR is the second body signature"
        );
        assert_eq!(engine.detect(b"hello"), None, "allowed by the .sfp");
        assert_eq!(engine.detect(b"world"), Some("World"));
        assert_eq!(engine.databases().len(), 4);
    }

    #[test]
    fn allow_list_wins() {
        let mut b = Builder::default();
        b.add("a.ndb", b"Hello.Body:0:*:68656c6c6f\n").unwrap();
        b.add("a.fp", b"5d41402abc4b2a76b9719d911017c592:5:Hello.Body\n")
            .unwrap();
        let engine = b.build().unwrap();
        assert_eq!(engine.detect(b"hello"), None);
        assert_eq!(engine.detect(b"hello!"), Some("Hello.Body"));
    }
}
