//! Threading by References (RFC 5322 §3.6.4): messages that share a
//! Message-ID through their References or In-Reply-To fall in one thread
//! (union-find over the ids, so a thread missing its root still holds
//! together). Threads come newest (or oldest) first by their latest
//! message; inside one, messages go by date, the first at depth 0 and
//! replies at depth 1.

use std::collections::HashMap;

/// Longest chain of ids a message contributes (References may be long).
pub const MAX_IDS_PER_MESSAGE: usize = 64;

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// For messages with `ids[i]` (own Message-ID first, then References and
/// In-Reply-To) and sort keys `dates[i]` (arrival, then UID): the display
/// order as (index, depth).
pub fn order<K: Ord + Copy>(
    ids: &[Vec<String>],
    dates: &[K],
    newest_first: bool,
) -> Vec<(usize, u8)> {
    let n = ids.len();
    let mut parent: Vec<usize> = (0..n).collect();
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for (i, list) in ids.iter().enumerate() {
        for id in list.iter().take(MAX_IDS_PER_MESSAGE) {
            match owner.get(id.as_str()) {
                Some(&j) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    parent[a] = b;
                }
                None => {
                    owner.insert(id, i);
                }
            }
        }
    }
    let mut threads: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..n {
        let root = find(&mut parent, i);
        threads.entry(root).or_default().push(i);
    }
    let mut threads: Vec<Vec<usize>> = threads.into_values().collect();
    for t in &mut threads {
        t.sort_by_key(|&i| dates[i]);
    }
    let latest = |t: &Vec<usize>| t.iter().map(|&i| dates[i]).max();
    threads.sort_by_key(latest);
    if newest_first {
        threads.reverse();
    }
    threads
        .into_iter()
        .flat_map(|t| t.into_iter().enumerate().map(|(k, i)| (i, u8::from(k > 0))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(own: &str, refs: &[&str]) -> Vec<String> {
        std::iter::once(own)
            .chain(refs.iter().copied())
            .map(String::from)
            .collect()
    }

    #[test]
    fn replies_follow_their_thread_and_threads_go_by_latest() {
        let all = [
            ids("a", &[]),         // 0: thread A starts, t=1
            ids("x", &[]),         // 1: alone, t=2
            ids("b", &["a"]),      // 2: reply to a, t=3
            ids("c", &["a", "b"]), // 3: reply to b, t=4
        ];
        let dates = [1, 2, 3, 4];
        assert_eq!(order(&all, &dates, true), [(0, 0), (2, 1), (3, 1), (1, 0)]);
        assert_eq!(order(&all, &dates, false), [(1, 0), (0, 0), (2, 1), (3, 1)]);
    }

    #[test]
    fn a_missing_root_still_joins_its_replies() {
        let all = [ids("b", &["root"]), ids("c", &["root", "b"])];
        assert_eq!(order(&all, &[5, 6], true), [(0, 0), (1, 1)]);
    }
}
