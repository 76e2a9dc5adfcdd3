//! What every protocol does after a failed login, in one place until the
//! brute-force guard (X7) replaces it: the reply waits, and after a few
//! failures the session ends. Unknown user and wrong password both land here,
//! so neither the answer nor its timing tells them apart.

use std::time::Duration;

/// Failed logins in one session before it is closed.
pub const MAX_AUTH_FAILURES: u32 = 3;
/// How long the answer to a failed login waits.
pub const AUTH_FAILURE_DELAY: Duration = Duration::from_secs(1);

/// Waits out the failure delay; true when the session has now failed too often and must close.
pub async fn after_failed_login(failures: u32) -> bool {
    tokio::time::sleep(AUTH_FAILURE_DELAY).await;
    failures >= MAX_AUTH_FAILURES
}

#[cfg(test)]
mod tests {
    #[tokio::test(start_paused = true)]
    async fn delays_then_closes_at_the_limit() {
        let start = tokio::time::Instant::now();
        assert!(!super::after_failed_login(1).await);
        assert!(start.elapsed() >= super::AUTH_FAILURE_DELAY);
        assert!(super::after_failed_login(super::MAX_AUTH_FAILURES).await);
    }
}
