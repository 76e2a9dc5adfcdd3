//! When to try again, when to give up, when to warn (SPEC M2; RFC 5321
//! §4.5.4.1: retry intervals of at least 30 minutes are suggested, give-up
//! after 4–5 days).

use postern_config::Delivery;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Waits after the 1st, 2nd, … failure; the last repeats.
    pub schedule: Vec<i64>,
    /// Seconds after arrival when a message bounces.
    pub give_up: i64,
    /// Seconds after arrival when the sender is told of the delay.
    pub delay_warning: Option<i64>,
}

/// What follows a temporary failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    At(i64),
    GiveUp,
}

impl RetryPolicy {
    pub fn from_config(d: &Delivery) -> RetryPolicy {
        RetryPolicy {
            schedule: d
                .retry
                .iter()
                .map(|w| w.0.as_secs().max(1) as i64)
                .collect(),
            give_up: d.give_up.0.as_secs() as i64,
            delay_warning: d.delay_warning.0.map(|w| w.as_secs() as i64),
        }
    }

    /// After the `attempts`-th failed attempt (counting this one) at `now` of a
    /// message that arrived at `created`. The last retry is moved to the
    /// give-up time so an expired message bounces on time.
    pub fn after_failure(&self, attempts: u32, created: i64, now: i64) -> Retry {
        let deadline = created.saturating_add(self.give_up);
        if now >= deadline {
            return Retry::GiveUp;
        }
        let idx = (attempts.max(1) as usize - 1).min(self.schedule.len().saturating_sub(1));
        let wait = self.schedule.get(idx).copied().unwrap_or(3600);
        Retry::At(now.saturating_add(wait).min(deadline))
    }

    /// Whether a delay warning is due for a message still waiting.
    pub fn warning_due(&self, created: i64, now: i64, warned: bool) -> bool {
        match self.delay_warning {
            Some(after) if !warned => now >= created.saturating_add(after),
            _ => false,
        }
    }

    /// The give-up time of a message, for "will retry until" in warnings.
    pub fn deadline(&self, created: i64) -> i64 {
        created.saturating_add(self.give_up)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};

    fn default_policy() -> RetryPolicy {
        RetryPolicy::from_config(&Delivery::default())
    }

    #[test]
    fn default_schedule_backs_off_then_hourly() {
        let p = default_policy();
        let clock = ManualClock::at(1_000_000);
        let created = clock.now();
        let mut waits = vec![];
        for attempt in 1..=7 {
            let Retry::At(next) = p.after_failure(attempt, created, clock.now()) else {
                panic!("gave up too early");
            };
            waits.push(next - clock.now());
            clock.advance(next - clock.now());
        }
        assert_eq!(waits, [300, 600, 1200, 2400, 3600, 3600, 3600]);
    }

    #[test]
    fn gives_up_after_five_days_exactly() {
        let p = default_policy();
        let clock = ManualClock::at(0);
        let mut attempts = 0;
        loop {
            attempts += 1;
            match p.after_failure(attempts, 0, clock.now()) {
                Retry::At(next) => clock.advance(next - clock.now()),
                Retry::GiveUp => break,
            }
        }
        assert_eq!(
            clock.now(),
            5 * 86400,
            "the last retry lands on the deadline"
        );
        assert!(attempts > 100);
    }

    #[test]
    fn delay_warning_once_when_configured() {
        let mut p = default_policy();
        assert!(!p.warning_due(0, 10 * 86400, false));
        p.delay_warning = Some(4 * 3600);
        assert!(!p.warning_due(0, 4 * 3600 - 1, false));
        assert!(p.warning_due(0, 4 * 3600, false));
        assert!(!p.warning_due(0, 4 * 3600, true));
    }
}
