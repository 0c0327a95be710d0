//! Counts what each key (a user, an address) holds open, up to a limit, so
//! that no single client can take everything: a client user's live-change
//! streams, and the connections from one address.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// The most live-change streams one client user may hold open on one node:
/// a portal open in a few tabs, with room to spare. Staff (dispatch, operators)
/// follow many accounts at once and are not limited.
pub const STREAMS_PER_CLIENT_USER: usize = 16;

/// What each key holds open. Cheap to clone; clones share the counts.
#[derive(Debug)]
pub struct Slots<K> {
    open: Arc<Mutex<HashMap<K, usize>>>,
}

impl<K> Default for Slots<K> {
    fn default() -> Self {
        Self { open: Arc::default() }
    }
}

impl<K> Clone for Slots<K> {
    fn clone(&self) -> Self {
        Self { open: Arc::clone(&self.open) }
    }
}

impl<K: Eq + Hash + Copy> Slots<K> {
    /// One more slot for `key`, unless it already holds `limit`; the slot is
    /// given back when the returned guard is dropped.
    pub fn take(&self, key: K, limit: usize) -> Option<Slot<K>> {
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = open.entry(key).or_default();
        if *count >= limit {
            if *count == 0 {
                open.remove(&key);
            }
            return None;
        }
        *count += 1;
        Some(Slot { slots: self.clone(), key })
    }

    fn give_back(&self, key: K) {
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = open.get_mut(&key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&key);
            }
        }
    }
}

/// One slot taken, counted until it is dropped.
#[derive(Debug)]
pub struct Slot<K: Eq + Hash + Copy> {
    slots: Slots<K>,
    key: K,
}

impl<K: Eq + Hash + Copy> Drop for Slot<K> {
    fn drop(&mut self) {
        self.slots.give_back(self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_slots_up_to_the_limit_and_a_dropped_one_is_given_back() {
        let slots = Slots::default();
        let held: Vec<Slot<&str>> = (0..3).map(|_| slots.take("anthony", 3).expect("under the limit")).collect();
        assert!(slots.take("anthony", 3).is_none(), "a fourth is refused");
        assert!(slots.take("luc", 3).is_some(), "another key has slots of its own");
        drop(held);
        assert!(slots.take("anthony", 3).is_some(), "dropped slots are given back");
        assert!(slots.take("nobody", 0).is_none());
        assert!(slots.open.lock().unwrap().is_empty(), "nothing is kept for keys that hold nothing");
    }
}
