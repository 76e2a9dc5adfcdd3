//! The three NTLM messages ([MS-NLMP] §2.2.1) on the wire.

use crate::limits::{MAX_NAME_LEN, MAX_NTLM_FIELD_LEN, MAX_NTLM_RESPONSE_LEN};
use crate::ntlm::hash::utf16le;
use crate::SaslError;

pub(crate) const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// NegotiateFlags bits ([MS-NLMP] §2.2.2.5) this crate uses.
pub(crate) mod flags {
    pub const UNICODE: u32 = 0x0000_0001;
    pub const OEM: u32 = 0x0000_0002;
    pub const REQUEST_TARGET: u32 = 0x0000_0004;
    pub const NTLM: u32 = 0x0000_0200;
    pub const ALWAYS_SIGN: u32 = 0x0000_8000;
    pub const TARGET_TYPE_SERVER: u32 = 0x0002_0000;
    pub const EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
    pub const TARGET_INFO: u32 = 0x0080_0000;
    pub const NEGOTIATE_128: u32 = 0x2000_0000;
}

/// AV_PAIR ids ([MS-NLMP] §2.2.2.1).
pub(crate) mod av {
    pub const EOL: u16 = 0;
    pub const NB_COMPUTER_NAME: u16 = 1;
    pub const NB_DOMAIN_NAME: u16 = 2;
    pub const DNS_COMPUTER_NAME: u16 = 3;
    pub const DNS_DOMAIN_NAME: u16 = 4;
}

/// Header, signature and message type.
pub(crate) fn check_header(msg: &[u8], kind: u32, min_len: usize) -> Result<(), SaslError> {
    if msg.len() < min_len || &msg[..8] != SIGNATURE {
        return Err(SaslError::Malformed("NTLM message header"));
    }
    if u32_at(msg, 8) != kind {
        return Err(SaslError::Malformed("NTLM message type"));
    }
    Ok(())
}

pub(crate) fn u16_at(msg: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([msg[at], msg[at + 1]])
}

pub(crate) fn u32_at(msg: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(msg[at..at + 4].try_into().expect("4 bytes"))
}

/// The payload a security buffer at `at` points to (Len, MaxLen, Offset).
pub(crate) fn field<'a>(
    msg: &'a [u8],
    at: usize,
    max: usize,
    name: &'static str,
) -> Result<&'a [u8], SaslError> {
    let len = usize::from(u16_at(msg, at));
    let offset = u32_at(msg, at + 4) as usize;
    if len > max {
        return Err(SaslError::TooLong { field: name, max });
    }
    msg.get(offset..offset.saturating_add(len))
        .ok_or(SaslError::Malformed(name))
}

/// NEGOTIATE_MESSAGE (§2.2.1.1): only its flags matter here.
pub(crate) fn parse_negotiate(msg: &[u8]) -> Result<u32, SaslError> {
    check_header(msg, 1, 16)?;
    Ok(u32_at(msg, 12))
}

/// The names the server announces, from its hostname.
pub(crate) struct Target {
    pub netbios: String,
    pub dns_computer: String,
    pub dns_domain: String,
}

impl Target {
    pub(crate) fn from_hostname(hostname: &str) -> Target {
        let first = hostname.split('.').next().unwrap_or(hostname);
        let netbios: String = first.to_uppercase().chars().take(15).collect();
        let dns_domain = hostname.split_once('.').map_or(hostname, |(_, d)| d);
        Target {
            netbios,
            dns_computer: hostname.into(),
            dns_domain: dns_domain.into(),
        }
    }

    /// TargetInfo AV pairs (§2.2.2.1), ending with MsvAvEOL.
    fn info(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let pairs = [
            (av::NB_DOMAIN_NAME, &self.netbios),
            (av::NB_COMPUTER_NAME, &self.netbios),
            (av::DNS_DOMAIN_NAME, &self.dns_domain),
            (av::DNS_COMPUTER_NAME, &self.dns_computer),
        ];
        for (id, value) in pairs {
            let v = utf16le(value);
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&(v.len() as u16).to_le_bytes());
            out.extend_from_slice(&v);
        }
        out.extend_from_slice(&av::EOL.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }
}

/// The flags the server answers with: what the client asked for among
/// those we honour; no signing, sealing or key exchange (no security layer).
pub(crate) fn challenge_flags(client: u32) -> u32 {
    let charset = if client & flags::UNICODE != 0 {
        flags::UNICODE
    } else {
        flags::OEM
    };
    let echoed = client & (flags::EXTENDED_SESSIONSECURITY | flags::NEGOTIATE_128);
    charset
        | echoed
        | flags::REQUEST_TARGET
        | flags::NTLM
        | flags::ALWAYS_SIGN
        | flags::TARGET_TYPE_SERVER
        | flags::TARGET_INFO
}

/// CHALLENGE_MESSAGE (§2.2.1.2): 56-byte header (Version left zero),
/// then TargetName and TargetInfo.
pub(crate) fn challenge_message(flags: u32, challenge: &[u8; 8], target: &Target) -> Vec<u8> {
    let name = if flags & flags::UNICODE != 0 {
        utf16le(&target.netbios)
    } else {
        target.netbios.as_bytes().to_vec()
    };
    let info = target.info();
    let mut m = Vec::with_capacity(56 + name.len() + info.len());
    m.extend_from_slice(SIGNATURE);
    m.extend_from_slice(&2u32.to_le_bytes());
    push_buffer(&mut m, name.len(), 56);
    m.extend_from_slice(&flags.to_le_bytes());
    m.extend_from_slice(challenge);
    m.extend_from_slice(&[0; 8]);
    push_buffer(&mut m, info.len(), 56 + name.len());
    m.extend_from_slice(&[0; 8]);
    m.extend_from_slice(&name);
    m.extend_from_slice(&info);
    m
}

pub(crate) fn push_buffer(m: &mut Vec<u8>, len: usize, offset: usize) {
    m.extend_from_slice(&(len as u16).to_le_bytes());
    m.extend_from_slice(&(len as u16).to_le_bytes());
    m.extend_from_slice(&(offset as u32).to_le_bytes());
}

/// AUTHENTICATE_MESSAGE (§2.2.1.3), the fields the server checks.
pub(crate) struct Authenticate {
    pub user: String,
    pub domain: String,
    pub nt_response: Vec<u8>,
}

/// Header fields: Lm 12, Nt 20, Domain 28, User 36, Workstation 44,
/// EncryptedRandomSessionKey 52, NegotiateFlags 60.
pub(crate) fn parse_authenticate(msg: &[u8]) -> Result<Authenticate, SaslError> {
    check_header(msg, 3, 64)?;
    let unicode = u32_at(msg, 60) & flags::UNICODE != 0;
    let nt_response = field(msg, 20, MAX_NTLM_RESPONSE_LEN, "NtChallengeResponse")?.to_vec();
    let domain = decode(
        field(msg, 28, MAX_NTLM_FIELD_LEN, "DomainName")?,
        unicode,
        "DomainName",
    )?;
    let user = decode(
        field(msg, 36, MAX_NTLM_FIELD_LEN, "UserName")?,
        unicode,
        "UserName",
    )?;
    field(msg, 44, MAX_NTLM_FIELD_LEN, "Workstation")?;
    Ok(Authenticate {
        user,
        domain,
        nt_response,
    })
}

/// UTF-16LE with NTLMSSP_NEGOTIATE_UNICODE, else OEM (read as ISO 8859-1).
fn decode(bytes: &[u8], unicode: bool, name: &'static str) -> Result<String, SaslError> {
    let s = if unicode {
        if !bytes.len().is_multiple_of(2) {
            return Err(SaslError::Malformed(name));
        }
        let units = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]));
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map_err(|_| SaslError::InvalidUtf8(name))?
    } else {
        bytes.iter().map(|&b| char::from(b)).collect()
    };
    if s.len() > MAX_NAME_LEN {
        return Err(SaslError::TooLong {
            field: name,
            max: MAX_NAME_LEN,
        });
    }
    Ok(s)
}
