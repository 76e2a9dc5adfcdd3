//! MX and address lookups through the server's one resolver
//! (`postern_net::dns`: `dns.resolver`, tests start their own on loopback).
//! TXT and SRV lookups serve `postern dns --check`.

use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::{ProtoError, ProtoErrorKind};
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

/// "No records of this type" is an answer; NXDOMAIN and failures are errors.
/// hickory reports SERVFAIL and REFUSED as "no records" too: those are
/// temporary (issue 15: never read a DNS failure as an answer).
fn no_records(name: &str, e: ProtoError) -> Result<(), DnsError> {
    let code = match e.kind() {
        ProtoErrorKind::NoRecordsFound(n) => Some(n.response_code),
        _ => None,
    };
    match code {
        _ if e.is_nx_domain() => Err(DnsError::NoSuchDomain(name.to_string())),
        Some(ResponseCode::NoError) => Ok(()),
        Some(ResponseCode::NXDomain) => Err(DnsError::NoSuchDomain(name.to_string())),
        _ => Err(DnsError::Temporary(name.to_string(), e.to_string())),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A DNS server on loopback answering every query with `rcode`.
    fn answering(rcode: u8) -> std::net::SocketAddr {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = sock.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while let Ok((n, from)) = sock.recv_from(&mut buf) {
                let mut reply = buf[..n].to_vec();
                // QR, RD, RA and the response code; the question (and OPT) echoed.
                reply[2] = 0x81;
                reply[3] = 0x80 | rcode;
                let _ = sock.send_to(&reply, from);
            }
        });
        addr
    }

    #[tokio::test]
    async fn servfail_is_temporary_nxdomain_is_not() {
        let shared = postern_net::dns::SharedResolver::default();
        let dns = Dns::new(shared.get(Some(answering(2))).unwrap());
        assert!(matches!(
            dns.mx("x.example").await,
            Err(DnsError::Temporary(..))
        ));
        assert!(matches!(
            dns.addresses("x.example").await,
            Err(DnsError::Temporary(..))
        ));
        let shared = postern_net::dns::SharedResolver::default();
        let dns = Dns::new(shared.get(Some(answering(3))).unwrap());
        assert!(matches!(
            dns.mx("x.example").await,
            Err(DnsError::NoSuchDomain(_))
        ));
    }
}
