//! MX and address lookups through the server's one resolver
//! (`postern_net::dns`: `dns.resolver`, tests start their own on loopback).

use hickory_resolver::proto::ProtoError;
use hickory_resolver::TokioResolver;
use std::net::IpAddr;

/// A failed lookup: the name does not exist (permanent) or DNS did not answer (temporary).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error("{0}: no such domain")]
    NoSuchDomain(String),
    #[error("{0}: DNS lookup failed: {1}")]
    Temporary(String, String),
}

/// The MX records of a domain, or their absence (RFC 5321 §5.1: then the
/// domain itself is the implicit MX).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MxAnswer {
    /// (preference, exchange) with the trailing dot removed; "" is the null MX's ".".
    Records(Vec<(u16, String)>),
    None,
}

#[derive(Clone)]
pub struct Dns {
    resolver: TokioResolver,
}

impl Dns {
    /// Lookups through `resolver` (the server's shared one).
    pub fn new(resolver: TokioResolver) -> Dns {
        Dns { resolver }
    }

    pub async fn mx(&self, domain: &str) -> Result<MxAnswer, DnsError> {
        match self.resolver.mx_lookup(fqdn(domain)).await {
            Ok(found) => Ok(MxAnswer::Records(
                found
                    .iter()
                    .map(|mx| (mx.preference(), strip_dot(&mx.exchange().to_utf8())))
                    .collect(),
            )),
            Err(e) => no_records(domain, e).map(|()| MxAnswer::None),
        }
    }

    /// A and AAAA addresses of a host (empty when it has none).
    pub async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, DnsError> {
        match self.resolver.lookup_ip(fqdn(host)).await {
            Ok(found) => Ok(found.iter().collect()),
            Err(e) => no_records(host, e).map(|()| vec![]),
        }
    }
}

/// "No records of this type" is an answer; NXDOMAIN and failures are errors.
fn no_records(name: &str, e: ProtoError) -> Result<(), DnsError> {
    if e.is_nx_domain() {
        Err(DnsError::NoSuchDomain(name.to_string()))
    } else if e.is_no_records_found() {
        Ok(())
    } else {
        Err(DnsError::Temporary(name.to_string(), e.to_string()))
    }
}

fn fqdn(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

fn strip_dot(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}
