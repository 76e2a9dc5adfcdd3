//! Organisational domains (RFC 7489 §3.2) from the Public Suffix List
//! compiled into the `psl` crate.

/// The organisational domain of `domain` (lower case, no trailing dot): its
/// public suffix plus one label; the name itself when it has no known suffix
/// or is a suffix.
pub fn org_domain(domain: &str) -> String {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    match psl::domain_str(&d) {
        Some(org) => org.to_string(),
        None => d,
    }
}

#[cfg(test)]
mod tests {
    use super::org_domain;

    #[test]
    fn public_suffixes_are_respected() {
        assert_eq!(org_domain("mail.example.com"), "example.com");
        assert_eq!(org_domain("a.b.example.co.uk"), "example.co.uk");
        assert_eq!(org_domain("Example.ORG."), "example.org");
        // Private suffixes of the list count too (github.io is one).
        assert_eq!(org_domain("alice.github.io"), "alice.github.io");
        assert_eq!(org_domain("co.uk"), "co.uk");
    }
}
