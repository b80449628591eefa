//! Sighting's phone-side core. One module per stage of the data flow, in flow order.
//!
//! No FFI types live here: `bindings/` maps this API for Kotlin, Swift and Python.

pub mod capture;
pub mod device;
pub mod draft;
pub mod keys;
pub mod report;
pub mod seal;
