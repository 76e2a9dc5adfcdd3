//! Reporting periods: fixed windows of `auth.dmarc_report_interval` from
//! the Unix epoch (UTC), so a day's period runs from midnight to midnight
//! (RFC 7489 §7.2: reports SHOULD cover UTC days).

/// The period [start, end) holding `now`; `every` in seconds (at least 1).
pub fn period(now: i64, every: u64) -> (i64, i64) {
    let every = every.max(1) as i64;
    let start = now - now.rem_euclid(every);
    (start, start + every)
}

#[cfg(test)]
mod tests {
    #[test]
    fn periods_are_aligned_windows() {
        assert_eq!(super::period(86_399, 86_400), (0, 86_400));
        assert_eq!(super::period(86_400, 86_400), (86_400, 172_800));
        assert_eq!(super::period(7_201, 3_600), (7_200, 10_800));
    }
}
