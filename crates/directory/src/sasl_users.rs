//! What a login by a challenge-response mechanism needs of a user: their
//! mechanism secrets (mech_secrets.rs), opened with the server key.

use crate::db::Db;
use crate::mech_secrets::{aad, APOP};
use crate::users::{UserInfo, Users};
use postern_sasl::{CramMd5Secret, DigestMd5Secret, Mechanism, NtHash, ScramKeys, UserSecrets};
use postern_store::{StoreError, UserId};
use std::collections::BTreeMap;

/// What the SASL layer needs of one enabled user.
pub struct SaslUser {
    pub info: UserInfo,
    pub secrets: UserSecrets,
    /// The password for APOP, when kept.
    pub apop: Option<postern_sasl::Secret<String>>,
}

/// Puts one opened secret where postern-sasl looks for it; malformed ones are left out.
fn place(user: &mut SaslUser, mechanism: &str, bytes: &[u8]) {
    let s = &mut user.secrets;
    let scram = || ScramKeys::from_rfc5803(std::str::from_utf8(bytes).ok()?).ok();
    match mechanism {
        "SCRAM-SHA-256" => s.scram_sha256 = scram(),
        "SCRAM-SHA-1" => s.scram_sha1 = scram(),
        "CRAM-MD5" => s.cram_md5 = bytes.try_into().ok().map(CramMd5Secret::from_bytes),
        "DIGEST-MD5" => s.digest_md5 = bytes.try_into().ok().map(DigestMd5Secret::from_bytes),
        "NTLM" => s.nt_hash = bytes.try_into().ok().map(NtHash::from_bytes),
        APOP => {
            user.apop = String::from_utf8(bytes.to_vec())
                .ok()
                .map(postern_sasl::Secret::new)
        }
        _ => {}
    }
}

pub trait MechSecrets: Db + Users {
    /// An enabled user's mechanism secrets, opened; `None` for an unknown or
    /// disabled user.
    fn sasl_user(&self, address: &str) -> Result<Option<SaslUser>, StoreError> {
        let Some(info) = self.user_by_address(address)?.filter(|u| u.enabled) else {
            return Ok(None);
        };
        let rows: Vec<(String, Vec<u8>)> = {
            let conn = self.reader()?;
            let mut st =
                conn.prepare("SELECT mechanism, sealed FROM user_mech_secrets WHERE user_id = ?1")?;
            let rows = st.query_map([info.id.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let address = info.address.clone();
        let mut user = SaslUser {
            info,
            secrets: UserSecrets::default(),
            apop: None,
        };
        for (mechanism, sealed) in rows {
            if let Some(bytes) = self.store().unseal(&aad(&address, &mechanism), &sealed)? {
                place(&mut user, &mechanism, &bytes);
            }
        }
        Ok(Some(user))
    }

    /// Which mechanism secrets each user has (names only, nothing opened),
    /// in `Mechanism::ALL` order, APOP last.
    fn user_mechanisms(&self) -> Result<BTreeMap<UserId, Vec<String>>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare("SELECT user_id, mechanism FROM user_mech_secrets")?;
        let rows = st.query_map([], |r| Ok((UserId(r.get(0)?), r.get::<_, String>(1)?)))?;
        let mut out: BTreeMap<UserId, Vec<String>> = BTreeMap::new();
        for row in rows {
            let (user, mechanism) = row?;
            out.entry(user).or_default().push(mechanism);
        }
        let rank = |m: &String| {
            Mechanism::ALL
                .iter()
                .position(|k| k.name() == m)
                .unwrap_or(Mechanism::ALL.len())
        };
        out.values_mut().for_each(|v| v.sort_by_key(rank));
        Ok(out)
    }
}

impl MechSecrets for postern_store::Store {}
