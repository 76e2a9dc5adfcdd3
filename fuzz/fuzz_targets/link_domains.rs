//! The DNS lists' parsers of hostile message bytes (issue 16 item 1): link
//! domains for URIBLs and the Received client address for `spam check`.
//! Checked: never a panic; at most MAX_LINK_DOMAINS distinct domains, each a
//! lower-case name of at most 253 octets without empty labels; the same
//! bytes give the same answers; the address found is never loopback.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_filter::links::{link_domains, MAX_LINK_DOMAINS};
use postern_filter::received::received_client_ip;

fuzz_target!(|data: &[u8]| {
    let d = link_domains(data);
    assert!(d.len() <= MAX_LINK_DOMAINS);
    for (i, name) in d.iter().enumerate() {
        assert!(name.len() <= 253 && !name.is_empty(), "{name}");
        assert!(!name.split('.').any(str::is_empty), "{name}");
        assert_eq!(*name, name.to_lowercase());
        assert!(!d[..i].contains(name), "{name} twice");
    }
    assert_eq!(d, link_domains(data));
    let ip = received_client_ip(data);
    assert!(ip.is_none_or(|ip| !ip.is_loopback()));
    assert_eq!(ip, received_client_ip(data));
});
