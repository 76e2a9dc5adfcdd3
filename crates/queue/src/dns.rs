//! MX and address lookups through hickory-resolver. The server to ask is
//! `delivery.resolver` (tests start their own on loopback) or the system's.
//! TXT and SRV lookups serve `postern dns --check`.

use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::{ProtoError, ProtoErrorKind};
use hickory_resolver::TokioResolver;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

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
    /// A resolver asking `server`, or the system's configured servers when None.
    pub fn new(server: Option<SocketAddr>) -> Result<Dns, String> {
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
        opts.timeout = Duration::from_secs(5);
        opts.attempts = 2;
        opts.ndots = 0;
        Ok(Dns {
            resolver: builder.build(),
        })
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

impl Dns {
    /// The TXT records at `name`, each record's strings joined (RFC 7208
    /// §3.3, RFC 6376 §3.6.2.2); empty when there are none.
    pub async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        match self.resolver.txt_lookup(fqdn(name)).await {
            Ok(found) => Ok(found
                .iter()
                .map(|txt| {
                    let bytes: Vec<u8> = txt
                        .txt_data()
                        .iter()
                        .flat_map(|s| s.iter().copied())
                        .collect();
                    String::from_utf8_lossy(&bytes).into_owned()
                })
                .collect()),
            Err(e) => no_records(name, e).map(|()| vec![]),
        }
    }

    /// The SRV records at `name` (RFC 2782): (priority, weight, port, target).
    pub async fn srv(&self, name: &str) -> Result<Vec<(u16, u16, u16, String)>, DnsError> {
        match self.resolver.srv_lookup(fqdn(name)).await {
            Ok(found) => Ok(found
                .iter()
                .map(|s| {
                    let target = strip_dot(&s.target().to_utf8());
                    (s.priority(), s.weight(), s.port(), target)
                })
                .collect()),
            Err(e) => no_records(name, e).map(|()| vec![]),
        }
    }
}

/// "No records of this type" (NOERROR, empty) is an answer; NXDOMAIN and
/// failures are errors — a SERVFAIL or REFUSED, which hickory also reports
/// as "no records", among them: it is not "no MX" (RFC 5321 §5.1).
fn no_records(name: &str, e: ProtoError) -> Result<(), DnsError> {
    let empty = matches!(e.kind(), ProtoErrorKind::NoRecordsFound(n) if n.response_code == ResponseCode::NoError);
    if e.is_nx_domain() {
        Err(DnsError::NoSuchDomain(name.to_string()))
    } else if empty {
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
