//! RFC 5802 §7 message syntax: the client's two messages.

use base64::{engine::general_purpose::STANDARD, Engine};

use crate::fields::{self, check_name};
use crate::limits::{MAX_MESSAGE_LEN, MAX_NONCE_LEN};
use crate::{saslprep, SaslError};

/// client-first-message, split up.
#[derive(Debug, Clone)]
pub(crate) struct ClientFirst {
    /// gs2-header, verbatim: `c=` must carry it back (§7).
    pub gs2_header: String,
    pub authzid: Option<String>,
    /// The user name, decoded and SASLprep'd.
    pub username: String,
    pub nonce: String,
    /// client-first-message-bare, verbatim, for AuthMessage.
    pub bare: String,
}

/// client-final-message, split up.
pub(crate) struct ClientFinal {
    pub without_proof: String,
    pub proof: Vec<u8>,
}

/// gs2-header = gs2-cbind-flag "," [ authzid ] "," ; then the bare message.
pub(crate) fn parse_client_first(message: &[u8]) -> Result<ClientFirst, SaslError> {
    let s = fields::text(message, "client-first-message", MAX_MESSAGE_LEN)?;
    let (flag, rest) = s
        .split_once(',')
        .ok_or(SaslError::Malformed("gs2-header"))?;
    match flag {
        // "y": the client could bind but thinks we cannot — true, we never
        // advertise -PLUS, so this is no downgrade (RFC 5802 §6).
        "n" | "y" => {}
        f if f.starts_with("p=") => return Err(SaslError::ChannelBindingUnsupported),
        _ => return Err(SaslError::Malformed("gs2-cbind-flag")),
    }
    let (authzid, bare) = rest
        .split_once(',')
        .ok_or(SaslError::Malformed("gs2-header"))?;
    let authzid = match authzid {
        "" => None,
        a => Some(saslname(
            a.strip_prefix("a=")
                .ok_or(SaslError::Malformed("authzid"))?,
            "authzid",
        )?),
    };
    let gs2_header = s[..s.len() - bare.len()].to_string();
    let mut attrs = bare.split(',');
    let first = attrs.next().unwrap_or_default();
    if first.starts_with("m=") {
        return Err(SaslError::UnsupportedExtension);
    }
    let name = first
        .strip_prefix("n=")
        .ok_or(SaslError::Malformed("username"))?;
    let username = saslprep(&saslname(name, "username")?, "username")?;
    check_name(&username, "username")?;
    let nonce = attrs
        .next()
        .and_then(|a| a.strip_prefix("r="))
        .ok_or(SaslError::Malformed("nonce"))?;
    check_nonce(nonce)?;
    extensions(attrs)?;
    Ok(ClientFirst {
        gs2_header,
        authzid,
        username,
        nonce: nonce.to_string(),
        bare: bare.to_string(),
    })
}

/// client-final-message = channel-binding "," nonce ["," extensions] "," proof.
pub(crate) fn parse_client_final(
    message: &[u8],
    first: &ClientFirst,
    nonce: &str,
    proof_len: usize,
) -> Result<ClientFinal, SaslError> {
    let s = fields::text(message, "client-final-message", MAX_MESSAGE_LEN)?;
    let (without_proof, proof) = s.rsplit_once(",p=").ok_or(SaslError::Malformed("proof"))?;
    let proof = STANDARD
        .decode(proof)
        .map_err(|_| SaslError::Malformed("proof"))?;
    if proof.len() != proof_len {
        return Err(SaslError::Malformed("proof"));
    }
    let mut attrs = without_proof.split(',');
    let cbind = attrs
        .next()
        .and_then(|a| a.strip_prefix("c="))
        .ok_or(SaslError::Malformed("channel-binding"))?;
    let cbind = STANDARD
        .decode(cbind)
        .map_err(|_| SaslError::Malformed("channel-binding"))?;
    // §5.1: for "n" and "y" the channel-binding data is the gs2-header alone.
    if cbind != first.gs2_header.as_bytes() {
        return Err(SaslError::ChannelBindingMismatch);
    }
    let r = attrs
        .next()
        .and_then(|a| a.strip_prefix("r="))
        .ok_or(SaslError::Malformed("nonce"))?;
    if r != nonce {
        return Err(SaslError::NonceMismatch);
    }
    extensions(attrs)?;
    Ok(ClientFinal {
        without_proof: without_proof.to_string(),
        proof,
    })
}

/// saslname: "=2C" is ',', "=3D" is '=', any other '=' is an error (§5.1).
pub(crate) fn saslname(s: &str, field: &'static str) -> Result<String, SaslError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err(SaslError::Malformed(field)),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    check_name(&out, field)?;
    Ok(out)
}

/// The inverse of [`saslname`].
pub(crate) fn encode_saslname(s: &str) -> String {
    s.replace('=', "=3D").replace(',', "=2C")
}

/// c-nonce = printable, %x21-7E except ','.
fn check_nonce(nonce: &str) -> Result<(), SaslError> {
    if nonce.len() > MAX_NONCE_LEN {
        return Err(SaslError::TooLong {
            field: "nonce",
            max: MAX_NONCE_LEN,
        });
    }
    if nonce.is_empty() || !nonce.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(SaslError::Malformed("nonce"));
    }
    Ok(())
}

/// extensions = attr-val *("," attr-val); attr-val = ALPHA "=" value.
/// Unknown optional extensions are ignored (§5.1); "m" is mandatory.
fn extensions<'a>(attrs: impl Iterator<Item = &'a str>) -> Result<(), SaslError> {
    for a in attrs {
        let b = a.as_bytes();
        if b.len() < 3 || !b[0].is_ascii_alphabetic() || b[1] != b'=' {
            return Err(SaslError::Malformed("extension"));
        }
        if b[0] == b'm' {
            return Err(SaslError::UnsupportedExtension);
        }
    }
    Ok(())
}
