//! Listing subscriptions: LSUB (RFC 3501 §6.3.9) and the names LIST
//! (SUBSCRIBED …) chooses from (RFC 5258 §3). Subscriptions are names,
//! not folders: a subscribed name may have no folder (\NonExistent), and
//! a parent is \Subscribed only when it is subscribed itself.

use super::folders::{attributes, matches};
use postern_store::Folder;
use std::collections::{BTreeMap, BTreeSet};

/// A name LIST may report: a folder, a subscription, or both.
pub(super) struct Entry<'a> {
    pub name: String,
    pub folder: Option<&'a Folder>,
    pub subscribed: bool,
}

fn chars(s: &str) -> Vec<char> {
    s.chars().collect()
}

/// The proper parents of a name: "a/b/c" has "a" and "a/b".
fn parents(name: &str) -> impl Iterator<Item = &str> {
    name.match_indices('/').map(move |(i, _)| &name[..i])
}

/// INBOX first, then by name (as the folder listing is ordered).
fn order(a: &str, b: &str) -> std::cmp::Ordering {
    (a != "INBOX").cmp(&(b != "INBOX")).then(a.cmp(b))
}

/// Every folder and every subscribed name, each once, in listing order;
/// with `parents`, also the parents of subscribed names (RECURSIVEMATCH).
pub(super) fn entries<'a>(
    folders: &'a [Folder],
    subs: &[String],
    with_parents: bool,
) -> Vec<Entry<'a>> {
    let subscribed: BTreeSet<&str> = subs.iter().map(String::as_str).collect();
    let mut names: BTreeSet<&str> = folders.iter().map(|f| f.name.as_str()).collect();
    names.extend(subscribed.iter().copied());
    if with_parents {
        names.extend(subs.iter().flat_map(|s| parents(s)));
    }
    let by_name: BTreeMap<&str, &Folder> = folders.iter().map(|f| (f.name.as_str(), f)).collect();
    let mut out: Vec<Entry<'a>> = names
        .into_iter()
        .map(|n| Entry {
            name: n.to_string(),
            folder: by_name.get(n).copied(),
            subscribed: subscribed.contains(n),
        })
        .collect();
    out.sort_by(|a, b| order(&a.name, &b.name));
    out
}

/// The LSUB answer for a decoded pattern: (name, attributes), in order.
/// RFC 3501 §6.3.9: with "%", an unsubscribed parent of a subscribed name
/// that the pattern reaches only through it is listed as \Noselect.
pub(super) fn lsub(pattern: &[char], subs: &[String], folders: &[Folder]) -> Vec<(String, String)> {
    let subscribed: BTreeSet<&str> = subs.iter().map(String::as_str).collect();
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for name in subs {
        if matches(pattern, &chars(name)) {
            let attrs = match folders.iter().find(|f| &f.name == name) {
                Some(f) => attributes(f, folders),
                None => String::new(),
            };
            out.insert(name.clone(), attrs);
            continue;
        }
        for p in parents(name) {
            if !subscribed.contains(p) && matches(pattern, &chars(p)) {
                out.entry(p.to_string())
                    .or_insert_with(|| "\\Noselect".to_string());
            }
        }
    }
    let mut v: Vec<(String, String)> = out.into_iter().collect();
    v.sort_by(|a, b| order(&a.0, &b.0));
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_store::MailboxId;

    fn folder(name: &str) -> Folder {
        Folder {
            id: MailboxId(1),
            name: name.into(),
            special_use: None,
            subscribed: false,
        }
    }

    #[test]
    fn lsub_reports_subscriptions_and_noselect_parents() {
        let folders: Vec<Folder> = ["t", "t/a", "t/b", "t/b/x", "t/c", "t/c/c"]
            .into_iter()
            .map(folder)
            .collect();
        let subs: Vec<String> = ["t/a", "t/b/x", "t/c/c", "gone"]
            .into_iter()
            .map(String::from)
            .collect();
        let got = lsub(&chars("t/%"), &subs, &folders);
        let names: Vec<(&str, &str)> = got.iter().map(|(n, a)| (n.as_str(), a.as_str())).collect();
        assert_eq!(
            names,
            [
                ("t/a", "\\HasNoChildren"),
                ("t/b", "\\Noselect"),
                ("t/c", "\\Noselect")
            ]
        );
        let got = lsub(&chars("*"), &subs, &folders);
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["gone", "t/a", "t/b/x", "t/c/c"],
            "no parent is implied"
        );
    }

    #[test]
    fn entries_join_folders_and_subscriptions() {
        let folders = vec![folder("INBOX"), folder("a")];
        let subs = vec!["z/y".to_string(), "a".to_string()];
        let e = entries(&folders, &subs, true);
        let got: Vec<(&str, bool, bool)> = e
            .iter()
            .map(|e| (e.name.as_str(), e.folder.is_some(), e.subscribed))
            .collect();
        assert_eq!(
            got,
            [
                ("INBOX", true, false),
                ("a", true, true),
                ("z", false, false),
                ("z/y", false, true)
            ]
        );
    }
}
