//! The in-memory copy of the IP groups and blocks in the store, replaced by
//! each refresh. A refresh and a new block never interleave (both hold
//! `Security::writes`), so a block being written is never lost to a refresh
//! that read the store just before.

use super::Security;
use crate::client_key::{client_key, ClientKey};
use crate::ipgroup::{Entry, IpGroup};
use postern_directory::ipgroups::{Block, IpGroupRow};
use postern_directory::prelude::*;
use postern_store::StoreError;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::RwLock;

/// Why a client is blocked: it decides the words of the refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockCause {
    /// `postern security block`.
    Manual,
    /// Too many failed logins (SPEC X7).
    Logins,
    /// Too many unknown recipients: directory harvesting (issue 13 item 4).
    Recipients,
}

impl BlockCause {
    /// From a stored block's `reason` (the store keeps the text only).
    pub fn of_reason(reason: &str) -> BlockCause {
        if reason == super::MANUAL_BLOCK {
            BlockCause::Manual
        } else if reason.contains(super::harvest::REASON_MARK) {
            BlockCause::Recipients
        } else {
            BlockCause::Logins
        }
    }
}

#[derive(Default)]
struct Snapshot {
    /// By lower-case name.
    groups: HashMap<String, IpGroup>,
    /// When each block ends and why, by client (an IPv6 block covers its /64).
    blocks: HashMap<ClientKey, (i64, BlockCause)>,
    /// Entries already reported as unreadable.
    warned: HashSet<String>,
}

#[derive(Default)]
pub(super) struct Live(RwLock<Snapshot>);

impl Live {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Snapshot> {
        self.0.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Snapshot> {
        self.0.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn in_group(&self, name: &str, ip: IpAddr) -> bool {
        let name = name.to_ascii_lowercase();
        match self.read().groups.get(&name) {
            Some(g) => g.contains(ip),
            // Built in until an IP group of that name is defined (issue 19).
            None => name == postern_config::LOOPBACK_GROUP && ip.to_canonical().is_loopback(),
        }
    }

    /// When the block of `ip` ends and why, if one is in force.
    pub fn block_of(&self, ip: IpAddr, now: i64) -> Option<(i64, BlockCause)> {
        self.read()
            .blocks
            .get(&client_key(ip))
            .copied()
            .filter(|&(until, _)| until > now)
    }

    /// A block this process decided (and wrote to the store).
    pub fn add_block(&self, key: ClientKey, until: i64, cause: BlockCause) {
        self.write().blocks.insert(key, (until, cause));
    }

    /// Takes what the store holds; returns the clients whose block is gone
    /// (lifted by an admin, or over). A stored address (older rows) blocks
    /// its client, an IPv6 one its /64.
    fn replace(&self, groups: Vec<IpGroupRow>, blocks: Vec<Block>) -> Vec<ClientKey> {
        let mut s = self.write();
        let fresh: HashMap<ClientKey, (i64, BlockCause)> = blocks
            .iter()
            .filter_map(|b| {
                let cause = BlockCause::of_reason(&b.reason);
                Some((b.ip.parse::<ClientKey>().ok()?, (b.until, cause)))
            })
            .collect();
        let gone = s
            .blocks
            .keys()
            .filter(|ip| !fresh.contains_key(ip))
            .copied()
            .collect();
        s.blocks = fresh;
        let mut groups_by_name = HashMap::new();
        for (name, entries) in groups {
            let group = parse_group(&name, &entries, &mut s.warned);
            groups_by_name.insert(name.to_ascii_lowercase(), group);
        }
        s.groups = groups_by_name;
        gone
    }
}

/// A group with an entry that does not parse (written to the database by
/// hand) is taken as empty: `allow` then lets nobody in and `exempt`
/// exempts nobody, rather than the other way round.
fn parse_group(name: &str, entries: &[String], warned: &mut HashSet<String>) -> IpGroup {
    let parsed: Result<Vec<Entry>, _> = entries.iter().map(|e| e.parse::<Entry>()).collect();
    match parsed {
        Ok(entries) => IpGroup::new(entries),
        Err(e) => {
            if warned.insert(format!("{name}\0{e}")) {
                eprintln!("postern: IP group {name} is ignored (taken as empty): {e}");
            }
            IpGroup::default()
        }
    }
}

impl Security {
    /// Re-reads groups and blocks now (forgetting blocks that are over, and
    /// logging their end).
    pub async fn refresh(&self) -> Result<(), StoreError> {
        let _writes = self.writes.lock().await;
        let store = self.store.clone();
        let now = self.clock.now();
        let (ended, groups, blocks) = tokio::task::spawn_blocking(move || {
            let ended = store.block_purge(now)?;
            Ok::<_, StoreError>((ended, store.ipgroup_list()?, store.block_list(now)?))
        })
        .await
        .map_err(|_| StoreError::Unavailable)??;
        self.log_ended(&ended);
        let gone = self.live.replace(groups, blocks);
        let mut tracker = self.tracker.lock().unwrap_or_else(|p| p.into_inner());
        let mut probes = self.probes.lock().unwrap_or_else(|p| p.into_inner());
        for ip in gone {
            tracker.reset(ip);
            probes.reset(ip);
        }
        Ok(())
    }

    /// The security log's `unblocked` line for each block that ended by
    /// itself (SPEC X10), from failed logins or an admin's `--for`. A block
    /// stops refusing at its `until` exactly ([`Live::block_of`]); its line is
    /// written when it ends, by the first refresh at or after `until` — at
    /// most [`super::REFRESH`] late, on the injected clock — or, for a block
    /// that ended while the server was down, at the next start. Only the
    /// server purges, and a purge deletes what it returns, so each end is
    /// logged once; a block lifted by `postern security unblock` is deleted
    /// before its end, never purged, and logged by the CLI instead.
    fn log_ended(&self, ended: &[Block]) {
        for b in ended {
            self.logs.security(&[
                ("event", "unblocked"),
                ("client", &b.ip),
                ("since", &super::rfc3339(b.since)),
                ("until", &super::rfc3339(b.until)),
                ("blocked_for", &b.reason),
                ("reason", "block ended"),
            ]);
        }
    }
}
