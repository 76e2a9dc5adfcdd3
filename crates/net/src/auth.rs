//! What every protocol does after a failed login, in one place: the failure
//! is counted by the brute-force guard (SPEC X7, [`crate::security`]) for the
//! connection's client address and for the account, the reply waits, and the
//! session ends after a few failures or once its address is blocked. Unknown
//! user and wrong password both land here, so neither the answer nor its
//! timing tells them apart.

use std::time::Duration;

/// Failed logins in one session before it is closed.
pub const MAX_AUTH_FAILURES: u32 = 3;
/// How long the answer to a failed login waits.
pub const AUTH_FAILURE_DELAY: Duration = Duration::from_secs(1);

/// Counts a failed login of `user` (the name the client gave; may be
/// empty) and waits out the failure delay; true when the session must now
/// close: it failed too often, or its client address is blocked.
pub async fn after_failed_login(failures: u32, user: &str) -> bool {
    let guard = async {
        match crate::security::current_connection() {
            Some((security, listener, ip)) => security.failed_login(listener, ip, user).await,
            None => false,
        }
    };
    let (blocked, ()) = tokio::join!(guard, tokio::time::sleep(AUTH_FAILURE_DELAY));
    blocked || failures >= MAX_AUTH_FAILURES
}

/// After a successful POP3 or IMAP login: the client address may relay by
/// SMTP for `smtp.pop_before_smtp` (SPEC X2).
pub fn after_mailbox_login() {
    if let Some((security, _, ip)) = crate::security::current_connection() {
        security.note_mailbox_login(ip);
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test(start_paused = true)]
    async fn delays_then_closes_at_the_limit() {
        let start = tokio::time::Instant::now();
        assert!(!super::after_failed_login(1, "a@b.c").await);
        assert!(start.elapsed() >= super::AUTH_FAILURE_DELAY);
        assert!(super::after_failed_login(super::MAX_AUTH_FAILURES, "").await);
    }
}
