//! A bounded cache of values that hold for one version of the data (the stored summaries and
//! the engine generation): entries of an older version are dropped as soon as a newer one is
//! stored, and the cache never holds more than its byte budget or entry limit (the least
//! recently used entries go first).
//!
//! Under steady ingest the summaries change every few seconds, so every read of a dashboard
//! builds anew; without dropping superseded entries and without a byte bound, a cache keyed
//! by query would keep a city's worth of stale layers alive (issue 15, defect 8).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// What cached values depend on besides their key: (summaries version, engine generation),
/// both only ever growing.
pub type Version = (u64, u64);

/// One entry: its version, its weight in bytes, when it was last used, the value.
struct Entry<V> {
    version: Version,
    bytes: usize,
    used: u64,
    value: V,
}

struct Inner<K, V> {
    map: HashMap<K, Entry<V>>,
    bytes: usize,
    clock: u64,
}

/// A versioned cache with a byte budget and an entry limit.
pub struct VersionedCache<K, V> {
    inner: Mutex<Inner<K, V>>,
    budget_bytes: usize,
    max_entries: usize,
}

/// `a` is older than `b`: no later request can ask for it again.
fn superseded(a: Version, b: Version) -> bool {
    a != b && a.0 <= b.0 && a.1 <= b.1
}

impl<K: Hash + Eq + Clone, V: Clone> VersionedCache<K, V> {
    /// An empty cache holding at most `budget_bytes` (by the weights given to
    /// [`VersionedCache::put`]) in at most `max_entries` entries.
    pub fn new(budget_bytes: usize, max_entries: usize) -> VersionedCache<K, V> {
        VersionedCache {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                bytes: 0,
                clock: 0,
            }),
            budget_bytes,
            max_entries: max_entries.max(1),
        }
    }

    /// The value of `key` made at `version`, if it is cached.
    pub fn get(&self, key: &K, version: Version) -> Option<V> {
        let mut inner = self.inner.lock().ok()?;
        inner.clock += 1;
        let now = inner.clock;
        let e = inner.map.get_mut(key).filter(|e| e.version == version)?;
        e.used = now;
        Some(e.value.clone())
    }

    /// Stores `value` (weighing `bytes`) for `key` at `version`: drops every entry of an
    /// older version, then the least recently used ones until it fits. A value heavier than
    /// the whole budget, or older than what is cached, is not stored.
    pub fn put(&self, key: K, version: Version, value: V, bytes: usize) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if bytes > self.budget_bytes || inner.map.values().any(|e| superseded(version, e.version)) {
            return;
        }
        inner.clock += 1;
        let now = inner.clock;
        let inner = &mut *inner;
        inner.map.remove(&key);
        inner.map.retain(|_, e| !superseded(e.version, version));
        inner.bytes = inner.map.values().map(|e| e.bytes).sum();
        while !inner.map.is_empty()
            && (inner.bytes + bytes > self.budget_bytes || inner.map.len() >= self.max_entries)
        {
            let Some(oldest) = inner
                .map
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(e) = inner.map.remove(&oldest) {
                inner.bytes = inner.bytes.saturating_sub(e.bytes);
            }
        }
        inner.bytes += bytes;
        inner.map.insert(
            key,
            Entry {
                version,
                bytes,
                used: now,
                value,
            },
        );
    }

    /// The bytes the cache holds now (by the weights it was given).
    pub fn bytes(&self) -> usize {
        self.inner.lock().map(|i| i.bytes).unwrap_or(0)
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.map.len()).unwrap_or(0)
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_version_drops_every_older_entry() {
        let c: VersionedCache<u32, u32> = VersionedCache::new(1000, 100);
        for k in 0..10 {
            c.put(k, (1, 1), k, 10);
        }
        assert_eq!(c.len(), 10);
        c.put(99, (2, 1), 0, 10);
        assert_eq!(c.len(), 1);
        assert_eq!(c.bytes(), 10);
        assert_eq!(c.get(&3, (1, 1)), None);
        assert_eq!(c.get(&99, (2, 1)), Some(0));
        // A value made at the older version (a slow request) is not stored over it.
        c.put(5, (1, 1), 5, 10);
        assert_eq!(c.get(&5, (1, 1)), None);
        // A new registry generation supersedes too.
        c.put(7, (2, 2), 7, 10);
        assert_eq!(c.get(&99, (2, 1)), None);
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn the_byte_budget_evicts_the_least_recently_used() {
        let c: VersionedCache<u32, u32> = VersionedCache::new(100, 100);
        for k in 0..4 {
            c.put(k, (1, 1), k, 30);
        }
        // 4 × 30 > 100: the first went.
        assert_eq!(c.get(&0, (1, 1)), None);
        assert!(c.bytes() <= 100, "{}", c.bytes());
        // Using 1 keeps it; the next put evicts 2, the least recently used.
        assert_eq!(c.get(&1, (1, 1)), Some(1));
        c.put(9, (1, 1), 9, 30);
        assert_eq!(c.get(&1, (1, 1)), Some(1));
        assert_eq!(c.get(&2, (1, 1)), None);
        // Heavier than the whole budget: not kept at all.
        c.put(10, (1, 1), 10, 101);
        assert_eq!(c.get(&10, (1, 1)), None);
        assert!(c.bytes() <= 100);
    }

    #[test]
    fn the_entry_limit_holds() {
        let c: VersionedCache<u32, u32> = VersionedCache::new(usize::MAX, 8);
        for k in 0..100 {
            c.put(k, (1, 1), k, 0);
        }
        assert_eq!(c.len(), 8);
        assert_eq!(c.get(&99, (1, 1)), Some(99));
    }
}
