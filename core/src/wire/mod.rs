//! Every value that crosses the wire between the phone, the intake server and the desk, each
//! in its own small module with the paragraph of the format it follows quoted beside it, the
//! writer and the reader side by side, and tests (vectors and round trips) next to them.
//!
//! - [`upload_metadata`]: the tus `Upload-Metadata` header a new upload carries;
//! - [`envelope`]: the signed message inside it that the intake checks;
//! - [`device_clock`]: the phone's clock at upload time, for the desk's clock correction;
//! - [`receipt`]: the intake's signed proof of delivery;
//! - [`hex`]: the hex form digests and tags travel in;
//! - [`bulletin`] and [`region_tile`]: the signed feed of published missing-child cases, cut
//!   into coarse region tiles;
//! - [`desk_feed`]: the intake's listing of finished reports and their intake records, which
//!   the review desk pulls;
//! - `strict_signature` (feature `organisation`): Ed25519 verified strictly, as the intake
//!   and the desk check envelopes and manifests.

pub mod bulletin;
pub mod desk_feed;
pub mod device_clock;
pub mod envelope;
pub mod hex;
pub mod receipt;
pub mod region_tile;
#[cfg(feature = "organisation")]
pub mod strict_signature;
pub mod upload_metadata;

pub use device_clock::{DeviceClock, DeviceClockError};
pub use envelope::envelope_message;
pub use receipt::{parse_server_key, Receipt, ReceiptError};
pub use upload_metadata::{MetadataError, UploadMetadata};
