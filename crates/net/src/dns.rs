//! The one resolver every lookup of the server goes through (issue 15):
//! outbound delivery (MX, A, AAAA) and message authentication (SPF, DKIM,
//! DMARC). hickory caches answers for their TTL (negative answers for the
//! SOA minimum); the server to ask is `dns.resolver` (alias
//! `delivery.resolver`), else the system's. A changed address takes effect
//! at the next lookup after a reload, with a fresh cache.

use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig};
use hickory_resolver::name_server::TokioConnectionProvider;
pub use hickory_resolver::TokioResolver;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Time for one query to one server before it is tried again.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);
/// Tries per query (so a silent server costs at most 2 × QUERY_TIMEOUT).
pub const QUERY_ATTEMPTS: usize = 2;
/// Answers kept in the cache (hickory's LRU; each expires at its TTL).
pub const CACHE_ENTRIES: usize = 4096;

/// The resolver in use and the address it was built for.
type Current = Option<(Option<SocketAddr>, TokioResolver)>;

/// The shared resolver, rebuilt when its configured address changes.
#[derive(Clone, Default)]
pub struct SharedResolver {
    current: Arc<Mutex<Current>>,
}

impl SharedResolver {
    /// The resolver asking `server` (None: the system's servers).
    pub fn get(&self, server: Option<SocketAddr>) -> Result<TokioResolver, String> {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((addr, r)) = current.as_ref() {
            if *addr == server {
                return Ok(r.clone());
            }
        }
        let r = build(server)?;
        *current = Some((server, r.clone()));
        Ok(r)
    }
}

fn build(server: Option<SocketAddr>) -> Result<TokioResolver, String> {
    let mut builder = match server {
        Some(sa) => {
            let group = NameServerConfigGroup::from_ips_clear(&[sa.ip()], sa.port(), true);
            TokioResolver::builder_with_config(
                ResolverConfig::from_parts(None, vec![], group),
                TokioConnectionProvider::default(),
            )
        }
        None => TokioResolver::builder_tokio()
            .map_err(|e| format!("cannot read the system's DNS configuration: {e}"))?,
    };
    let opts = builder.options_mut();
    opts.timeout = QUERY_TIMEOUT;
    opts.attempts = QUERY_ATTEMPTS;
    opts.ndots = 0;
    opts.cache_size = CACHE_ENTRIES;
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_resolver_per_address() {
        let shared = SharedResolver::default();
        let a: SocketAddr = "127.0.0.1:5353".parse().unwrap();
        let b: SocketAddr = "127.0.0.2:53".parse().unwrap();
        let first = shared.get(Some(a)).unwrap();
        let again = shared.get(Some(a)).unwrap();
        let cfg = |r: &TokioResolver| format!("{:?}", r.config().name_servers());
        assert_eq!(cfg(&first), cfg(&again));
        let other = shared.get(Some(b)).unwrap();
        assert!(cfg(&other).contains("127.0.0.2"), "{}", cfg(&other));
        assert_eq!(other.options().timeout, QUERY_TIMEOUT);
    }
}
