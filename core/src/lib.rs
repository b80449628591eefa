//! Sighting's phone-side core. One module per stage of the data flow; in flow order:
//! [`capture`] → [`report`] (manifest) → [`draft`] (encrypted at rest) → [`seal`] (age) →
//! [`queue`] (durable outbox) → [`sync`] (tus upload, receipts), with [`keys`] for the device's identity, [`device`] tying them
//! together and [`handle`] running it on its own I/O thread behind an async API.
//!
//! No FFI types live here: `bindings/` maps this API for Kotlin, Swift and Python.

pub mod capture;
pub mod device;
pub mod draft;
pub mod handle;
pub mod keys;
pub mod queue;
pub mod receipt;
pub mod report;
pub mod seal;
pub mod sync;
