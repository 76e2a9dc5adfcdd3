//! One delivery run for one destination domain: route it, then walk the hops
//! (MX preference order, every address of each) until a server takes the
//! messages; several messages go over one connection (RSET between). A
//! connection an earlier run left open to one of the hops is used first, and
//! this run's is left open for the next when it runs out of messages
//! (conn_cache.rs). Each message's result is recorded, with its notice, as
//! soon as it is known.
//! Once shutdown begins a run finishes the message it is sending, then says
//! QUIT and opens no other connection; messages it did not start stay queued
//! as they were, for after restart.

use crate::conn_cache::{Conn, Dest};
use crate::connect::{Dialer, Opened};
use crate::outcome::{self, Verdict};
use crate::route::{self, RouteError};
use crate::{downgrade, notice, Shared};
use postern_smtp::client::{ClientError, Envelope, EnvelopeRecipient, RecipientResult};
use postern_store::{OutboundMessage, QueueReport};
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// Recipients of one message to try in this run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub queue_id: String,
    pub recipients: Vec<i64>,
}

/// Delivers `jobs` (all for `domain`) and records every outcome.
pub async fn run(sh: Arc<Shared>, domain: String, jobs: Vec<Job>) {
    let plan = match route::plan(&domain, &sh.cfg.delivery, &sh.cfg.server.hostname, &sh.dns).await
    {
        Ok(p) => p,
        Err(e) => return fail_all(&sh, jobs, route_verdict(&e), false).await,
    };
    let mut pending: VecDeque<Job> = jobs.into();
    let mut last = Verdict::temporary(
        "4.4.1",
        format!("no server for {domain} could be reached"),
        None,
    );
    let dialer = Dialer {
        tls: &sh.tls,
        helo: &sh.cfg.server.hostname,
        source: sh.cfg.delivery.source_address,
        connect_timeout: sh.cfg.delivery.connect_timeout.0,
        timeouts: Default::default(),
    };
    let (helo, source) = (dialer.helo, dialer.source);
    // A connection an earlier run left open to one of the hops, if any.
    let dests = Dest::all(&plan, helo, source);
    if let Some((dest, conn)) = sh.conns.take_live(&dests).await {
        if let Err(v) = send_all(&sh, dest, conn, &mut pending).await {
            last = v;
        }
    }
    let max_connections = sh.cfg.delivery.max_connections as usize;
    'hops: for hop in &plan.hops {
        for ip in &hop.addrs {
            if pending.is_empty() || sh.stopping() {
                break 'hops;
            }
            let slot = sh.conns.slot(max_connections).await;
            match dialer.open(&plan, hop, *ip).await {
                Ok(opened) => {
                    let dest = Dest::new(&plan, hop, *ip, helo, source);
                    let conn = Conn::new(opened, slot);
                    if let Err(v) = send_all(&sh, dest, conn, &mut pending).await {
                        last = v;
                    }
                }
                Err(e) => last = connection_verdict(&e, format!("{}[{ip}]", hop.name)),
            }
        }
    }
    if sh.stopping() {
        // Not failed, just not tried to the end: left for after restart.
        return;
    }
    fail_all(&sh, pending.into(), last, true).await;
}

/// Sends queued jobs over one session until done, the session breaks or it
/// carried `max_messages_per_connection` (counted across reuse). Then the
/// connection is left open for the next run to `dest`, or closed with QUIT.
async fn send_all(
    sh: &Shared,
    dest: Dest,
    mut conn: Conn,
    pending: &mut VecDeque<Job>,
) -> Result<(), Verdict> {
    let d = &sh.cfg.delivery;
    let limit = d.max_messages_per_connection as usize;
    while let Some(job) = pending.pop_front() {
        if conn.sent >= limit || sh.stopping() {
            pending.push_front(job);
            break;
        }
        let Some(msg) = load(sh, &job.queue_id).await else {
            continue;
        };
        let opened = &mut conn.opened;
        if conn.needs_rset {
            if let Err(e) = opened.session.rset().await {
                pending.push_front(job);
                return Err(connection_verdict(&e, opened.peer.clone()));
            }
        }
        match send_one(sh, opened, &msg, &job).await {
            Ok(verdicts) => record(sh, &msg, verdicts, true, &opened.tls).await,
            Err(e) => {
                pending.push_front(job);
                return Err(connection_verdict(&e, opened.peer.clone()));
            }
        }
        conn.sent += 1;
        conn.needs_rset = true;
    }
    let keep = match sh.stopping() {
        true => std::time::Duration::ZERO,
        false => d.connection_cache_time.0,
    };
    sh.conns.park(dest, conn, keep, limit).await;
    Ok(())
}

async fn send_one(
    sh: &Shared,
    opened: &mut Opened,
    msg: &OutboundMessage,
    job: &Job,
) -> Result<Vec<(i64, Verdict)>, ClientError> {
    let rcpts: Vec<_> = msg
        .recipients
        .iter()
        .filter(|r| job.recipients.contains(&r.id) && r.status.is_active())
        .collect();
    let caps = opened.session.capabilities().clone();
    let mta = Some(opened.peer.clone());
    let all = |v: Verdict| rcpts.iter().map(|r| (r.id, v.clone())).collect::<Vec<_>>();
    if rcpts.is_empty() {
        return Ok(vec![]);
    }
    if msg.smtputf8 && !caps.smtputf8 {
        // RFC 6531 §3.4
        return Ok(all(Verdict::permanent(
            "5.6.7",
            format!(
                "{} does not support SMTPUTF8, which this message needs",
                opened.peer
            ),
            mta,
        )));
    }
    if caps
        .size
        .is_some_and(|max| max > 0 && msg.size + msg.prepend.len() as u64 > max)
    {
        return Ok(all(Verdict::permanent(
            "5.3.4",
            format!(
                "message is larger than {} accepts ({} octets)",
                opened.peer,
                caps.size.unwrap_or(0)
            ),
            mta,
        )));
    }
    let gone = || ClientError::Io(std::io::Error::from(std::io::ErrorKind::NotFound));
    let mut body = match sh.queue.open_body(&msg.blob).await {
        Ok(Some(body)) => body,
        Ok(None) => return Err(gone()),
        Err(e) => return Err(ClientError::Io(std::io::Error::other(e.to_string()))),
    };
    let has_8bit = has_8bit(&mut body).await;
    body.rewind().await.map_err(ClientError::Io)?;
    let eight_bit = caps.eight_bit_mime && has_8bit;
    // RFC 6152 §3: 8-bit content to a hop without 8BITMIME goes converted, or back.
    let prepared = downgrade::prepare(&mut body, has_8bit, caps.eight_bit_mime)
        .await
        .map_err(ClientError::Io)?;
    if let downgrade::Prepared::Refused(why) = &prepared {
        let text = downgrade::refusal(&opened.peer, why);
        return Ok(all(Verdict::permanent(
            downgrade::UNCONVERTIBLE_STATUS,
            text,
            mta,
        )));
    }
    let envelope = Envelope {
        from: msg.sender.clone(),
        recipients: rcpts
            .iter()
            .map(|r| EnvelopeRecipient {
                address: r.address.clone(),
                notify: r.notify,
                orcpt: r.orcpt.clone(),
            })
            .collect(),
        smtputf8: msg.smtputf8,
        eight_bit,
        env_id: msg.env_id.clone(),
        ret: msg.ret.clone(),
    };
    let results = send_body(opened, &envelope, prepared, body, &msg.prepend).await?;
    let took_dsn = caps.dsn;
    Ok(rcpts
        .iter()
        .zip(results)
        .map(|(r, res)| (r.id, reply_verdict(&res, &opened.peer, took_dsn)))
        .collect())
}

/// The transaction with the stored body, or with its 7-bit conversion, each
/// without the Return-Path line written at receipt: only final delivery adds
/// one (RFC 5321 §4.4), so a relayed copy must not carry it (issue 13). The
/// DKIM signatures made at queueing (`prepend`) go first; local copies have none.
async fn send_body(
    opened: &mut Opened,
    envelope: &Envelope,
    prepared: downgrade::Prepared,
    mut body: postern_store::Body,
    prepend: &[u8],
) -> Result<Vec<RecipientResult>, ClientError> {
    let signatures = std::io::Cursor::new(prepend);
    if let downgrade::Prepared::Converted(bytes) = prepared {
        let head = &bytes[..bytes.len().min(postern_smtp::trace::RETURN_PATH_HEAD)];
        let rest = &bytes[postern_smtp::trace::return_path_len(head)..];
        let size = (prepend.len() + rest.len()) as u64;
        let mut body = signatures.chain(std::io::Cursor::new(rest));
        return opened.session.send(envelope, &mut body, size).await;
    }
    let skipped = skip_return_path(&mut body).await.map_err(ClientError::Io)?;
    let size = body.len().saturating_sub(skipped) + prepend.len() as u64;
    let mut body = signatures.chain(body);
    opened.session.send(envelope, &mut body, size).await
}

/// Positions the stored body after the Return-Path line; returns the octets skipped.
async fn skip_return_path(body: &mut postern_store::Body) -> std::io::Result<u64> {
    let mut head = Vec::with_capacity(postern_smtp::trace::RETURN_PATH_HEAD);
    (&mut *body)
        .take(postern_smtp::trace::RETURN_PATH_HEAD as u64)
        .read_to_end(&mut head)
        .await?;
    let skip = postern_smtp::trace::return_path_len(&head) as u64;
    body.seek(std::io::SeekFrom::Start(skip)).await?;
    Ok(skip)
}

fn reply_verdict(res: &RecipientResult, peer: &str, took_dsn: bool) -> Verdict {
    let reply = &res.reply;
    let text = reply.to_string();
    if reply.code < 400 {
        return Verdict::Delivered {
            reply: text,
            mta: peer.to_string(),
            took_dsn,
        };
    }
    let permanent = reply.code >= 500;
    let status = reply.enhanced.clone().unwrap_or_else(|| {
        if permanent {
            "5.0.0".into()
        } else {
            "4.0.0".into()
        }
    });
    Verdict::Failed {
        permanent,
        status,
        diagnostic: text,
        mta: Some(peer.to_string()),
    }
}

/// A failure to talk to a host: a 5xx greeting/EHLO is the host's answer,
/// anything else is a temporary failure of this route.
fn connection_verdict(e: &ClientError, peer: String) -> Verdict {
    Verdict::temporary("4.4.1", format!("{peer}: {e}"), Some(peer))
}

fn route_verdict(e: &RouteError) -> Verdict {
    Verdict::Failed {
        permanent: e.is_permanent(),
        status: e.status.to_string(),
        diagnostic: e.text.clone(),
        mta: None,
    }
}

/// Jobs no server took: every recipient gets `verdict`.
async fn fail_all(sh: &Shared, jobs: Vec<Job>, verdict: Verdict, attempted: bool) {
    for job in jobs {
        if let Some(msg) = load(sh, &job.queue_id).await {
            let verdicts = job
                .recipients
                .iter()
                .map(|id| (*id, verdict.clone()))
                .collect();
            record(sh, &msg, verdicts, attempted, "none").await;
        }
    }
}

async fn load(sh: &Shared, id: &str) -> Option<OutboundMessage> {
    sh.queue.queue_message(id).await.ok()?
}

/// Decides, builds the notice, commits both, logs.
async fn record(
    sh: &Shared,
    msg: &OutboundMessage,
    verdicts: Vec<(i64, Verdict)>,
    attempted: bool,
    tls: &str,
) {
    let now = sh.clock.now();
    let decision = outcome::decide(msg, &verdicts, &sh.policy, now, attempted);
    let notice = match notice::build(
        &sh.directory,
        &*sh.queue,
        &sh.cfg.server.hostname,
        msg,
        &decision.notices,
        now,
    )
    .await
    {
        Ok(n) => n,
        Err(e) => {
            sh.logs.mail(&[
                ("event", "dsn-failed"),
                ("id", &msg.id),
                ("reason", &e.to_string()),
            ]);
            None
        }
    };
    let archive = notice
        .as_ref()
        .and_then(|n| crate::archive::envelope(&sh.cfg.archive, n, &msg.sender, now));
    let notice_delivered_here = notice.as_ref().map_or(0, |n| n.local.len());
    let report = QueueReport {
        queue_id: msg.id.clone(),
        updates: decision.updates.clone(),
        notice,
        archive,
    };
    // Committed together with other runs' results (recorder.rs).
    if let Err(e) = sh.recorder.record(report).await {
        sh.logs.mail(&[
            ("event", "queue-record-failed"),
            ("id", &msg.id),
            ("reason", &e),
        ]);
        return;
    }
    crate::log::outcomes(&sh.logs, msg, &verdicts, &decision, tls);
    // A DSN to a local sender is a local delivery like any other (`GET /metrics`).
    if notice_delivered_here > 0 {
        postern_net::metrics::count(
            postern_net::metrics::Event::Delivered,
            notice_delivered_here as u64,
        );
    }
}

/// Whether a body has octets above 127 (then BODY=8BITMIME, RFC 6152).
async fn has_8bit(f: &mut postern_store::Body) -> bool {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match f.read(&mut buf).await {
            Ok(0) => return false,
            Ok(n) if buf[..n].iter().any(|b| *b >= 0x80) => return true,
            Ok(_) => {}
            Err(_) => return true,
        }
    }
}
