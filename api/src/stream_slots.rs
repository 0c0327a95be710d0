//! How many live-change streams each client user holds open on this node, so
//! that one user's browser tabs (or a script) cannot take every connection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use vigie_domain::UserId;

/// The most live-change streams one client user may hold open on one node:
/// a portal open in a few tabs, with room to spare. Staff (dispatch, operators)
/// follow many accounts at once and are not limited.
pub const PER_CLIENT_USER: usize = 16;

/// The open streams of each user. Cheap to clone; clones share the counts.
#[derive(Debug, Default, Clone)]
pub struct StreamSlots {
    open: Arc<Mutex<HashMap<UserId, usize>>>,
}

impl StreamSlots {
    /// One more stream for `user`, unless they already hold `limit`; the slot
    /// is given back when the returned guard is dropped.
    pub fn take(&self, user: UserId, limit: usize) -> Option<StreamSlot> {
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = open.entry(user).or_default();
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(StreamSlot { slots: self.clone(), user })
    }

    fn give_back(&self, user: UserId) {
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = open.get_mut(&user) {
            *count -= 1;
            if *count == 0 {
                open.remove(&user);
            }
        }
    }
}

/// One open stream, counted until it is dropped.
#[derive(Debug)]
pub struct StreamSlot {
    slots: StreamSlots,
    user: UserId,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.slots.give_back(self.user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_gets_slots_up_to_the_limit_and_a_closed_stream_frees_one() {
        let slots = StreamSlots::default();
        let (anthony, luc) = (UserId::from(uuid::Uuid::now_v7()), UserId::from(uuid::Uuid::now_v7()));
        let held: Vec<StreamSlot> = (0..3).map(|_| slots.take(anthony, 3).expect("under the limit")).collect();
        assert!(slots.take(anthony, 3).is_none(), "a fourth stream is refused");
        assert!(slots.take(luc, 3).is_some(), "another user has slots of their own");
        drop(held);
        assert!(slots.take(anthony, 3).is_some(), "closed streams give their slots back");
        assert!(slots.open.lock().unwrap().is_empty(), "nothing is kept for users without streams");
    }
}
