//! Dovecot's `dovecot-uidlist`: which UID each Maildir file has, so an
//! import keeps the folder's order. File names do not say it: unflagged
//! mail waits in `new/` while later mail with flags is in `cur/`, and the
//! `M<microseconds>` part of a name is not zero-padded.
//!
//! Format (Dovecot 2.x, version 3): a header line `3 V<uidvalidity>
//! N<nextuid> G<guid>`, then `<uid> [<ext>…] :<name>` per message, the name
//! without its `:2,` info. Version 1 lines are `<uid> <flags> <name>`.

use std::collections::HashMap;

/// The base name of a Maildir file: everything before its `:` info part.
pub fn base_name(name: &str) -> &str {
    name.split_once(':').map_or(name, |(base, _)| base)
}

/// UID by base name; empty for an unreadable or foreign file.
pub fn parse(text: &str) -> HashMap<String, u32> {
    let mut out = HashMap::new();
    for line in text.lines().skip(1) {
        let Some((uid, rest)) = line.split_once(' ') else {
            continue;
        };
        let Ok(uid) = uid.parse::<u32>() else {
            continue;
        };
        // v3: the name follows the first " :"; v1: the last field.
        let name = match rest.strip_prefix(':') {
            Some(n) => n,
            None => match rest.split_once(" :") {
                Some((_, n)) => n,
                None => rest.rsplit(' ').next().unwrap_or(""),
            },
        };
        if !name.is_empty() {
            out.insert(base_name(name).to_string(), uid);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_3_with_and_without_extensions() {
        let u = parse(
            "3 V1796625894 N7 G69964507e455166b6d09000083ecc375\n\
             1 :1796625892.M146220P2413.vm,S=20,W=23\n\
             2 W23 S20 :1796625892.M99518P2413.vm,S=20,W=23\n\
             junk\n",
        );
        assert_eq!(u["1796625892.M146220P2413.vm,S=20,W=23"], 1);
        assert_eq!(u["1796625892.M99518P2413.vm,S=20,W=23"], 2);
        assert_eq!(u.len(), 2);
    }

    #[test]
    fn version_1_and_names_with_info() {
        let u = parse("1 1035478339 2\n5 0 1035478339.27041_118.foo.org\n");
        assert_eq!(u["1035478339.27041_118.foo.org"], 5);
        assert_eq!(base_name("1.M2P3.h,S=9:2,FS"), "1.M2P3.h,S=9");
        assert_eq!(base_name("1.M2P3.h"), "1.M2P3.h");
    }
}
