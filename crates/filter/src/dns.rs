//! DNS for the stages: mail-auth's lookups through the server's one resolver,
//! with a [`Zone`] consulted first. In the server the zone is empty (the
//! resolver caches answers for their TTL itself); tests put their records
//! in it and point the resolver nowhere.

use mail_auth::common::resolver::ToFqdn;
use mail_auth::{MessageAuthenticator, Parameters, ResolverCache, Txt, MX};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Answers known without asking: names (FQDN, trailing dot) → records.
#[derive(Default)]
pub struct Zone {
    txt: Map<Box<str>, Txt>,
    mx: Map<Box<str>, Arc<[MX]>>,
    ipv4: Map<Box<str>, Arc<[Ipv4Addr]>>,
    ipv6: Map<Box<str>, Arc<[Ipv6Addr]>>,
    ptr: Map<IpAddr, Arc<[Box<str>]>>,
}

struct Map<K, V>(Mutex<HashMap<K, V>>);

impl<K, V> Default for Map<K, V> {
    fn default() -> Self {
        Map(Mutex::new(HashMap::new()))
    }
}

impl<K: Hash + Eq, V: Clone> ResolverCache<K, V> for Map<K, V> {
    fn get<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.lock().ok()?.get(name).cloned()
    }

    fn remove<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.lock().ok()?.remove(name)
    }

    /// The zone holds only what was put in it: resolver answers are cached by the resolver.
    fn insert(&self, _key: K, _value: V, _valid_until: Instant) {}
}

impl Zone {
    fn put<K: Hash + Eq, V>(map: &Map<K, V>, k: K, v: V) {
        if let Ok(mut m) = map.0.lock() {
            m.insert(k, v);
        }
    }

    /// A TXT record, parsed as what it is looked up for (SPF, DKIM key, DMARC).
    pub fn txt<T: Into<Txt>>(&self, name: &str, record: mail_auth::Result<T>) {
        Zone::put(&self.txt, name.to_fqdn(), Txt::from(record));
    }

    pub fn a(&self, name: &str, ips: &[Ipv4Addr]) {
        Zone::put(&self.ipv4, name.to_fqdn(), ips.into());
    }

    pub fn aaaa(&self, name: &str, ips: &[Ipv6Addr]) {
        Zone::put(&self.ipv6, name.to_fqdn(), ips.into());
    }

    pub fn mx(&self, name: &str, hosts: &[(u16, &str)]) {
        let mx: Vec<MX> = hosts
            .iter()
            .map(|(p, h)| MX {
                preference: *p,
                exchanges: vec![h.to_fqdn()].into_boxed_slice(),
            })
            .collect();
        Zone::put(&self.mx, name.to_fqdn(), mx.into());
    }

    pub fn ptr(&self, ip: IpAddr, names: &[&str]) {
        let v: Vec<Box<str>> = names.iter().map(|n| n.to_fqdn()).collect();
        Zone::put(&self.ptr, ip, v.into());
    }
}

/// Lookups made and answers received during one check (RFC 7208 §4.6.4
/// void lookups are the difference: NXDOMAIN, no records, or no answer).
#[derive(Default)]
pub(crate) struct Counter {
    asked: AtomicU32,
    answered: AtomicU32,
}

impl Counter {
    pub fn void_lookups(&self) -> u32 {
        let asked = self.asked.load(Ordering::Relaxed);
        asked.saturating_sub(self.answered.load(Ordering::Relaxed))
    }
}

/// The zone seen through one check's counter.
pub(crate) struct Counted<'z, K, V> {
    map: &'z Map<K, V>,
    counter: &'z Counter,
}

impl<K: Hash + Eq, V: Clone> ResolverCache<K, V> for Counted<'_, K, V> {
    fn get<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let found = self.map.get(name);
        if found.is_none() {
            self.counter.asked.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    fn remove<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.remove(name)
    }

    /// mail-auth stores each answer it got from the resolver: count it.
    fn insert(&self, _key: K, _value: V, _valid_until: Instant) {
        self.counter.answered.fetch_add(1, Ordering::Relaxed);
    }
}

/// What the stages look up through.
#[derive(Clone)]
pub struct Lookups {
    pub(crate) auth: MessageAuthenticator,
    pub(crate) zone: Arc<Zone>,
}

/// mail-auth's parameters with our zone, counted, as every cache.
pub(crate) type Params<'x, P> = Parameters<
    'x,
    P,
    Counted<'x, Box<str>, Txt>,
    Counted<'x, Box<str>, Arc<[MX]>>,
    Counted<'x, Box<str>, Arc<[Ipv4Addr]>>,
    Counted<'x, Box<str>, Arc<[Ipv6Addr]>>,
    Counted<'x, IpAddr, Arc<[Box<str>]>>,
>;

/// The five caches of one check.
pub(crate) struct Caches<'x> {
    txt: Counted<'x, Box<str>, Txt>,
    mx: Counted<'x, Box<str>, Arc<[MX]>>,
    ipv4: Counted<'x, Box<str>, Arc<[Ipv4Addr]>>,
    ipv6: Counted<'x, Box<str>, Arc<[Ipv6Addr]>>,
    ptr: Counted<'x, IpAddr, Arc<[Box<str>]>>,
}

impl<'x> Caches<'x> {
    pub fn params<P>(&'x self, p: P) -> Params<'x, P> {
        Parameters {
            params: p,
            cache_txt: Some(&self.txt),
            cache_mx: Some(&self.mx),
            cache_ptr: Some(&self.ptr),
            cache_ipv4: Some(&self.ipv4),
            cache_ipv6: Some(&self.ipv6),
        }
    }

    pub fn txt(&self) -> &Counted<'x, Box<str>, Txt> {
        &self.txt
    }
}

impl Lookups {
    /// Lookups through `resolver` (the server's shared one) and nothing else.
    pub fn new(resolver: mail_auth::hickory_resolver::TokioResolver) -> Lookups {
        Lookups::with_zone(resolver, Zone::default())
    }

    /// Lookups answered from `zone` first (tests).
    pub fn with_zone(resolver: mail_auth::hickory_resolver::TokioResolver, zone: Zone) -> Lookups {
        Lookups {
            auth: MessageAuthenticator(resolver),
            zone: Arc::new(zone),
        }
    }

    /// Caches for one check, counting its lookups in `counter`.
    pub(crate) fn caches<'x>(&'x self, counter: &'x Counter) -> Caches<'x> {
        let z = &self.zone;
        Caches {
            txt: Counted {
                map: &z.txt,
                counter,
            },
            mx: Counted {
                map: &z.mx,
                counter,
            },
            ipv4: Counted {
                map: &z.ipv4,
                counter,
            },
            ipv6: Counted {
                map: &z.ipv6,
                counter,
            },
            ptr: Counted {
                map: &z.ptr,
                counter,
            },
        }
    }

    /// The A records the zone holds for `name`, if it holds any (DNS lists).
    pub(crate) fn zone_a(&self, name: &str) -> Option<Arc<[Ipv4Addr]>> {
        self.zone.ipv4.get::<str>(&name.to_fqdn())
    }

    /// Whether the zone answers `name`'s TXT itself (then nothing is asked).
    pub(crate) fn zone_has_txt(&self, name: &str) -> bool {
        self.zone.txt.get::<str>(&name.to_fqdn()).is_some()
    }
}
