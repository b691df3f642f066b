//! A pickle's memo: the numbered slots PUT/MEMOIZE fill and GET reads, dense where picklers
//! number densely, sparse beyond, so a hostile index cannot grow memory.

use rustc_hash::FxHashMap as HashMap;

use crate::ValueId;

/// A pickle's memo. Picklers number entries 0, 1, 2, … (sometimes with gaps, after
/// `pickletools.optimize`), so indices near the end live in a vector; an index far beyond it
/// goes to a map, so a hostile `PUT 999999` does not grow the vector.
#[derive(Default)]
pub(super) struct Memo {
    dense: Vec<Option<ValueId>>,
    sparse: HashMap<u64, ValueId>,
    len: usize,
}

/// Largest gap past the vector's end that still extends it (bounds wasted slots per PUT).
const MEMO_DENSE_GAP: u64 = 64;

impl Memo {
    /// An empty memo with room for `n` densely numbered entries.
    pub(super) fn with_capacity(n: usize) -> Self {
        Memo {
            dense: Vec::with_capacity(n),
            ..Memo::default()
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub(super) fn get(&self, idx: u64) -> Option<ValueId> {
        match usize::try_from(idx).ok().and_then(|i| self.dense.get(i)) {
            Some(Some(v)) => Some(*v),
            _ => self.sparse.get(&idx).copied(),
        }
    }

    pub(super) fn contains(&self, idx: u64) -> bool {
        self.get(idx).is_some()
    }

    #[inline]
    pub(super) fn insert(&mut self, idx: u64, v: ValueId) {
        let end = self.dense.len() as u64;
        if idx < end.saturating_add(MEMO_DENSE_GAP)
            && let Ok(i) = usize::try_from(idx)
            && (self.sparse.is_empty() || !self.sparse.contains_key(&idx))
        {
            if i >= self.dense.len() {
                self.dense.resize(i + 1, None);
            }
            if let Some(slot) = self.dense.get_mut(i) {
                if slot.is_none() {
                    self.len += 1;
                }
                *slot = Some(v);
            }
        } else if self.sparse.insert(idx, v).is_none() {
            self.len += 1;
        }
    }
}
