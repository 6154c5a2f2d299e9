//! Units, grids, workers and checkpoints; validation; the R-tree point locator.
