//! Sending the message content after the envelope: DATA (RFC 5321 §4.1.1.4)
//! or BDAT chunks (RFC 3030), streamed through the [`wire`] encoder in
//! bounded buffers. A body that cannot be read locally abandons the session
//! without ending the data: the server then discards the partial message.
//!
//! [`wire`]: super::wire

use super::wire::BodyEncoder;
use super::{ClientError, ClientSession, Reply, Stage};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Bytes of the stored body read at a time.
const READ_BLOCK: usize = 16 * 1024;
/// Wire bytes per BDAT chunk, at least (the read that crosses it may add up
/// to 32 KiB more), but the last chunk.
pub const BDAT_CHUNK: usize = 64 * 1024;

pub(super) type Body<'a> = &'a mut (dyn AsyncRead + Unpin + Send);

impl ClientSession {
    /// After a 354: the dot-stuffed body and "." CR LF, then the final reply.
    pub(super) async fn send_data(&mut self, body: Body<'_>) -> Result<Reply, ClientError> {
        let mut enc = BodyEncoder::data();
        let mut input = vec![0; READ_BLOCK];
        let mut out = Vec::with_capacity(2 * READ_BLOCK + 5);
        loop {
            let n = self.read_body(body, &mut input).await?;
            if n == 0 {
                break;
            }
            out.clear();
            enc.encode(&input[..n], &mut out);
            self.chan
                .write(&out, Stage::Body, self.timeouts.data_block)
                .await?;
        }
        out.clear();
        enc.finish(&mut out);
        self.chan
            .write(&out, Stage::Body, self.timeouts.data_block)
            .await?;
        let reply = self
            .chan
            .read_reply(Stage::DataDone, self.timeouts.data_done)
            .await?;
        self.check_reply(reply, Stage::DataDone)
    }

    /// BDAT chunks, each answered before the next goes; the last carries
    /// LAST and its reply is the final one. A refused chunk ends the
    /// transaction, which RSET then clears (RFC 3030 §2).
    pub(super) async fn send_bdat(&mut self, body: Body<'_>) -> Result<Reply, ClientError> {
        let mut enc = BodyEncoder::bdat();
        let mut input = vec![0; READ_BLOCK];
        let mut chunk = Vec::with_capacity(BDAT_CHUNK + 2 * READ_BLOCK + 64);
        loop {
            chunk.clear();
            let mut eof = false;
            while chunk.len() < BDAT_CHUNK && !eof {
                let n = self.read_body(body, &mut input).await?;
                enc.encode(&input[..n], &mut chunk);
                eof = n == 0;
            }
            if eof {
                std::mem::replace(&mut enc, BodyEncoder::bdat()).finish(&mut chunk);
                return self.bdat_chunk(&chunk, true).await;
            }
            let reply = self.bdat_chunk(&chunk, false).await?;
            if !reply.is_positive() {
                self.reset_quietly().await;
                return Ok(reply);
            }
        }
    }

    /// "BDAT <size>[ LAST]" and the chunk in one write, then its reply.
    async fn bdat_chunk(&mut self, chunk: &[u8], last: bool) -> Result<Reply, ClientError> {
        let head = format!(
            "BDAT {}{}\r\n",
            chunk.len(),
            if last { " LAST" } else { "" }
        );
        let mut frame = Vec::with_capacity(head.len() + chunk.len());
        frame.extend_from_slice(head.as_bytes());
        frame.extend_from_slice(chunk);
        let t = &self.timeouts;
        let (stage, limit) = match last {
            true => (Stage::DataDone, t.data_done),
            false => (Stage::Bdat, t.data_block),
        };
        self.chan.write(&frame, Stage::Body, t.data_block).await?;
        let reply = self.chan.read_reply(stage, limit).await?;
        self.check_reply(reply, stage)
    }

    /// Reads the stored body; a local failure makes the session unusable,
    /// since the data cannot be ended without delivering a truncated message.
    async fn read_body(&mut self, body: Body<'_>, buf: &mut [u8]) -> Result<usize, ClientError> {
        body.read(buf).await.map_err(|e| {
            let e = std::io::Error::new(e.kind(), format!("reading the message body: {e}"));
            self.chan.fail(ClientError::Io(e))
        })
    }
}
