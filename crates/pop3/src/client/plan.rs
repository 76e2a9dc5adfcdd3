//! What one run does, decided from the remote's listing and what we have
//! already delivered (pure): retrieve what is new, delete what is due —
//! at once without `keep`, `delete_after` after its first fetch with it —
//! leave what is too big, and forget records of what the remote dropped.

use super::listing::valid_uidl;
use std::collections::{HashMap, HashSet};

/// One message as the remote lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub msg: u32,
    pub uidl: String,
    pub size: u64,
}

/// The account's choices, and now.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Leave messages on the server after fetching them.
    pub keep: bool,
    /// With `keep`: delete this long after the first fetch.
    pub delete_after_secs: Option<i64>,
    pub now: i64,
    pub max_message: u64,
}

impl Policy {
    /// Whether a message fetched at `first_seen` is to go from the remote now.
    pub fn delete_due(&self, first_seen: i64) -> bool {
        !self.keep
            || self
                .delete_after_secs
                .is_some_and(|d| first_seen + d <= self.now)
    }
}

/// The run's work, in message order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub retrieve: Vec<Listed>,
    /// Delivered before, now due for deletion.
    pub delete: Vec<Listed>,
    /// New, larger than `max_message`: left there, reported.
    pub too_big: Vec<Listed>,
    /// Records of UIDLs the remote no longer lists.
    pub forget: Vec<String>,
    /// Listed with a unique-id that is not one (RFC 1939 §7): left alone.
    pub invalid: u32,
}

pub fn plan(listed: &[Listed], seen: &HashMap<String, i64>, policy: &Policy) -> Plan {
    let mut p = Plan::default();
    let mut present = HashSet::new();
    for m in listed {
        if !valid_uidl(&m.uidl) || !present.insert(m.uidl.as_str()) {
            p.invalid += 1;
            continue;
        }
        match seen.get(&m.uidl) {
            Some(&first) if policy.delete_due(first) => p.delete.push(m.clone()),
            Some(_) => {}
            None if m.size > policy.max_message => p.too_big.push(m.clone()),
            None => p.retrieve.push(m.clone()),
        }
    }
    p.forget = seen
        .keys()
        .filter(|u| !present.contains(u.as_str()))
        .cloned()
        .collect();
    p.forget.sort();
    p
}

#[cfg(test)]
mod tests {
    use super::super::MAX_MESSAGE;
    use super::*;

    const DAY: i64 = 86_400;

    fn listed(items: &[(u32, &str, u64)]) -> Vec<Listed> {
        items
            .iter()
            .map(|&(msg, uidl, size)| Listed {
                msg,
                uidl: uidl.into(),
                size,
            })
            .collect()
    }

    fn policy(keep: bool, days: Option<i64>, now: i64) -> Policy {
        Policy {
            keep,
            delete_after_secs: days.map(|d| d * DAY),
            now,
            max_message: MAX_MESSAGE as u64,
        }
    }

    #[test]
    fn keep_retrieves_only_what_is_new() {
        let l = listed(&[(1, "a", 10), (2, "b", 10)]);
        let seen = HashMap::from([("a".to_string(), 0), ("gone".to_string(), 0)]);
        let p = plan(&l, &seen, &policy(true, None, 100 * DAY));
        assert_eq!(p.retrieve, listed(&[(2, "b", 10)]));
        assert!(p.delete.is_empty());
        assert_eq!(p.forget, vec!["gone".to_string()]);
    }

    #[test]
    fn without_keep_delivered_ones_are_deleted() {
        let l = listed(&[(1, "a", 10)]);
        let seen = HashMap::from([("a".to_string(), 0)]);
        let p = plan(&l, &seen, &policy(false, None, 0));
        assert_eq!(p.delete, l);
        assert!(policy(false, None, 0).delete_due(0));
    }

    #[test]
    fn delete_after_crosses_at_n_days() {
        let l = listed(&[(1, "a", 10)]);
        let seen = HashMap::from([("a".to_string(), 1000)]);
        let before = plan(&l, &seen, &policy(true, Some(3), 1000 + 3 * DAY - 1));
        assert!(before.delete.is_empty());
        let at = plan(&l, &seen, &policy(true, Some(3), 1000 + 3 * DAY));
        assert_eq!(at.delete, l);
    }

    #[test]
    fn a_message_crossing_max_message_is_left() {
        let max = MAX_MESSAGE as u64;
        let l = listed(&[(1, "fits", max), (2, "big", max + 1)]);
        let p = plan(&l, &HashMap::new(), &policy(true, None, 0));
        assert_eq!(p.retrieve, listed(&[(1, "fits", max)]));
        assert_eq!(p.too_big, listed(&[(2, "big", max + 1)]));
    }

    #[test]
    fn bad_and_repeated_uidls_are_left_alone() {
        let l = listed(&[(1, "a", 1), (2, "a", 1), (3, &"x".repeat(71), 1)]);
        let p = plan(&l, &HashMap::new(), &policy(true, None, 0));
        assert_eq!(p.retrieve.len(), 1);
        assert_eq!(p.invalid, 2);
    }
}
