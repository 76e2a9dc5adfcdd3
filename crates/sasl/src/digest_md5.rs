//! DIGEST-MD5 (RFC 2831), authentication only (qop=auth): no integrity or
//! confidentiality layer, no subsequent authentication (nc is always 1).
//!
//! Stored secret: H(username ":" realm ":" password), 16 bytes (RFC 2831
//! §2.1.2.1). It binds the user name and the realm (the server hostname):
//! re-derive it when either changes. It is password-equivalent for
//! DIGEST-MD5: keep it encrypted at rest.

mod directives;

use self::directives::{parse_directives, quote, Directives};
use crate::crypto::{ct_eq, hex, md5, unhex16};
use crate::exchange::{MechServer, ServerConfig, Step};
use crate::fake::fake_bytes;
use crate::limits::MAX_DIGEST_RESPONSE_LEN;
use crate::{NonceSource, SaslError, Secret, UserSecrets};

/// H(username:realm:password).
#[derive(Debug, Clone)]
pub struct DigestMd5Secret(Secret<[u8; 16]>);

impl DigestMd5Secret {
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        DigestMd5Secret(Secret::new(bytes))
    }

    pub fn expose(&self) -> &[u8; 16] {
        self.0.expose()
    }
}

/// RFC 2831 §2.1.2.1: with charset=utf-8, a user name or password whose
/// characters all fit ISO 8859-1 is hashed in ISO 8859-1.
pub fn digest_md5_secret(username: &str, realm: &str, password: &str) -> DigestMd5Secret {
    let user = latin1_or_utf8(username);
    let pass = zeroize::Zeroizing::new(latin1_or_utf8(password));
    DigestMd5Secret::from_bytes(md5(&[&user, b":", realm.as_bytes(), b":", &pass]))
}

fn latin1_or_utf8(s: &str) -> Vec<u8> {
    if s.chars().all(|c| u32::from(c) <= 0xff) {
        s.chars().map(|c| u32::from(c) as u8).collect()
    } else {
        s.as_bytes().to_vec()
    }
}

/// The values both sides hash (RFC 2831 §2.1.2.1).
pub(crate) struct Params<'a> {
    pub nonce: &'a str,
    pub cnonce: &'a str,
    pub nc: &'a str,
    pub digest_uri: &'a str,
    pub authzid: Option<&'a str>,
}

/// response-value; `method` is "AUTHENTICATE" for the client's response
/// and "" for the server's rspauth (§2.1.3). qop is always "auth".
pub(crate) fn response_value(secret: &DigestMd5Secret, p: &Params, method: &str) -> String {
    let mut a1 = zeroize::Zeroizing::new(secret.expose().to_vec());
    for part in [":", p.nonce, ":", p.cnonce] {
        a1.extend_from_slice(part.as_bytes());
    }
    if let Some(z) = p.authzid {
        a1.extend_from_slice(format!(":{z}").as_bytes());
    }
    let ha1 = hex(&md5(&[&a1]));
    let ha2 = hex(&md5(&[method.as_bytes(), b":", p.digest_uri.as_bytes()]));
    let kd = [ha1.as_str(), p.nonce, p.nc, p.cnonce, "auth", ha2.as_str()].join(":");
    hex(&md5(&[kd.as_bytes()]))
}

/// What the client sent, checked for syntax.
struct Response {
    username: String,
    realm: Option<String>,
    nonce: String,
    cnonce: String,
    nc: String,
    qop: String,
    digest_uri: String,
    response: [u8; 16],
    authzid: Option<String>,
}

fn parse_response(input: &[u8]) -> Result<Response, SaslError> {
    if input.len() >= MAX_DIGEST_RESPONSE_LEN {
        let max = MAX_DIGEST_RESPONSE_LEN;
        return Err(SaslError::TooLong {
            field: "digest-response",
            max,
        });
    }
    let d = parse_directives(input)?;
    let utf8 = match d.get("charset") {
        None => false,
        Some(c) if c.eq_ignore_ascii_case(b"utf-8") => true,
        Some(_) => return Err(SaslError::Malformed("charset")),
    };
    let response = d.required("response")?;
    Ok(Response {
        username: d.name("username", utf8)?,
        realm: d.optional_text("realm", utf8)?,
        nonce: d.ascii("nonce")?,
        cnonce: d.ascii("cnonce")?,
        nc: d.ascii("nc")?,
        qop: d
            .optional_text("qop", false)?
            .unwrap_or_else(|| "auth".into()),
        digest_uri: d.ascii("digest-uri")?,
        response: unhex16(response).ok_or(SaslError::Malformed("response"))?,
        authzid: d.optional_name("authzid", utf8)?,
    })
}

pub(crate) struct DigestMd5Server {
    realm: String,
    nonce: String,
    service: String,
    server_secret: [u8; 32],
    pending: Option<Response>,
}

impl DigestMd5Server {
    pub(crate) fn new(config: &ServerConfig, nonces: &mut dyn NonceSource) -> Self {
        DigestMd5Server {
            realm: config.hostname.clone(),
            nonce: nonces.text(),
            service: config.service.clone(),
            server_secret: *config.server_secret.expose(),
            pending: None,
        }
    }

    /// RFC 2831 §2.1.1, in the order of its §4 example.
    fn challenge(&self) -> Vec<u8> {
        let (realm, nonce) = (quote(&self.realm), quote(&self.nonce));
        format!("realm={realm},nonce={nonce},qop=\"auth\",algorithm=md5-sess,charset=utf-8")
            .into_bytes()
    }

    /// RFC 2831 §2.1.2: our nonce, nc 1 (no reauthentication), qop auth,
    /// our realm, and a digest-uri for this service.
    fn check(&self, r: &Response) -> Result<(), SaslError> {
        if r.nonce != self.nonce || r.nc != "00000001" {
            return Err(SaslError::NonceMismatch);
        }
        if r.qop != "auth" {
            return Err(SaslError::UnsupportedQop);
        }
        if r.realm.as_deref() != Some(self.realm.as_str()) {
            return Err(SaslError::Malformed("realm"));
        }
        let serv_type = r.digest_uri.split('/').next().unwrap_or_default();
        if !serv_type.eq_ignore_ascii_case(&self.service) || !r.digest_uri.contains('/') {
            return Err(SaslError::Malformed("digest-uri"));
        }
        if r.cnonce.is_empty() {
            return Err(SaslError::Malformed("cnonce"));
        }
        Ok(())
    }

    fn fake(&self, user: &str) -> DigestMd5Secret {
        let mut bytes = [0u8; 16];
        fake_bytes(&self.server_secret, "digest-md5", user, &mut bytes);
        DigestMd5Secret::from_bytes(bytes)
    }
}

impl MechServer for DigestMd5Server {
    fn start(&mut self, _initial: Option<&[u8]>) -> Step {
        Step::Challenge(self.challenge())
    }

    fn step(&mut self, input: &[u8]) -> Step {
        let response = match parse_response(input).and_then(|r| self.check(&r).map(|()| r)) {
            Ok(r) => r,
            Err(e) => return Step::Failure(e),
        };
        let step = Step::NeedSecrets {
            authcid: response.username.clone(),
            authzid: response.authzid.clone(),
        };
        self.pending = Some(response);
        step
    }

    fn provide(&mut self, secrets: Option<&UserSecrets>) -> Step {
        let Some(r) = self.pending.take() else {
            return Step::Failure(SaslError::OutOfSequence("provide"));
        };
        let stored = secrets.and_then(|s| s.digest_md5.as_ref());
        let genuine = stored.is_some();
        let secret = stored.cloned().unwrap_or_else(|| self.fake(&r.username));
        let params = Params {
            nonce: &r.nonce,
            cnonce: &r.cnonce,
            nc: &r.nc,
            digest_uri: &r.digest_uri,
            authzid: r.authzid.as_deref(),
        };
        let expected = response_value(&secret, &params, "AUTHENTICATE");
        let matches = ct_eq(expected.as_bytes(), hex(&r.response).as_bytes());
        if !(matches && genuine) {
            return Step::Failure(SaslError::AuthenticationFailed);
        }
        let rspauth = format!("rspauth={}", response_value(&secret, &params, ""));
        Step::Success {
            authcid: r.username,
            authzid: r.authzid,
            final_data: Some(rspauth.into_bytes()),
        }
    }
}

/// The client side, for tests: the response to `challenge` and the rspauth
/// the server must answer with.
pub(crate) fn client_response(
    challenge: &[u8],
    creds: &crate::client::DigestMd5Credentials,
) -> Result<(Vec<u8>, Vec<u8>), SaslError> {
    let d: Directives = parse_directives(challenge)?;
    let realm = d.optional_text("realm", true)?.unwrap_or_default();
    let nonce = d.ascii("nonce")?;
    let digest_uri = format!("{}/{}", creds.service, creds.host);
    let params = Params {
        nonce: &nonce,
        cnonce: creds.cnonce,
        nc: "00000001",
        digest_uri: &digest_uri,
        authzid: creds.authzid,
    };
    let secret = digest_md5_secret(creds.username, &realm, creds.password);
    let mut msg = format!(
        "charset=utf-8,username={},realm={},nonce={},nc=00000001,cnonce={},digest-uri={},response={},qop=auth",
        quote(creds.username),
        quote(&realm),
        quote(&nonce),
        quote(creds.cnonce),
        quote(&digest_uri),
        response_value(&secret, &params, "AUTHENTICATE"),
    );
    if let Some(z) = creds.authzid {
        msg.push_str(&format!(",authzid={}", quote(z)));
    }
    let rspauth = format!("rspauth={}", response_value(&secret, &params, ""));
    Ok((msg.into_bytes(), rspauth.into_bytes()))
}

#[cfg(test)]
mod tests;
