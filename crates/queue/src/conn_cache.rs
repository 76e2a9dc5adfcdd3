//! Connections kept open between delivery runs. A run that has no more
//! messages parks its connection (after a clean transaction) for
//! `delivery.connection_cache_time`; the next run to the same server — same
//! host and address, port, TLS requirements, AUTH user, EHLO name and source
//! address — takes it instead of connecting, after an RSET shows it is still
//! alive (RFC 5321 §4.1.1.5). This is what Postfix calls connection caching
//! (`smtp_connection_cache_time_limit`, 2 s; `smtp_connection_reuse_time_limit`,
//! 300 s). Every open outbound connection, busy or parked, holds a [`Slot`]:
//! a new connection that would exceed `max_connections` closes the oldest
//! parked one first. `max_per_domain` limits runs, not parked connections: an
//! idle connection delivers to no domain (through a relay or a shared MX it
//! may next serve another), and the run that takes it holds its domain's
//! share. At shutdown the parked connections are closed with QUIT.

use crate::connect::Opened;
use crate::route::{Hop, Plan, Security};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// A connection is not reused once it is this old, however busy it is
/// (Postfix's `smtp_connection_reuse_time_limit`): long-lived sessions are
/// where server-side limits and leaks bite.
pub const REUSE_TIME_LIMIT: Duration = Duration::from_secs(300);

/// How long the liveness RSET of a parked connection may take; a server
/// that is this slow is dropped and a fresh connection made instead.
pub const CHECK_WAIT: Duration = Duration::from_secs(10);

/// At shutdown, how long the QUITs of parked connections get at least, even
/// when the shutdown deadline has passed (within serve's scheduler slack).
pub const CLOSE_WAIT: Duration = Duration::from_millis(500);

/// Where a connection goes and how it was set up: a parked connection is
/// reused only for exactly the same.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dest {
    pub host: String,
    pub addr: SocketAddr,
    pub security: Security,
    /// The relay's AUTH user, when it logs in.
    pub auth: Option<String>,
    pub helo: String,
    pub source: Option<IpAddr>,
}

impl Dest {
    pub fn new(plan: &Plan, hop: &Hop, ip: IpAddr, helo: &str, source: Option<IpAddr>) -> Dest {
        Dest {
            host: hop.name.clone(),
            addr: SocketAddr::new(ip, hop.port),
            security: plan.security.clone(),
            auth: plan.auth.as_ref().map(|(user, _)| user.clone()),
            helo: helo.to_string(),
            source,
        }
    }

    /// Every server of `plan`, in the plan's order.
    pub fn all(plan: &Plan, helo: &str, source: Option<IpAddr>) -> Vec<Dest> {
        let hops = plan.hops.iter();
        hops.flat_map(|h| h.addrs.iter().map(move |ip| (h, *ip)))
            .map(|(h, ip)| Dest::new(plan, h, ip, helo, source))
            .collect()
    }
}

/// One open connection and what it has done.
pub struct Conn {
    pub opened: Opened,
    /// Messages sent over it so far, in every run that used it.
    pub sent: usize,
    /// Whether the next message needs an RSET first (one went before it).
    pub needs_rset: bool,
    born: Instant,
    _slot: Slot,
}

impl Conn {
    pub fn new(opened: Opened, slot: Slot) -> Conn {
        Conn {
            opened,
            sent: 0,
            needs_rset: false,
            born: Instant::now(),
            _slot: slot,
        }
    }

    async fn quit(self) {
        self.opened.session.quit().await;
    }
}

/// One open connection counted against `max_connections`; freed on drop.
pub struct Slot(Arc<Mutex<Inner>>);

impl Drop for Slot {
    fn drop(&mut self) {
        lock(&self.0).open -= 1;
    }
}

struct Parked {
    id: u64,
    dest: Dest,
    conn: Conn,
}

#[derive(Default)]
struct Inner {
    /// Oldest first.
    parked: Vec<Parked>,
    /// Connections open, busy or parked (live [`Slot`]s).
    open: usize,
    next: u64,
    /// Shutdown: park nothing more.
    closed: bool,
}

fn lock(m: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Clone, Default)]
pub struct ConnCache(Arc<Mutex<Inner>>);

impl ConnCache {
    /// A slot for a new connection. When `max` are open already, the oldest
    /// parked connection is closed with QUIT first, and only then is the slot
    /// given: `max_connections` holds at the receivers too, never max + 1
    /// for the moment a QUIT is under way (the QUIT is bounded by its timeout).
    pub async fn slot(&self, max: usize) -> Slot {
        let evicted = {
            let mut inner = lock(&self.0);
            let full = inner.open >= max && !inner.parked.is_empty();
            let evicted = full.then(|| inner.parked.remove(0));
            inner.open += 1;
            evicted
        };
        if let Some(p) = evicted {
            p.conn.quit().await;
        }
        Slot(self.0.clone())
    }

    /// Connections open (busy or parked).
    #[cfg(test)]
    pub fn open(&self) -> usize {
        lock(&self.0).open
    }

    /// Connections parked.
    #[cfg(test)]
    pub fn parked(&self) -> usize {
        lock(&self.0).parked.len()
    }

    /// Keeps `conn` for the next run to `dest` for `ttl`, or closes it with
    /// QUIT when it may not be kept: caching off, shutdown begun, the
    /// session unusable, `max_messages` sent over it, or the connection
    /// past [`REUSE_TIME_LIMIT`].
    pub async fn park(&self, dest: Dest, conn: Conn, ttl: Duration, max_messages: usize) {
        let keep = !ttl.is_zero()
            && conn.sent < max_messages
            && !conn.opened.session.is_broken()
            && conn.born.elapsed() < REUSE_TIME_LIMIT;
        let refused = {
            let mut inner = lock(&self.0);
            if keep && !inner.closed {
                let id = inner.next;
                inner.next += 1;
                inner.parked.push(Parked { id, dest, conn });
                self.expire_after(id, ttl);
                None
            } else {
                Some(conn)
            }
        };
        if let Some(conn) = refused {
            conn.quit().await;
        }
    }

    /// Closes parked connection `id` with QUIT after `ttl`, if still parked.
    fn expire_after(&self, id: u64, ttl: Duration) {
        let inner = self.0.clone();
        tokio::spawn(async move {
            tokio::time::sleep(ttl).await;
            let expired = {
                let mut inner = lock(&inner);
                let at = inner.parked.iter().position(|p| p.id == id);
                at.map(|i| inner.parked.remove(i))
            };
            if let Some(p) = expired {
                p.conn.quit().await;
            }
        });
    }

    /// The most recently parked connection to `dest`, if any; not checked.
    fn take(&self, dest: &Dest) -> Option<Conn> {
        let mut inner = lock(&self.0);
        let at = inner.parked.iter().rposition(|p| &p.dest == dest)?;
        Some(inner.parked.remove(at).conn)
    }

    /// A parked connection to one of `dests` (in their order) that answers
    /// RSET. Those that do not are dropped: the server closed them while
    /// they waited, which is no failed delivery attempt.
    pub async fn take_live(&self, dests: &[Dest]) -> Option<(Dest, Conn)> {
        for dest in dests {
            while let Some(mut conn) = self.take(dest) {
                if conn.opened.session.rset_within(CHECK_WAIT).await.is_ok() {
                    conn.needs_rset = false;
                    return Some((dest.clone(), conn));
                }
            }
        }
        None
    }

    /// Shutdown: parks nothing more and closes every parked connection with
    /// QUIT, waiting for the replies until `deadline` (or [`CLOSE_WAIT`]).
    pub async fn close_all(&self, deadline: Instant) {
        let deadline = deadline.max(Instant::now() + CLOSE_WAIT);
        let parked = {
            let mut inner = lock(&self.0);
            inner.closed = true;
            std::mem::take(&mut inner.parked)
        };
        let mut quits = JoinSet::new();
        for p in parked {
            quits.spawn(p.conn.quit());
        }
        let _ = tokio::time::timeout_at(deadline, async {
            while quits.join_next().await.is_some() {}
        })
        .await;
    }
}

#[cfg(test)]
mod tests;
