//! DATA and BDAT (RFC 3030): the body is spooled to its file as it arrives,
//! then committed; the 250 is sent only after the commit is durable.

use super::{Flow, Session};
use crate::dot::DotDecoder;
use crate::reply::{self, Reply};
use crate::trace::{trace_headers, TraceInfo};
use postern_store::{BlobWriter, Delivery};
use tokio::io::{AsyncRead, AsyncWrite};

/// A BDAT transaction in progress.
pub(super) struct Bdat {
    /// None once the message is known to be refused (too big, write failure).
    blob: Option<BlobWriter>,
    size: u64,
    failure: Option<Reply>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session<S> {
    pub(super) async fn data(&mut self) -> Flow {
        if let Err(r) = self.ready_for_body() {
            return self.error(r);
        }
        if self.tx.as_ref().is_some_and(|t| t.bdat.is_some()) {
            return self.error(reply::BDAT_MIXED);
        }
        let mut blob = match self.start_body().await {
            Ok(b) => Some(b),
            Err(r) => return self.error(r),
        };
        self.send(&reply::START_DATA);
        let (mut size, mut failure) = (0u64, None);
        let mut decoder = DotDecoder::default();
        let mut out = Vec::with_capacity(64 * 1024);
        loop {
            let n = decoder.feed(self.conn.buffered(), &mut out);
            self.conn.consume(n);
            size += out.len() as u64;
            self.absorb(&mut blob, &out, size, &mut failure).await;
            if let Some(tx) = self.tx.as_mut() {
                tx.header.feed(&out);
            }
            out.clear();
            if decoder.is_done() {
                break;
            }
            match tokio::time::timeout(self.cfg.smtp.data_timeout.0, self.conn.fill()).await {
                Err(_) => return self.timed_out(),
                Ok(Ok(true)) => {}
                Ok(_) => return Flow::Close,
            }
        }
        self.finish_message(blob, size, failure).await
    }

    pub(super) async fn bdat(&mut self, chunk: usize, last: bool) -> Flow {
        let state = self.ready_for_body();
        let mut bdat = match (&state, self.tx.as_mut().and_then(|t| t.bdat.take())) {
            (Err(_), _) => None,
            (Ok(()), Some(b)) => Some(b),
            (Ok(()), None) => match self.start_body().await {
                Ok(blob) => Some(Bdat {
                    blob: Some(blob),
                    size: 0,
                    failure: None,
                }),
                Err(r) => Some(Bdat {
                    blob: None,
                    size: 0,
                    failure: Some(r),
                }),
            },
        };
        // RFC 3030 §2: the chunk is always read, even when the command fails.
        if let Err(flow) = self.read_chunk(chunk as u64, bdat.as_mut()).await {
            return flow;
        }
        let (Ok(()), Some(b)) = (state.clone(), bdat) else {
            return self.error(state.err().unwrap_or(reply::BAD_SEQUENCE));
        };
        if last {
            return self.finish_message(b.blob, b.size, b.failure).await;
        }
        if let Some(tx) = self.tx.as_mut() {
            tx.bdat = Some(b);
        }
        self.reply(Reply::owned(
            250,
            "2.0.0",
            format!("{chunk} octets received"),
        ))
    }

    async fn read_chunk(&mut self, mut left: u64, mut bdat: Option<&mut Bdat>) -> Result<(), Flow> {
        while left > 0 {
            if self.conn.buffered().is_empty() {
                match tokio::time::timeout(self.cfg.smtp.data_timeout.0, self.conn.fill()).await {
                    Err(_) => return Err(self.timed_out()),
                    Ok(Ok(true)) => {}
                    Ok(_) => return Err(Flow::Close),
                }
            }
            let take = left.min(self.conn.buffered().len() as u64) as usize;
            if let Some(b) = bdat.as_deref_mut() {
                b.size += take as u64;
                let bytes = self.conn.buffered()[..take].to_vec();
                let size = b.size;
                self.absorb(&mut b.blob, &bytes, size, &mut b.failure).await;
                if let Some(tx) = self.tx.as_mut() {
                    tx.header.feed(&bytes);
                }
            }
            self.conn.consume(take);
            left -= take as u64;
        }
        Ok(())
    }

    /// Writes body bytes unless the message is already refused; crossing the
    /// size limit refuses it (the rest is read and thrown away).
    async fn absorb(
        &self,
        blob: &mut Option<BlobWriter>,
        bytes: &[u8],
        size: u64,
        failure: &mut Option<Reply>,
    ) {
        if failure.is_some() {
            return;
        }
        // The smallest applicable limit (size.rs): one verdict for every recipient.
        if let Err(r) = self.body_size_limit().check(size) {
            *failure = Some(r);
            *blob = None;
            return;
        }
        // The reserve on disk (space.rs), at each crossing of CHECK_EVERY octets.
        let before = size - bytes.len() as u64;
        if before / super::space::CHECK_EVERY != size / super::space::CHECK_EVERY {
            if let Err(r) = self.check_space(bytes.len() as u64) {
                *failure = Some(r);
                *blob = None;
                return;
            }
        }
        if let Some(b) = blob.as_mut() {
            if b.write(bytes).await.is_err() {
                *failure = Some(reply::TEMP_FAILURE);
                *blob = None;
            }
        }
    }

    fn ready_for_body(&self) -> Result<(), Reply> {
        match &self.tx {
            None => Err(reply::NEED_MAIL),
            Some(t) if t.recipients.is_empty() => Err(reply::NEED_RCPT),
            Some(_) => Ok(()),
        }
    }

    /// Creates the body file and writes the trace headers into it.
    async fn start_body(&mut self) -> Result<BlobWriter, Reply> {
        let mut blob = self
            .ctx
            .store
            .create_blob()
            .await
            .map_err(|_| reply::TEMP_FAILURE)?;
        let tx = self.tx.as_ref().ok_or(reply::NEED_MAIL)?;
        let tls = self.conn.tls_description();
        let ip = self.client_ip();
        let single = (tx.recipients.len() == 1).then(|| tx.recipients[0].as_str());
        let headers = trace_headers(&TraceInfo {
            helo: self.helo.as_deref().unwrap_or("unknown"),
            client_ip: &ip,
            hostname: &self.cfg.server.hostname,
            queue_id: blob.id().as_str(),
            tls: tls.as_deref(),
            auth_user: self.auth.as_ref().map(|u| u.address.as_str()),
            smtputf8: tx.smtputf8,
            single_recipient: single,
            sender: &tx.sender,
            date: time::OffsetDateTime::now_utc(),
        });
        blob.write(headers.as_bytes())
            .await
            .map_err(|_| reply::TEMP_FAILURE)?;
        if tx.marked {
            blob.write(super::identity::MARK_HEADER.as_bytes())
                .await
                .map_err(|_| reply::TEMP_FAILURE)?;
        }
        Ok(blob)
    }

    /// Ends the transaction: commit and 250, or the reason it failed.
    async fn finish_message(
        &mut self,
        blob: Option<BlobWriter>,
        size: u64,
        failure: Option<Reply>,
    ) -> Flow {
        let Some(tx) = self.tx.take() else {
            return self.error(reply::NEED_MAIL);
        };
        let failure = match failure {
            None => self.check_from_header(&tx).await.err(),
            f => f,
        };
        let mut auth_log = Vec::new();
        let result = match (failure, blob) {
            (Some(r), _) => Err(r),
            (None, None) => Err(reply::TEMP_FAILURE),
            (None, Some(blob)) => match self.filter(blob, &tx, &mut auth_log).await {
                // spam.reject_action = "discard": 250, and nothing is kept.
                Ok(f) if f.discard => Ok(None),
                Ok(f) => self.commit(f.blob, &tx, f.junk).await.map(Some),
                Err(r) => Err(r),
            },
        };
        let ip = self.client_ip();
        let tls = self.conn.tls_description().unwrap_or_else(|| "none".into());
        if result.is_ok() {
            self.count_message();
        }
        if matches!(result, Ok(Some(_))) {
            postern_net::metrics::count(postern_net::metrics::Event::Received, 1);
        }
        let (event, id, r) = match result {
            Ok(Some(id)) => (
                "accepted",
                id.clone(),
                Reply::owned(250, "2.0.0", format!("OK: queued as {id}")),
            ),
            Ok(None) => (
                "discarded",
                String::new(),
                Reply::owned(250, "2.0.0", "OK".into()),
            ),
            Err(r) => ("refused", String::new(), r),
        };
        let (status, size_s, to) = (r.status(), size.to_string(), tx.recipients.join(","));
        let mut fields = vec![
            ("event", event),
            ("id", &id),
            ("service", self.kind.name()),
            ("client", &ip),
            ("tls", &tls),
            ("user", self.auth_name()),
            ("from", &tx.sender),
            ("to", &to),
            ("size", &size_s),
            ("result", &status),
        ];
        fields.extend(auth_log.iter().map(|(k, v)| (*k, v.as_str())));
        self.ctx.logs.mail(&fields);
        self.reply(r)
    }

    async fn commit(
        &self,
        blob: BlobWriter,
        tx: &super::Transaction,
        junk: bool,
    ) -> Result<String, Reply> {
        let blob = blob.finish().await.map_err(|_| reply::TEMP_FAILURE)?;
        // The ARC set on top of our DKIM signature; neither covers the other.
        let mut prepend = self.arc_seal(&blob, tx).await;
        prepend.extend(self.dkim_sign(&blob, tx).await?);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let archive = self.archive_envelope(tx, now);
        let delivery = Delivery {
            blob,
            sender: self.queued_sender(tx)?,
            local: tx.local.iter().copied().collect(),
            remote: tx.remote.clone(),
            env_id: tx.env_id.clone(),
            ret: tx.ret.clone(),
            smtputf8: tx.smtputf8,
            internal_date: now,
            prepend,
            junk,
        };
        let local = delivery.local.len() as u64;
        match self.ctx.store.commit_archived(delivery, archive).await {
            Ok(c) => {
                postern_net::metrics::count(postern_net::metrics::Event::Delivered, local);
                Ok(c.id.to_string())
            }
            Err(e) if e.is_temporary() => Err(reply::TEMP_FAILURE),
            Err(_) => Err(reply::PERM_FAILURE),
        }
    }
}
