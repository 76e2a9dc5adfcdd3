//! When the running server takes its next backup (`backup.schedule`):
//! "daily HH:MM" (UTC) or an interval ("6h", "30m", "1d"). Pure: the
//! caller passes the clock's now, so tests need no waiting.

/// Seconds in a day.
const DAY: i64 = 86_400;
/// The shortest interval accepted: backups back to back would never rest.
pub const MIN_INTERVAL: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Every day at this many seconds after midnight UTC.
    Daily(i64),
    /// Every this many seconds.
    Every(i64),
}

impl Schedule {
    pub fn parse(s: &str) -> Result<Schedule, String> {
        let s = s.trim();
        if let Some(at) = s.strip_prefix("daily") {
            return parse_hhmm(at.trim())
                .map(Schedule::Daily)
                .ok_or_else(|| format!("`{s}`: expected \"daily HH:MM\" (UTC)"));
        }
        let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
        let n: i64 = num
            .parse()
            .map_err(|_| format!("`{s}`: expected \"daily HH:MM\" or an interval like 6h"))?;
        let secs = match unit.trim() {
            "s" => n,
            "m" => n * 60,
            "h" => n * 3600,
            "d" => n * DAY,
            _ => return Err(format!("`{s}`: the unit is one of s, m, h, d")),
        };
        if secs < MIN_INTERVAL {
            return Err(format!("`{s}`: at least {MIN_INTERVAL} s between backups"));
        }
        Ok(Schedule::Every(secs))
    }

    /// The first backup time strictly after `now` (Unix seconds).
    pub fn next_after(&self, now: i64) -> i64 {
        match *self {
            Schedule::Every(secs) => now + secs,
            Schedule::Daily(at) => {
                let today = now - now.rem_euclid(DAY) + at;
                if today > now {
                    today
                } else {
                    today + DAY
                }
            }
        }
    }
}

fn parse_hhmm(s: &str) -> Option<i64> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 3600 + m * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_is_the_next_occurrence() {
        let s = Schedule::parse("daily 03:00").unwrap();
        let midnight = 20 * DAY;
        assert_eq!(s.next_after(midnight), midnight + 3 * 3600);
        // At 03:00 exactly the next one is tomorrow's.
        assert_eq!(s.next_after(midnight + 3 * 3600), midnight + DAY + 3 * 3600);
        assert_eq!(s.next_after(midnight + 5 * 3600), midnight + DAY + 3 * 3600);
    }

    #[test]
    fn intervals_and_their_minimum() {
        assert_eq!(Schedule::parse("6h").unwrap(), Schedule::Every(6 * 3600));
        assert_eq!(Schedule::parse("1d").unwrap().next_after(10), 10 + DAY);
        assert_eq!(Schedule::parse("60s").unwrap(), Schedule::Every(60));
        assert!(Schedule::parse("59s").is_err());
        assert!(Schedule::parse("daily 24:00").is_err());
        assert!(Schedule::parse("weekly").is_err());
    }
}
