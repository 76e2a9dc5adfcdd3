//! The maildrop lock (RFC 1939 §8: a server must lock the maildrop while a
//! session is in TRANSACTION state). One serve process serves every POP3
//! session, so the lock is an in-process set of users; a second session for
//! the same user is refused with `-ERR [IN-USE]` (RFC 2449 §8.1.1). The guard
//! releases the lock when dropped, however the session ends.

use postern_store::UserId;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

/// The users whose maildrop is open. Cheap to clone; clones share the set.
#[derive(Clone, Debug, Default)]
pub struct Locks {
    held: Arc<Mutex<HashSet<UserId>>>,
}

impl Locks {
    /// Locks a user's maildrop, unless another session holds it.
    pub fn try_lock(&self, user: UserId) -> Option<LockGuard> {
        self.set().insert(user).then(|| LockGuard {
            locks: self.clone(),
            user,
        })
    }

    pub fn is_locked(&self, user: UserId) -> bool {
        self.set().contains(&user)
    }

    fn set(&self) -> MutexGuard<'_, HashSet<UserId>> {
        // The set stays consistent whatever panicked while holding it.
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A held maildrop lock.
#[derive(Debug)]
pub struct LockGuard {
    locks: Locks,
    user: UserId,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        self.locks.set().remove(&self.user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_per_user_released_on_drop() {
        let locks = Locks::default();
        let a = locks.try_lock(UserId(1)).unwrap();
        assert!(locks.try_lock(UserId(1)).is_none());
        let b = locks.clone().try_lock(UserId(2)).unwrap();
        assert!(locks.is_locked(UserId(1)));
        drop(a);
        assert!(!locks.is_locked(UserId(1)));
        assert!(locks.try_lock(UserId(1)).is_some());
        drop(b);
        assert!(!locks.is_locked(UserId(2)));
    }
}
