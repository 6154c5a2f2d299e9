//! The service tried as an attacker and as an unlucky operator would (issue 15): retries,
//! hostile input, faults of the disk and the database, limits and time-outs. Each concern is a
//! module; the shared helpers are in `crate::util`.

mod batch_door;
mod fuzz_corpus;
mod hostile;
mod memory;
mod props;
mod repeats;
mod smalls;
mod store_faults;
mod transport;
