//! The service tried as an attacker and as an unlucky operator would (issue 15): retries,
//! hostile input, faults of the disk and the database, limits and time-outs. Each concern is a
//! module; the shared helpers are in `crate::util`. The engine's modules (`props`,
//! `fuzz_corpus`) run in every build, `batch_door` with `assess`, the others with `service`.

#[cfg(feature = "assess")]
mod batch_door;
mod fuzz_corpus;
#[cfg(feature = "service")]
mod hostile;
#[cfg(feature = "service")]
mod memory;
mod props;
#[cfg(feature = "service")]
mod repeats;
#[cfg(feature = "service")]
mod smalls;
#[cfg(feature = "service")]
mod store_faults;
#[cfg(feature = "service")]
mod transport;
