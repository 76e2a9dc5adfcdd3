//! The byte stream under a session: writes with a deadline, replies read
//! with a deadline through the bounded [`ReplyReader`]. Any failure marks the
//! channel broken: after a lost reply or a half-written command nobody knows
//! what state the server is in, so the session must not be reused.

use super::reply::ReplyReader;
use super::{ClientError, Io, Reply, Stage};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Bytes read from the server at a time.
const READ_CHUNK: usize = 4096;

pub(super) struct Channel {
    io: Box<dyn Io>,
    reader: ReplyReader,
    scratch: Vec<u8>,
    broken: bool,
}

impl Channel {
    pub(super) fn new(io: Box<dyn Io>) -> Channel {
        Channel {
            io,
            reader: ReplyReader::default(),
            scratch: vec![0; READ_CHUNK],
            broken: false,
        }
    }

    /// Fails when an earlier error left the session unusable.
    pub(super) fn check(&self) -> Result<(), ClientError> {
        match self.broken {
            true => Err(ClientError::Unusable),
            false => Ok(()),
        }
    }

    /// Marks the channel unusable and passes `e` on.
    pub(super) fn fail(&mut self, e: ClientError) -> ClientError {
        self.broken = true;
        e
    }

    pub(super) fn is_broken(&self) -> bool {
        self.broken
    }

    /// Bytes received that no reply has used yet.
    pub(super) fn pending(&self) -> usize {
        self.reader.buffered()
    }

    pub(super) fn into_io(self) -> Box<dyn Io> {
        self.io
    }

    /// Writes and flushes `bytes` within `limit`.
    pub(super) async fn write(
        &mut self,
        bytes: &[u8],
        stage: Stage,
        limit: Duration,
    ) -> Result<(), ClientError> {
        let io = &mut self.io;
        let done = tokio::time::timeout(limit, async {
            io.write_all(bytes).await?;
            io.flush().await
        })
        .await;
        match done {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(self.fail(ClientError::io(stage, e))),
            Err(_) => Err(self.fail(ClientError::Timeout(stage))),
        }
    }

    /// Reads one reply within `limit`. A 421 means the server is closing the
    /// connection (RFC 5321 §3.8), so the channel is done after it.
    pub(super) async fn read_reply(
        &mut self,
        stage: Stage,
        limit: Duration,
    ) -> Result<Reply, ClientError> {
        let reply = match tokio::time::timeout(limit, self.read_untimed(stage)).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => return Err(self.fail(e)),
            Err(_) => return Err(self.fail(ClientError::Timeout(stage))),
        };
        if reply.code == 421 {
            self.broken = true;
        }
        Ok(reply)
    }

    /// Sends one command line and reads its reply, both within `limit`.
    pub(super) async fn command(
        &mut self,
        line: &str,
        stage: Stage,
        limit: Duration,
    ) -> Result<Reply, ClientError> {
        self.write(format!("{line}\r\n").as_bytes(), stage, limit)
            .await?;
        self.read_reply(stage, limit).await
    }

    async fn read_untimed(&mut self, stage: Stage) -> Result<Reply, ClientError> {
        loop {
            let next = self.reader.next_reply();
            if let Some(reply) = next.map_err(|e| ClientError::Protocol(format!("{stage}: {e}")))? {
                return Ok(reply);
            }
            let n = self
                .io
                .read(&mut self.scratch)
                .await
                .map_err(|e| ClientError::io(stage, e))?;
            if n == 0 {
                return Err(ClientError::Closed(stage));
            }
            self.reader.push(&self.scratch[..n]);
        }
    }

    /// Closes our side of the stream (a TLS close_notify), within `limit`.
    pub(super) async fn shutdown(&mut self, limit: Duration) {
        let _ = tokio::time::timeout(limit, self.io.shutdown()).await;
    }
}
