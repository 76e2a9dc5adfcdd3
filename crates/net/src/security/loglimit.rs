//! What the security log's rate limit (postern_logs::limit) needs from net:
//! the injectable clock, and the client key — an IPv6 client is limited by
//! its /64, like every other per-client count (issue 6).

use crate::client_key::ClientKey;
use crate::clock::Clock;
use postern_logs::limit::LimitContext;
use std::sync::Arc;

pub struct LogLimitContext(pub Arc<dyn Clock>);

impl LimitContext for LogLimitContext {
    fn now(&self) -> i64 {
        self.0.now()
    }

    /// An address as its client key; anything else (a CLI `client=`) as it is.
    fn client_key(&self, client: &str) -> String {
        client
            .parse::<ClientKey>()
            .map_or_else(|_| client.to_string(), |k| k.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn clock_and_keys() {
        let c = LogLimitContext(Arc::new(ManualClock::at(42)));
        assert_eq!(c.now(), 42);
        assert_eq!(c.client_key("2001:db8:1:2::5"), "2001:db8:1:2::/64");
        assert_eq!(c.client_key("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(c.client_key("cli"), "cli");
    }
}
