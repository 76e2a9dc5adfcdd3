//! IP address groups (SPEC X1, seed 004: "Host or Network/Mask or Address
//! Range"): the entries an admin writes, and whether a client address is in
//! a group. Pure: no I/O, no store.
//!
//! An entry is a host (`192.0.2.7`, `2001:db8::7`), a network in CIDR form
//! (`192.0.2.0/24`, `2001:db8::/32`) or with a dotted mask
//! (`192.0.2.0/255.255.255.0`), or an inclusive range (`192.0.2.10-192.0.2.20`).
//! A leading `!` makes it an exclusion. An address is in a group when some
//! entry includes it and no exclusion does: exclusions win.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Longest group name accepted.
pub const MAX_NAME_LEN: usize = 64;

/// Why an entry or a group name was refused; the text tells the admin what to write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("empty entry")]
    Empty,
    #[error("`{0}` is not an IP address")]
    Address(String),
    #[error("`{0}`: prefix length must be 0-32 for IPv4, 0-128 for IPv6, or a dotted mask like 255.255.255.0")]
    Prefix(String),
    #[error("`{entry}` has host bits set; did you mean {suggest}?")]
    HostBits { entry: String, suggest: String },
    #[error("`{0}`: a range must go from the lower to the higher address of one family")]
    Range(String),
    #[error("`{0}` is not a group name (letters, digits, `-`, `_`, `.`; at most 64 characters)")]
    Name(String),
}

/// What one entry covers, before any `!`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    Host(IpAddr),
    Network(IpAddr, u8),
    Range(IpAddr, IpAddr),
}

/// One line of a group: a span, maybe excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub span: Span,
    pub exclude: bool,
}

/// A parsed group, ready for lookups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpGroup {
    entries: Vec<Entry>,
}

/// Checks a group name; names compare without regard to case.
pub fn check_name(name: &str) -> Result<(), EntryError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(EntryError::Name(name.into()))
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) is the IPv4 address it carries.
pub fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

impl IpGroup {
    pub fn new(entries: Vec<Entry>) -> IpGroup {
        IpGroup { entries }
    }

    /// Parses every entry; the first bad one is the error.
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<IpGroup, EntryError> {
        let entries = entries
            .into_iter()
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        Ok(IpGroup { entries })
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// True when an entry includes `ip` and no exclusion does.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        let mut included = false;
        for e in &self.entries {
            if e.span.contains(ip) {
                if e.exclude {
                    return false;
                }
                included = true;
            }
        }
        included
    }
}

impl Span {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match *self {
            Span::Host(h) => h == ip,
            Span::Network(net, len) => same_family(net, ip) && masked(ip, len) == bits(net),
            Span::Range(a, b) => same_family(a, ip) && (bits(a)..=bits(b)).contains(&bits(ip)),
        }
    }
}

fn same_family(a: IpAddr, b: IpAddr) -> bool {
    a.is_ipv4() == b.is_ipv4()
}

/// The address as a number (IPv4 in the low 32 bits).
fn bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u32::from(v4) as u128,
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn width(ip: IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

/// `ip` with all but its first `len` bits cleared.
fn masked(ip: IpAddr, len: u8) -> u128 {
    let host = width(ip) - len;
    if host >= 128 {
        0
    } else {
        bits(ip) >> host << host
    }
}

fn from_bits(like: IpAddr, n: u128) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(n as u32)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(n)),
    }
}

fn address(text: &str) -> Result<IpAddr, EntryError> {
    text.trim()
        .parse::<IpAddr>()
        .map(canonical)
        .map_err(|_| EntryError::Address(text.trim().into()))
}

/// `24`, or a dotted IPv4 mask whose ones are contiguous.
fn prefix(net: IpAddr, text: &str, entry: &str) -> Result<u8, EntryError> {
    let bad = || EntryError::Prefix(entry.into());
    if let Ok(n) = text.parse::<u8>() {
        return if n <= width(net) { Ok(n) } else { Err(bad()) };
    }
    let mask = match (net, text.parse::<Ipv4Addr>()) {
        (IpAddr::V4(_), Ok(m)) => u32::from(m),
        _ => return Err(bad()),
    };
    if mask.leading_ones() + mask.trailing_zeros() == 32 {
        Ok(mask.leading_ones() as u8)
    } else {
        Err(bad())
    }
}

fn network(text: &str, net: &str, len: &str) -> Result<Span, EntryError> {
    let net = address(net)?;
    let len = prefix(net, len.trim(), text)?;
    if masked(net, len) != bits(net) {
        let suggest = format!("{}/{len}", from_bits(net, masked(net, len)));
        return Err(EntryError::HostBits {
            entry: text.into(),
            suggest,
        });
    }
    Ok(Span::Network(net, len))
}

fn range(text: &str, a: &str, b: &str) -> Result<Span, EntryError> {
    let (a, b) = (address(a)?, address(b)?);
    if !same_family(a, b) || bits(a) > bits(b) {
        return Err(EntryError::Range(text.into()));
    }
    Ok(Span::Range(a, b))
}

impl FromStr for Entry {
    type Err = EntryError;

    fn from_str(text: &str) -> Result<Entry, EntryError> {
        let text = text.trim();
        let (exclude, rest) = match text.strip_prefix('!') {
            Some(r) => (true, r.trim()),
            None => (false, text),
        };
        if rest.is_empty() {
            return Err(EntryError::Empty);
        }
        let span = if let Some((net, len)) = rest.split_once('/') {
            network(rest, net, len)?
        } else if let Some((a, b)) = rest.split_once('-') {
            range(rest, a, b)?
        } else {
            Span::Host(address(rest)?)
        };
        Ok(Entry { span, exclude })
    }
}

/// The canonical spelling, as `ipgroup list` shows and the store keeps it.
impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.exclude {
            f.write_str("!")?;
        }
        match self.span {
            Span::Host(ip) => write!(f, "{ip}"),
            Span::Network(ip, len) => write!(f, "{ip}/{len}"),
            Span::Range(a, b) => write!(f, "{a}-{b}"),
        }
    }
}

#[cfg(test)]
mod tests;
