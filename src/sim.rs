//! The synthetic city and its patrols.
