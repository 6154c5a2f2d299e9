//! Coverage masks: the covered sample points of one grid's raster as a bitset, and the map of
//! masks per grid that a worker-day (or a month, or a team) accumulates.
//!
//! A mask is what gets stored per worker-day and grid: coverage over a period or a team is the
//! bitwise OR of the masks (DESIGN.md §4.6), so it never needs the pings again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::registry::GridId;

/// The covered sample points of one grid's raster ([`super::GridRaster`]): bit `i` of word
/// `w` is sample `64·w + i` of the row-major lattice, rows padded to whole words.
///
/// Serialised compactly as the runs of non-zero words (see [`MaskRepr`]), so a mask of a grid
/// that was barely touched stores a few words, not the whole raster.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "MaskRepr", from = "MaskRepr")]
pub struct CoverageMask {
    words: Vec<u64>,
}

impl CoverageMask {
    /// An empty mask of `len` words.
    pub fn zeros(len: usize) -> CoverageMask {
        CoverageMask {
            words: vec![0; len],
        }
    }

    /// A mask from its raw words.
    pub fn from_words(words: Vec<u64>) -> CoverageMask {
        CoverageMask { words }
    }

    /// The raw words (row-major, rows padded to whole words).
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// The raw words, to set bits in.
    pub(crate) fn words_mut(&mut self) -> &mut [u64] {
        &mut self.words
    }

    /// Adds everything `other` covers (bitwise OR); masks of different lengths are padded with
    /// zeros.
    pub fn union_with(&mut self, other: &CoverageMask) {
        if self.words.len() < other.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= b;
        }
    }

    /// The number of set bits.
    pub fn count_ones(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// True when no bit is set.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }
}

/// The stored form of a [`CoverageMask`]: its length in words and the runs of non-zero words,
/// each as its first word's index and the words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaskRepr {
    /// Length of the mask, words.
    pub len: u32,
    /// Runs of non-zero words: (index of the first word, the words).
    pub runs: Vec<(u32, Vec<u64>)>,
}

impl From<CoverageMask> for MaskRepr {
    fn from(mask: CoverageMask) -> MaskRepr {
        let mut runs: Vec<(u32, Vec<u64>)> = Vec::new();
        let mut prev_nonzero = false;
        for (i, &w) in mask.words.iter().enumerate() {
            if w != 0 {
                match runs.last_mut() {
                    Some((_, run)) if prev_nonzero => run.push(w),
                    _ => runs.push((i as u32, vec![w])),
                }
            }
            prev_nonzero = w != 0;
        }
        MaskRepr {
            len: mask.words.len() as u32,
            runs,
        }
    }
}

impl From<MaskRepr> for CoverageMask {
    fn from(repr: MaskRepr) -> CoverageMask {
        // Runs past the declared length grow the mask rather than being dropped: a stored mask
        // never loses covered bits.
        let mut words = vec![0u64; repr.len as usize];
        for (start, run) in repr.runs {
            let start = start as usize;
            if words.len() < start + run.len() {
                words.resize(start + run.len(), 0);
            }
            words[start..start + run.len()].copy_from_slice(&run);
        }
        CoverageMask { words }
    }
}

/// Coverage masks per grid: what one track (a worker-day, a worker-month, a team) covered.
/// Grids it never came near have no entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridCoverage {
    masks: BTreeMap<GridId, CoverageMask>,
}

impl GridCoverage {
    /// No coverage at all.
    pub fn new() -> GridCoverage {
        GridCoverage::default()
    }

    /// The mask of one grid, if the track came near it.
    pub fn get(&self, grid: GridId) -> Option<&CoverageMask> {
        self.masks.get(&grid)
    }

    /// Takes one grid's mask out to cover it (an empty mask of `len` words when there is
    /// none); [`GridCoverage::put_mask`] puts it back.
    pub(crate) fn take_mask(&mut self, grid: GridId, len: usize) -> CoverageMask {
        self.masks
            .remove(&grid)
            .unwrap_or_else(|| CoverageMask::zeros(len))
    }

    /// Puts back a mask taken with [`GridCoverage::take_mask`].
    pub(crate) fn put_mask(&mut self, grid: GridId, mask: CoverageMask) {
        self.masks.insert(grid, mask);
    }

    /// Adds one grid's mask (union with what is there).
    pub fn insert_union(&mut self, grid: GridId, mask: &CoverageMask) {
        match self.masks.get_mut(&grid) {
            Some(m) => m.union_with(mask),
            None => {
                self.masks.insert(grid, mask.clone());
            }
        }
    }

    /// Adds everything `other` covers, grid by grid.
    pub fn union_with(&mut self, other: &GridCoverage) {
        for (&g, m) in &other.masks {
            self.insert_union(g, m);
        }
    }

    /// The grids with a mask and their masks, in grid order.
    pub fn iter(&self) -> impl Iterator<Item = (GridId, &CoverageMask)> {
        self.masks.iter().map(|(&g, m)| (g, m))
    }

    /// The number of grids with a mask.
    pub fn len(&self) -> usize {
        self.masks.len()
    }

    /// True when the track came near no grid.
    pub fn is_empty(&self) -> bool {
        self.masks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_keeps_only_nonzero_runs_and_round_trips() {
        let mask = CoverageMask::from_words(vec![0, 5, 7, 0, 0, u64::MAX, 0]);
        let repr = MaskRepr::from(mask.clone());
        assert_eq!(repr.len, 7);
        assert_eq!(repr.runs, vec![(1, vec![5, 7]), (5, vec![u64::MAX])]);
        assert_eq!(CoverageMask::from(repr), mask);
    }

    #[test]
    fn union_pads_the_shorter_mask() {
        let mut a = CoverageMask::from_words(vec![1]);
        a.union_with(&CoverageMask::from_words(vec![2, 4]));
        assert_eq!(a.words(), &[3, 4]);
        assert_eq!(a.count_ones(), 3);
    }
}
