//! Sighting's phone-side core. One module per stage of the data flow; in flow order:
//! [`capture`] → [`report`] (manifest) → [`draft`] (encrypted at rest) → [`seal`] (age) →
//! [`queue`] (durable outbox) → [`sync`] (tus upload, receipts). Around them: [`keys`] (the
//! device's identity), [`device`] (the one owner of the queue and its files), [`handle`] (the
//! device on its own I/O thread behind an async API), [`client`] (building both from the
//! app's configuration), [`wire`] (every value that crosses the network), and [`sqlite`] and
//! [`millis`] (what every database of the project shares).
//!
//! No FFI types live here: `bindings/` maps this API for Kotlin, Swift and Python.

pub mod bulletins;
pub mod capture;
pub mod client;
pub mod device;
pub mod draft;
pub mod handle;
pub mod keys;
pub mod millis;
mod private_fs;
pub mod queue;
pub mod report;
pub mod seal;
pub mod sqlite;
pub mod sync;
pub mod wire;
