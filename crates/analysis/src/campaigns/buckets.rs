//! The LSH buckets of all bands in one table.

use super::NONE;

/// A slot's value is a class, or `RING | r` for ring `r` once a second class shares the key.
const RING: u32 = 1 << 31;

/// Bucket key → the bucket's most recent `width` classes, newest first.
///
/// Open addressing with linear probing over `(key, value)` pairs, so that looking up a text's keys costs about one
/// cache miss each, and those of its bands can be in flight together; a bucket holding more than one class keeps them
/// side by side in a ring, read in one go, where a chain through the classes would cost a dependent miss per entry.
/// Band keys are hashes seeded by their band, so one table serves all bands and the keys need no band beside them.
/// A bucket never holds more than a scan reads: older entries are dropped, which no scan would have reached.
pub(super) struct Buckets {
    slots: Vec<(u32, u32)>,
    used: usize,
    /// Rings of `width` classes each, newest first, padded with `NONE`.
    rings: Vec<u32>,
    width: usize,
}

impl Buckets {
    pub(super) fn new(width: usize) -> Buckets {
        Buckets { slots: vec![(0, NONE); 1 << 10], used: 0, rings: Vec::new(), width: width.max(1) }
    }

    fn slot(&self, key: u32) -> usize {
        let mask = self.slots.len() - 1;
        // The keys are hashes already: their low bits spread well.
        let mut i = key as usize & mask;
        loop {
            let (k, v) = self.slots[i];
            if v == NONE || k == key {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    /// Reads the first slot of each key, and then the first entry of each bucket, so that the cache misses of a text's
    /// bands overlap (the loads of a pass wait on nothing) instead of coming one after another in the lookups that
    /// follow: a prefetch without `unsafe`. The result means nothing.
    pub(super) fn warm(&self, keys: &[u32]) -> u32 {
        let mask = self.slots.len() - 1;
        let slots = keys.iter().fold(0, |a, &k| a ^ self.slots[k as usize & mask].1);
        keys.iter().fold(slots, |a, &k| a ^ self.get(k)[0])
    }

    /// The bucket's classes, newest first; a `NONE` ends them early.
    pub(super) fn get(&self, key: u32) -> &[u32] {
        let i = self.slot(key);
        let v = self.slots[i].1;
        if v != NONE && v & RING != 0 {
            let r = (v & !RING) as usize * self.width;
            &self.rings[r..r + self.width]
        } else {
            std::slice::from_ref(&self.slots[i].1)
        }
    }

    /// Makes `class` the newest in the bucket.
    pub(super) fn push(&mut self, key: u32, class: u32) {
        debug_assert!(class < RING);
        let i = self.slot(key);
        let v = self.slots[i].1;
        if v == NONE {
            self.slots[i] = (key, class);
            self.used += 1;
            if self.used * 10 > self.slots.len() * 7 {
                self.grow();
            }
        } else if v & RING == 0 {
            if self.width == 1 {
                self.slots[i].1 = class;
                return;
            }
            let r = self.rings.len() / self.width;
            self.rings.push(class);
            self.rings.push(v);
            self.rings.extend(std::iter::repeat_n(NONE, self.width - 2));
            self.slots[i].1 = RING | r as u32;
        } else {
            let r = (v & !RING) as usize * self.width;
            self.rings.copy_within(r..r + self.width - 1, r + 1);
            self.rings[r] = class;
        }
    }

    fn grow(&mut self) {
        let doubled = vec![(0, NONE); self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        for (k, v) in old {
            if v != NONE {
                let i = self.slot(k);
                self.slots[i] = (k, v);
            }
        }
    }
}
