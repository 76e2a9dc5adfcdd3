//! The dashboard's counts over the last day, taken from the logs (A5):
//! messages in (`event=accepted` in mail.log) and out (`event=outbound
//! result=sent`) per hour, and failed logins (`event=auth-failed` in
//! security.log). Pure: the caller feeds lines newest first and stops when
//! [`Tally::add`] says the line is older than the window.

/// Hours the chart shows, the current one last.
pub const HOURS: usize = 24;

/// Counts per hour; bucket 0 is the oldest hour.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// `YYYY-MM-DDTHH` of each bucket, as the logs write time (UTC).
    pub hours: Vec<String>,
    pub received: Vec<u64>,
    pub sent: Vec<u64>,
    pub failed_logins: Vec<u64>,
}

/// The value of field `name` in a text (`name=value`) or JSON line.
pub fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    if line.starts_with('{') {
        let key = format!("\"{name}\":\"");
        let rest = &line[line.find(&key)? + key.len()..];
        return rest.split('"').next();
    }
    let key = format!(" {name}=");
    let rest = &line[line.find(&key)? + key.len()..];
    let value = rest.split(' ').next()?;
    Some(value.trim_matches('"'))
}

/// The line's hour, `YYYY-MM-DDTHH`.
fn hour_of(line: &str) -> &str {
    let t = if line.starts_with('{') {
        line.split("\"time\":\"").nth(1).unwrap_or("")
    } else {
        line
    };
    t.get(..13).unwrap_or(t)
}

impl Tally {
    /// Empty buckets for the [`HOURS`] hours up to `now` (Unix seconds).
    pub fn new(now: i64) -> Tally {
        let this_hour = now - now.rem_euclid(3600);
        let hours = (0..HOURS as i64)
            .rev()
            .map(|back| {
                let t = postern_net::security::rfc3339(this_hour - back * 3600);
                t.get(..13).unwrap_or(&t).to_string()
            })
            .collect();
        Tally {
            hours,
            received: vec![0; HOURS],
            sent: vec![0; HOURS],
            failed_logins: vec![0; HOURS],
        }
    }

    /// The window moved on to `now`: the hours still in it keep their counts.
    pub fn rebase(self, now: i64) -> Tally {
        let mut t = Tally::new(now);
        for (old, hour) in self.hours.iter().enumerate() {
            if let Some(i) = t.hours.iter().position(|h| h == hour) {
                t.received[i] = self.received[old];
                t.sent[i] = self.sent[old];
                t.failed_logins[i] = self.failed_logins[old];
            }
        }
        t
    }

    fn bucket(&self, line: &str) -> Result<Option<usize>, Older> {
        let hour = hour_of(line);
        if hour < self.hours[0].as_str() {
            return Err(Older);
        }
        Ok(self.hours.iter().position(|h| h == hour))
    }

    /// Counts one mail.log line; `Err` once lines are older than the window.
    pub fn add_mail(&mut self, line: &str) -> Result<(), Older> {
        let Some(i) = self.bucket(line)? else {
            return Ok(());
        };
        match field(line, "event") {
            Some("accepted") => self.received[i] += 1,
            Some("outbound") if field(line, "result") == Some("sent") => self.sent[i] += 1,
            _ => {}
        }
        Ok(())
    }

    /// Counts one security.log line; `Err` once lines are older than the window.
    pub fn add_security(&mut self, line: &str) -> Result<(), Older> {
        let Some(i) = self.bucket(line)? else {
            return Ok(());
        };
        if field(line, "event") == Some("auth-failed") {
            self.failed_logins[i] += 1;
        }
        Ok(())
    }
}

/// A line from before the window: the (newest-first) reader may stop.
#[derive(Debug, PartialEq, Eq)]
pub struct Older;

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-12-07T05:30:00Z
    const NOW: i64 = 1_796_621_400;

    #[test]
    fn buckets_are_the_last_24_hours() {
        let t = Tally::new(NOW);
        assert_eq!(t.hours.len(), HOURS);
        assert_eq!(t.hours[HOURS - 1], "2026-12-07T05");
        assert_eq!(t.hours[0], "2026-12-06T06");
    }

    #[test]
    fn in_and_out_are_counted_per_hour() {
        let mut t = Tally::new(NOW);
        let lines = [
            "2026-12-07T05:10:00.1Z event=accepted id=a service=smtp",
            "{\"event\":\"accepted\",\"time\":\"2026-12-07T05:11:00Z\"}",
            "2026-12-07T04:59:59Z event=outbound id=a result=sent reply=\"250 ok\"",
            "2026-12-07T04:59:59Z event=outbound id=a result=deferred",
            "2026-12-07T04:00:00Z event=refused id=",
        ];
        for l in lines {
            t.add_mail(l).unwrap();
        }
        assert_eq!(t.received[HOURS - 1], 2);
        assert_eq!(t.sent[HOURS - 2], 1);
        assert_eq!(
            t.received.iter().sum::<u64>() + t.sent.iter().sum::<u64>(),
            3
        );
    }

    #[test]
    fn a_line_before_the_window_stops_the_reader() {
        let mut t = Tally::new(NOW);
        assert_eq!(t.add_mail("2026-12-06T06:00:00Z event=accepted"), Ok(()));
        assert_eq!(
            t.add_mail("2026-12-06T05:59:59Z event=accepted"),
            Err(Older)
        );
        assert_eq!(t.received[0], 1);
    }

    #[test]
    fn failed_logins_from_the_security_log() {
        let mut t = Tally::new(NOW);
        t.add_security("2026-12-07T05:00:00Z event=auth-failed listener=imap user=x")
            .unwrap();
        t.add_security("2026-12-07T05:00:00Z event=blocked client=1.2.3.4")
            .unwrap();
        assert_eq!(t.failed_logins.iter().sum::<u64>(), 1);
    }

    #[test]
    fn rebasing_keeps_the_hours_still_in_the_window() {
        let mut t = Tally::new(NOW);
        t.add_mail("2026-12-06T06:10:00Z event=accepted").unwrap();
        t.add_mail("2026-12-07T05:10:00Z event=accepted").unwrap();
        t.add_security("2026-12-07T05:10:00Z event=auth-failed")
            .unwrap();
        let later = t.rebase(NOW + 3600);
        assert_eq!(later.hours[HOURS - 1], "2026-12-07T06");
        // 06h yesterday left the window; 05h today is now the hour before last.
        assert_eq!(later.received.iter().sum::<u64>(), 1);
        assert_eq!(later.received[HOURS - 2], 1);
        assert_eq!(later.failed_logins[HOURS - 2], 1);
        assert_eq!(Tally::new(NOW).rebase(NOW), Tally::new(NOW));
    }

    #[test]
    fn fields_of_both_forms() {
        assert_eq!(field("T event=a x=\"b c\"", "event"), Some("a"));
        assert_eq!(field("{\"result\":\"sent\"}", "result"), Some("sent"));
        assert_eq!(field("T event=a", "result"), None);
    }
}
