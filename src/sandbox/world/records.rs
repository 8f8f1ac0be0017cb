//! [`Records`]: the id-keyed store of one kind of destination record (offer
//! URLs, creatives, custom payout/revenue settings) with its id counter.

use std::collections::BTreeMap;

/// Records by id, in id order, and the id the next one gets. Ids are never
/// reused, even after a delete, as with any database sequence.
#[derive(Debug)]
pub(crate) struct Records<T> {
    pub items: BTreeMap<u64, T>,
    next_id: u64,
}

impl<T> Records<T> {
    pub fn new(first_id: u64) -> Records<T> {
        Records {
            items: BTreeMap::new(),
            next_id: first_id.max(1),
        }
    }

    /// Takes the next id (call only once the record will be inserted).
    pub fn allocate(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub fn get(&self, id: u64) -> Option<&T> {
        self.items.get(&id)
    }

    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.items.values()
    }
}
