//! clamd's INSTREAM protocol (issue 17 item 3), sans-I/O: the address in
//! `av.clamd`, the bytes to send for one scan, and the reply read. The
//! driver that owns the socket is the SMTP stage's (session/av_clamd.rs).
//!
//! clamd(8): `zINSTREAM\0`, then chunks, each a 4-byte big-endian length
//! and that many bytes, then a zero length; the reply is one NUL-ended line:
//! `stream: OK`, `stream: NAME FOUND`, or `… ERROR` (`INSTREAM size limit
//! exceeded. ERROR` once clamd's StreamMaxLength is crossed).

use crate::report::Unscannable;

/// Bytes per INSTREAM chunk (clamd accepts any size up to StreamMaxLength).
pub const CHUNK: usize = 64 * 1024;
/// Longest reply read from clamd; a longer one is an engine failure.
pub const MAX_REPLY: usize = 4096;

/// Where clamd listens (`av.clamd`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// `tcp://HOST:PORT`
    Tcp(String),
    /// `unix:/path`
    Unix(String),
}

impl Address {
    /// `tcp://127.0.0.1:3310` or `unix:/run/clamav/clamd.ctl`.
    pub fn parse(s: &str) -> Result<Address, String> {
        if let Some(hostport) = s.strip_prefix("tcp://") {
            let ok = hostport
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
            return match ok {
                true => Ok(Address::Tcp(hostport.to_string())),
                false => Err(format!("{s}: expected tcp://HOST:PORT")),
            };
        }
        match s.strip_prefix("unix:") {
            Some(p) if p.starts_with('/') => Ok(Address::Unix(p.to_string())),
            _ => Err(format!("{s}: expected tcp://HOST:PORT or unix:/PATH")),
        }
    }
}

/// The command that opens a scan.
pub const INSTREAM: &[u8] = b"zINSTREAM\0";

/// The length prefix of a chunk (a zero one ends the stream).
pub fn chunk_header(len: usize) -> [u8; 4] {
    (len as u32).to_be_bytes()
}

/// What clamd said about one stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Clean,
    Infected(String),
    /// Over clamd's StreamMaxLength: not an engine failure, unscannable.
    Unscannable(Unscannable),
    /// Anything else: the engine failed (`av.engine_failure`).
    Error(String),
}

/// Reads one reply line (the NUL and line ends stripped).
pub fn parse_reply(raw: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(raw);
    let line = text.trim_end_matches(['\0', '\n', '\r']).trim();
    // "stream: …", or "1: stream: …" with clamd's IDSESSION numbering.
    let rest = line.split_once("stream: ").map_or(line, |(_, r)| r);
    if rest == "OK" {
        return Answer::Clean;
    }
    if let Some(name) = rest.strip_suffix(" FOUND") {
        return Answer::Infected(name.trim().to_string());
    }
    if line.contains("size limit exceeded") {
        return Answer::Unscannable(Unscannable::OverClamdLimit);
    }
    Answer::Error(line.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            Address::parse("tcp://127.0.0.1:3310"),
            Ok(Address::Tcp("127.0.0.1:3310".into()))
        );
        assert_eq!(
            Address::parse("tcp://[::1]:3310"),
            Ok(Address::Tcp("[::1]:3310".into()))
        );
        assert_eq!(
            Address::parse("unix:/run/clamav/clamd.ctl"),
            Ok(Address::Unix("/run/clamav/clamd.ctl".into()))
        );
        for bad in [
            "127.0.0.1:3310",
            "tcp://host",
            "tcp://:1",
            "tcp://h:0",
            "unix:rel",
            "tcp://h:99999",
        ] {
            assert!(Address::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn replies() {
        assert_eq!(parse_reply(b"stream: OK\0"), Answer::Clean);
        assert_eq!(
            parse_reply(b"stream: Eicar-Test-Signature FOUND\0"),
            Answer::Infected("Eicar-Test-Signature".into())
        );
        assert_eq!(
            parse_reply(b"1: stream: Win.Test.X FOUND\n"),
            Answer::Infected("Win.Test.X".into())
        );
        assert_eq!(
            parse_reply(b"INSTREAM size limit exceeded. ERROR\0"),
            Answer::Unscannable(Unscannable::OverClamdLimit)
        );
        assert_eq!(
            parse_reply(b"COMMAND READ TIMED OUT\0"),
            Answer::Error("COMMAND READ TIMED OUT".into())
        );
        assert_eq!(chunk_header(0), [0, 0, 0, 0]);
        assert_eq!(chunk_header(65536), [0, 1, 0, 0]);
    }
}
