//! The Sender Rewriting Scheme (issue 15, item 9), as libsrs2 and postsrsd
//! write it: mail from outside that a local alias forwards to another
//! domain leaves with the envelope sender
//! `SRS0=HHHH=TT=orig-domain=orig-local@forwarding-domain`, so SPF at the
//! next hop checks our domain, not the original sender's. A bounce to that
//! address is reversed to the original sender; one whose hash does not
//! match, or that is older than [`MAX_AGE_DAYS`], reaches nobody.
//!
//! TT is the day number modulo 1024 in two base32 letters; HHHH the first
//! four base64 characters of HMAC-SHA1(key, TT ‖ domain ‖ local), lowercased
//! first (some MTAs change the case of local parts), compared without case.
//! The key is derived from the server key (server_key.rs).

use crate::address::split_address;
use crate::db::Db;
use crate::domains::Domains;
use base64::Engine;
use postern_store::StoreError;
use ring::hmac;

/// A bounce to an SRS address older than this many days is refused
/// (libsrs2's default maximum age).
pub const MAX_AGE_DAYS: u32 = 21;
/// Length of the hash in an address (libsrs2's default).
pub const HASH_LEN: usize = 4;
/// Days wrap around at this (two base32 letters).
const TIME_SLOTS: u32 = 1024;
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const PREFIX: &str = "SRS0=";

/// Today's day number (Unix days), the SRS clock.
pub fn today() -> u32 {
    (crate::db::now() / 86_400) as u32
}

fn stamp(day: u32) -> String {
    let t = day % TIME_SLOTS;
    [BASE32[(t >> 5) as usize & 31], BASE32[t as usize & 31]]
        .iter()
        .map(|b| *b as char)
        .collect()
}

fn unstamp(tt: &str) -> Option<u32> {
    let v: Vec<u32> = tt
        .bytes()
        .map(|b| {
            BASE32
                .iter()
                .position(|c| *c == b.to_ascii_uppercase())
                .map(|p| p as u32)
        })
        .collect::<Option<_>>()?;
    match v[..] {
        [hi, lo] => Some(hi << 5 | lo),
        _ => None,
    }
}

fn hash(key: &[u8], tt: &str, domain: &str, local: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key);
    let data = format!("{tt}{domain}{local}").to_lowercase();
    let tag = hmac::sign(&key, data.as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD.encode(tag.as_ref());
    b64[..HASH_LEN].to_string()
}

/// `sender` rewritten for a copy `forwarder` sends on, on day `day`.
pub fn forward(key: &[u8], sender: &str, forwarder: &str, day: u32) -> String {
    let (local, domain) = sender.rsplit_once('@').unwrap_or((sender, ""));
    let tt = stamp(day);
    let h = hash(key, &tt, domain, local);
    format!("{PREFIX}{h}={tt}={domain}={local}@{forwarder}")
}

/// Why an SRS address is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum SrsError {
    Malformed,
    BadHash,
    Expired,
}

/// The original sender of an SRS0 local part, if its hash and age hold on day `day`.
pub fn reverse(key: &[u8], local_part: &str, day: u32) -> Result<String, SrsError> {
    let rest = local_part
        .get(..PREFIX.len())
        .filter(|p| p.eq_ignore_ascii_case(PREFIX))
        .map(|_| &local_part[PREFIX.len()..])
        .ok_or(SrsError::Malformed)?;
    let mut parts = rest.splitn(4, '=');
    let (Some(h), Some(tt), Some(domain), Some(local)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SrsError::Malformed);
    };
    if domain.is_empty() || local.is_empty() {
        return Err(SrsError::Malformed);
    }
    if !hash(key, tt, domain, local).eq_ignore_ascii_case(h) {
        return Err(SrsError::BadHash);
    }
    let then = unstamp(tt).ok_or(SrsError::Malformed)?;
    let age = (day % TIME_SLOTS + TIME_SLOTS - then) % TIME_SLOTS;
    if age > MAX_AGE_DAYS {
        return Err(SrsError::Expired);
    }
    Ok(format!("{local}@{domain}"))
}

/// The key SRS hashes with, derived from the server key (stable across restarts).
fn srs_key<S: Db + ?Sized>(s: &S) -> Result<[u8; 32], StoreError> {
    s.store().derived_key(b"postern-srs-v1")
}

pub trait Srs: Db {
    /// `sender` as the envelope sender of a copy that `forwarder` (a local
    /// domain) sends on to another domain.
    fn srs_forward(&self, sender: &str, forwarder: &str) -> Result<String, StoreError> {
        Ok(forward(&srs_key(self)?, sender, forwarder, today()))
    }
}

impl Srs for postern_store::Store {}

/// For an SRS0 address in a local domain: `Some` of the original sender,
/// or `Some(None)` when the address is forged or expired (it reaches
/// nobody). `None` for other addresses.
pub(crate) fn srs_original<S: Db + Domains + ?Sized>(
    s: &S,
    address: &str,
) -> Result<Option<Option<String>>, StoreError> {
    let Some((local, domain)) = split_address(address) else {
        return Ok(None);
    };
    let srs = local.len() > PREFIX.len() && local[..PREFIX.len()].eq_ignore_ascii_case(PREFIX);
    if !srs || !s.is_local_domain(&domain)? {
        return Ok(None);
    }
    Ok(Some(reverse(&srs_key(s)?, local, today()).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use postern_store::Store;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const DAY: u32 = 20_794; // 2026-12-07

    #[test]
    fn forward_then_reverse() {
        let a = forward(KEY, "Carol@example.net", "example.org", DAY);
        let (local, domain) = a.rsplit_once('@').unwrap();
        assert_eq!(domain, "example.org");
        assert!(
            local.starts_with("SRS0=") && local.ends_with("=example.net=Carol"),
            "{a}"
        );
        assert_eq!(
            local.split('=').nth(2),
            Some("J2"),
            "day 20794 % 1024 = 314 = 9·32 + 26: J, 2"
        );
        assert_eq!(reverse(KEY, local, DAY).unwrap(), "Carol@example.net");
        // Case changed on the way back (the hash and stamp are compared without case).
        assert_eq!(
            reverse(KEY, &local.to_lowercase(), DAY).unwrap(),
            "carol@example.net"
        );
    }

    #[test]
    fn forged_malformed_and_expired_are_refused() {
        let a = forward(KEY, "carol@example.net", "example.org", DAY);
        let local = a.rsplit_once('@').unwrap().0;
        let other_key = b"another key, another hash........";
        assert_eq!(reverse(other_key, local, DAY), Err(SrsError::BadHash));
        let redirected = local.replace("=carol", "=mallory");
        assert_eq!(reverse(KEY, &redirected, DAY), Err(SrsError::BadHash));
        assert_eq!(
            reverse(KEY, "SRS0=abcd=UC=example.net", DAY),
            Err(SrsError::Malformed)
        );
        assert_eq!(reverse(KEY, "bob", DAY), Err(SrsError::Malformed));
        assert_eq!(
            reverse(KEY, local, DAY + MAX_AGE_DAYS).unwrap(),
            "carol@example.net"
        );
        assert_eq!(
            reverse(KEY, local, DAY + MAX_AGE_DAYS + 1),
            Err(SrsError::Expired)
        );
    }

    #[test]
    fn the_day_stamp_wraps_around() {
        assert_eq!(stamp(0), "AA");
        assert_eq!(stamp(1023), "77");
        assert_eq!(stamp(1024), "AA");
        assert_eq!(unstamp("77"), Some(1023));
        let a = forward(KEY, "c@example.net", "example.org", 1023);
        let local = a.rsplit_once('@').unwrap().0;
        assert_eq!(reverse(KEY, local, 1024 + 5).unwrap(), "c@example.net");
    }

    #[test]
    fn store_reverses_only_its_own_addresses() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        s.domain_add("example.org").unwrap();
        let a = s.srs_forward("carol@example.net", "example.org").unwrap();
        let e = s.expand(&a).unwrap();
        assert_eq!(
            e.remote.into_iter().collect::<Vec<_>>(),
            ["carol@example.net"]
        );
        assert!(e.local.is_empty());
        let forged = a.replacen("SRS0=", "SRS0=x", 1);
        assert!(s.expand(&forged).unwrap().is_empty());
        // In another domain it is just a remote address.
        let theirs = a.replace("@example.org", "@example.net");
        assert!(s.expand(&theirs).unwrap().remote.contains(&theirs));
    }
}
