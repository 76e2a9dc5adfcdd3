//! 8-bit mail for a hop that does not offer 8BITMIME (RFC 6152 §3): the
//! message is sent converted to 7 bits (postern_smtp::client::seven_bit), or,
//! when that cannot be done, bounced with 5.6.3 (RFC 3463: conversion
//! required but not supported). The stored message is never changed, so a
//! later attempt to a hop with 8BITMIME sends it as it came.

use postern_smtp::client::seven_bit::{to_seven_bit, Unconvertible};
use std::io;
use std::path::Path;

/// The enhanced status of the bounce (RFC 3463 §3.7).
pub const UNCONVERTIBLE_STATUS: &str = "5.6.3";

/// What goes to one hop.
pub enum Prepared {
    /// The stored file as it is (7-bit, or the hop takes 8BITMIME).
    AsStored,
    /// The 7-bit conversion.
    Converted(Vec<u8>),
    /// It must be converted and cannot be.
    Refused(Unconvertible),
}

/// Decides what to send of the message at `path` to a hop that does or
/// does not offer 8BITMIME, converting when needed.
pub async fn prepare(path: &Path, has_8bit: bool, hop_8bitmime: bool) -> io::Result<Prepared> {
    if !has_8bit || hop_8bitmime {
        return Ok(Prepared::AsStored);
    }
    Ok(match seven_bit(path).await? {
        Ok(bytes) => Prepared::Converted(bytes),
        Err(why) => Prepared::Refused(why),
    })
}

/// The message at `path` made 7-bit; the inner error says why it cannot be.
pub async fn seven_bit(path: &Path) -> io::Result<Result<Vec<u8>, Unconvertible>> {
    let raw = tokio::fs::read(path).await?;
    tokio::task::spawn_blocking(move || to_seven_bit(&raw))
        .await
        .map_err(io::Error::other)
}

/// The bounce's diagnostic.
pub fn refusal(peer: &str, why: &Unconvertible) -> String {
    format!("{peer} does not support 8BITMIME and the message cannot be converted to 7 bits: {why}")
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn converts_from_the_file_and_explains_a_refusal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m");
        std::fs::write(&path, "Subject: x\r\n\r\nGrüße\r\n").unwrap();
        let out = super::seven_bit(&path).await.unwrap().unwrap();
        assert!(out.is_ascii() && out.ends_with(b"Gr=C3=BC=C3=9Fe\r\n"));
        std::fs::write(&path, "Subject: Grüße\r\n\r\nx\r\n").unwrap();
        let why = super::seven_bit(&path).await.unwrap().unwrap_err();
        assert_eq!(
            super::refusal("mx.example.net", &why),
            "mx.example.net does not support 8BITMIME and the message cannot be converted to 7 bits: it has 8-bit octets in header fields"
        );
    }
}
