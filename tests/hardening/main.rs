//! The service tried as an attacker and as an unlucky operator would (issue 15): retries,
//! hostile input, faults of the disk and the database, limits and time-outs. One test binary;
//! each concern is a module, the shared helpers are in `util`.
#![cfg(feature = "assess")]

mod batch_door;
mod fuzz_corpus;
mod hostile;
mod memory;
mod props;
mod repeats;
mod smalls;
mod store_faults;
mod transport;
mod util;
