//! 8-bit mail for a hop that does not offer 8BITMIME (RFC 6152 §3): the
//! message is sent converted to 7 bits (postern_smtp::client::seven_bit), or,
//! when that cannot be done, bounced with 5.6.3 (RFC 3463: conversion
//! required but not supported). The stored message is never changed, so a
//! later attempt to a hop with 8BITMIME sends it as it came.

use postern_smtp::client::seven_bit::{to_seven_bit, Unconvertible};
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt};

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

/// Decides what to send of the stored message `body` (read from its start)
/// to a hop that does or does not offer 8BITMIME, converting when needed.
/// `body` is read only when it must be converted.
pub async fn prepare<R: AsyncRead + Unpin>(
    body: &mut R,
    has_8bit: bool,
    hop_8bitmime: bool,
) -> io::Result<Prepared> {
    if !has_8bit || hop_8bitmime {
        return Ok(Prepared::AsStored);
    }
    let mut raw = Vec::new();
    body.read_to_end(&mut raw).await?;
    Ok(match seven_bit(raw).await? {
        Ok(bytes) => Prepared::Converted(bytes),
        Err(why) => Prepared::Refused(why),
    })
}

/// The message made 7-bit; the inner error says why it cannot be. The
/// conversion is CPU work on a whole message, so it runs off the runtime's threads.
pub async fn seven_bit(raw: Vec<u8>) -> io::Result<Result<Vec<u8>, Unconvertible>> {
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
    async fn converts_the_body_and_explains_a_refusal() {
        let mut body: &[u8] = "Subject: x\r\n\r\nGrüße\r\n".as_bytes();
        let super::Prepared::Converted(out) = super::prepare(&mut body, true, false).await.unwrap()
        else {
            panic!("not converted");
        };
        assert!(out.is_ascii() && out.ends_with(b"Gr=C3=BC=C3=9Fe\r\n"));
        let mut body: &[u8] = "Subject: x\r\n\r\nGrüße\r\n".as_bytes();
        assert!(matches!(
            super::prepare(&mut body, true, true).await.unwrap(),
            super::Prepared::AsStored
        ));
        let why = super::seven_bit("Subject: Grüße\r\n\r\nx\r\n".into())
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(
            super::refusal("mx.example.net", &why),
            "mx.example.net does not support 8BITMIME and the message cannot be converted to 7 bits: it has 8-bit octets in header fields"
        );
    }
}
