//! One SASL exchange (RFC 4422) driven the same way for SMTP AUTH
//! (RFC 4954), IMAP AUTHENTICATE (RFC 9051 §6.2.2) and POP3 AUTH
//! (RFC 5034): the protocol only frames challenges and answers
//! ([`SaslIo`]); looking users up, checking passwords and the authorisation
//! identity happen here. Unknown users, wrong passwords, missing mechanism
//! secrets and refused authorisation identities all end as
//! [`Outcome::Failed`], so the protocols cannot tell them apart either.

use crate::policy::Gate;
use postern_config::Auth;
use postern_directory::prelude::*;
use postern_directory::UserInfo;
use postern_sasl::{
    ErrorClass, FinalData, Mechanism, SaslError, ServerConfig, ServerExchange, Step,
};
use postern_store::{Secret, Store, StoreError};
use std::future::Future;

/// How one protocol carries an exchange.
pub trait SaslIo: Send {
    /// Why the exchange stopped early: the client's `*`, bad base64, an
    /// over-long line, a closed connection — as the protocol answers it.
    type Abort: Send;

    /// Sends `challenge` (raw bytes: the protocol base64s and frames them)
    /// and returns the client's decoded answer.
    fn challenge(
        &mut self,
        challenge: Vec<u8>,
    ) -> impl Future<Output = Result<Vec<u8>, Self::Abort>> + Send;

    /// Runs a store lookup or a password check off the async workers;
    /// `None` if it could not run. The future must not borrow the session.
    fn blocking<R: Send + 'static>(
        &self,
        job: impl FnOnce() -> R + Send + 'static,
    ) -> impl Future<Output = Option<R>> + Send + 'static;
}

/// How an exchange ended.
#[derive(Debug)]
pub enum Outcome<A> {
    Success(UserInfo),
    /// Counts as a failed login; `authcid` is for the security log.
    Failed {
        authcid: String,
    },
    /// The client broke the mechanism's syntax or limits.
    Malformed(SaslError),
    /// Well-formed but refused (NTLMv1, channel binding…).
    Refused(SaslError),
    Aborted(A),
    /// The store could not answer: a temporary failure.
    Unavailable,
}

/// The mechanisms to advertise and accept now: those enabled that the
/// security policy's `gate` allows (SPEC X4, [`crate::policy`]): the ones
/// that send the password in the clear only where it is open (RFC 4954 §4,
/// RFC 9051 §11.1), none at all where only TLS may be started.
pub fn offered(auth: &Auth, gate: Gate) -> Vec<Mechanism> {
    if !gate.commands() {
        return Vec::new();
    }
    auth.enabled_mechanisms()
        .into_iter()
        .filter_map(|name| Mechanism::from_name(name).ok())
        .filter(|m| gate.plaintext_auth() || !m.sends_plaintext())
        .collect()
}

/// What every exchange of one service shares. Additional data with
/// success goes as a last challenge in all three protocols (RFC 4954 §4;
/// IMAP and POP3 clients handle it the same way, RFC 4422 §5 item 3f).
pub fn server_config(
    store: &Store,
    hostname: &str,
    service: &str,
    auth: &Auth,
) -> Result<ServerConfig, StoreError> {
    let mut config = ServerConfig::new(hostname, service, store.sasl_server_secret()?);
    config.scram_iterations = auth.scram_iterations;
    config.final_data = FinalData::AsChallenge;
    Ok(config)
}

/// Runs `exchange` to its end, starting with the command's initial
/// response when it carried one.
pub async fn authenticate<T: SaslIo>(
    io: &mut T,
    store: &Store,
    mut exchange: ServerExchange,
    initial: Option<&[u8]>,
) -> Outcome<T::Abort> {
    let mut authcid = String::new();
    let mut user: Option<UserInfo> = None;
    let mut step = exchange.start(initial);
    loop {
        step = match step {
            Step::Challenge(data) => match io.challenge(data).await {
                Ok(answer) => exchange.step(&answer),
                Err(abort) => return Outcome::Aborted(abort),
            },
            Step::NeedSecrets { authcid: name, .. } => {
                let store = store.clone();
                let lookup = name.clone();
                authcid = name;
                match io.blocking(move || store.sasl_user(&lookup)).await {
                    Some(Ok(found)) => {
                        let secrets = found.map(|u| {
                            user = Some(u.info);
                            u.secrets
                        });
                        exchange.provide(secrets.as_ref())
                    }
                    _ => return Outcome::Unavailable,
                }
            }
            Step::VerifyPassword {
                authcid: name,
                password,
                ..
            } => {
                let store = store.clone();
                let lookup = name.clone();
                authcid = name;
                // The dummy-hash check for unknown users is the store's (password.rs).
                let password = Secret::new(password.expose().clone());
                match io
                    .blocking(move || store.authenticate(&lookup, &password))
                    .await
                {
                    Some(Ok(found)) => {
                        let ok = found.is_some();
                        user = found;
                        exchange.password_checked(ok)
                    }
                    _ => return Outcome::Unavailable,
                }
            }
            Step::Success {
                authcid: name,
                authzid,
                ..
            } => return success(user, name, authzid.as_deref()),
            Step::Failure(e) => return failure(e, authcid),
        };
    }
}

/// RFC 4422 §3.4.1: no proxy authorisation here, so an authorisation
/// identity must name the authenticated user.
fn success<A>(user: Option<UserInfo>, authcid: String, authzid: Option<&str>) -> Outcome<A> {
    let Some(user) = user else {
        return Outcome::Unavailable;
    };
    match authzid {
        None | Some("") => Outcome::Success(user),
        Some(z) if z.eq_ignore_ascii_case(&user.address) => Outcome::Success(user),
        Some(_) => Outcome::Failed { authcid },
    }
}

fn failure<A>(error: SaslError, authcid: String) -> Outcome<A> {
    match error.class() {
        ErrorClass::Credentials => Outcome::Failed { authcid },
        ErrorClass::Syntax => Outcome::Malformed(error),
        ErrorClass::Refused => Outcome::Refused(error),
        ErrorClass::Internal => Outcome::Unavailable,
    }
}

/// POP3 APOP (RFC 1939 §7): `digest` for the greeting's `timestamp`. An
/// unknown user, or one whose password is not kept, fails like a wrong digest.
pub async fn apop<T: SaslIo>(
    io: &T,
    store: &Store,
    timestamp: &str,
    name: &str,
    digest: &str,
) -> Outcome<T::Abort> {
    let (store, lookup) = (store.clone(), name.to_string());
    let Some(Ok(found)) = io.blocking(move || store.sasl_user(&lookup)).await else {
        return Outcome::Unavailable;
    };
    let (info, password) = match found {
        Some(u) => (Some(u.info), u.apop),
        None => (None, None),
    };
    match postern_sasl::apop::verify(timestamp, password.as_ref(), digest) {
        Ok(()) => success(info, name.to_string(), None),
        Err(e) => failure(e, name.to_string()),
    }
}

#[cfg(test)]
mod tests;
