//! The organisation's side of Sighting. Nothing here ever runs on a phone.
//!
//! - [`keygen`]: the organisation's age identity and the intake server's receipt key.
//! - [`intake`]: the tus intake server that stores ciphertext and signs receipts.
//! - [`desk`]: opening sealed reports with the organisation's identity and checking them.

pub mod desk;
pub mod intake;
pub mod keygen;
pub mod signature;
