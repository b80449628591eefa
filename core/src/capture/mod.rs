//! Capture: from the camera's JPEG and a location fix to a sanitized photo, an upload copy, a
//! thumbnail and their hashes. The first stage of the data flow; nothing here touches disk except
//! reading the photo the platform hands us.
//!
//! Order matters for safety and memory: the container is walked and the pixel count checked
//! before any pixel is decoded; the camera's metadata is dropped before the image is decoded
//! (the decoder only ever sees the sanitized bytes).

mod gallery;
mod icc;
mod jpeg;
pub mod location;
mod metadata;
mod phash;
mod upload_copy;

use std::fmt;
use std::io::Read;
use std::path::Path;

use ring::digest::{digest, SHA256};
use time::OffsetDateTime;

pub use jpeg::{Coding, Frame, Removed};
pub use location::{Location, LocationError, LocationFix, LocationMissing, LocationSource};
pub use metadata::{read_camera, CameraMetadata, WRITTEN_TAGS};
pub use phash::distance as phash_distance;

use metadata::FreshExif;

/// Limits checked before work is done, and the upload copy's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureOptions {
    /// Largest photo file accepted, in bytes (default 64 MiB).
    pub max_file_bytes: u64,
    /// Largest pixel count accepted, from the header, before decoding (default 100 MP).
    pub max_pixels: u64,
    /// Long edge of the upload copy (default 2048).
    pub max_edge: u32,
    /// JPEG quality of the upload copy (default 82).
    pub quality: u8,
    /// Long edge of the reporter's thumbnail (default 320).
    pub thumbnail_edge: u32,
    pub thumbnail_quality: u8,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        Self {
            max_file_bytes: 64 << 20,
            max_pixels: 100_000_000,
            max_edge: 2048,
            quality: 82,
            thumbnail_edge: 320,
            thumbnail_quality: 75,
        }
    }
}

/// What the platform knows at shutter time besides the photo.
#[derive(Debug, Clone)]
pub struct CaptureRequest {
    /// The phone's fix, or why there is none. A missing fix falls back to the camera's own GPS.
    pub location: Location,
    /// The phone's wall clock at the shutter, with its UTC offset. `None` uses the camera's
    /// DateTimeOriginal (photos imported rather than taken in the app), else now in UTC.
    pub captured_at: Option<OffsetDateTime>,
}

/// The camera's JPEG with every metadata segment replaced by the fresh Exif; pixels untouched.
pub struct SanitizedPhoto {
    pub jpeg: Vec<u8>,
    /// The camera frame.
    pub frame: Frame,
    /// The camera's Orientation, kept in the sanitized photo's Exif.
    pub orientation: u16,
    pub captured_at: OffsetDateTime,
    pub location: Location,
    /// Segments and trailers dropped from the camera's file.
    pub removed: Vec<Removed>,
    /// Parts of the camera's Exif that could not be read (it was all discarded anyway).
    pub camera_exif_problems: Vec<String>,
}

/// A photo ready to become a report. Holds a child's picture: keep it in memory only.
pub struct CapturedPhoto {
    pub sanitized: SanitizedPhoto,
    /// What is uploaded: upright, long edge ≤ `max_edge`, fresh Exif (or the sanitized photo
    /// itself when re-encoding would not make it smaller).
    pub upload_copy: Vec<u8>,
    pub sha256_upload: [u8; 32],
    /// Stored pixel size of the upload copy.
    pub width: u32,
    pub height: u32,
    /// For the reporter's own outbox; never leaves the device.
    pub thumbnail: Vec<u8>,
    /// dHash of the upright picture.
    pub perceptual_hash: u64,
}

impl SanitizedPhoto {
    /// SHA-256 of the sanitized photo (not of the camera's bytes: that hash could match a copy
    /// left in the reporter's gallery and so point back at them).
    pub fn sha256(&self) -> [u8; 32] {
        sha256(&self.jpeg)
    }
}

// Photo bytes are a child's picture: never in logs.
impl fmt::Debug for SanitizedPhoto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SanitizedPhoto")
            .field("bytes", &self.jpeg.len())
            .field("frame", &self.frame)
            .field("orientation", &self.orientation)
            .field("captured_at", &self.captured_at)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for CapturedPhoto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CapturedPhoto")
            .field("sanitized", &self.sanitized)
            .field("upload_copy_bytes", &self.upload_copy.len())
            .field("width", &self.width)
            .field("height", &self.height)
            .field("thumbnail_bytes", &self.thumbnail.len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("the photo file is empty")]
    Empty,
    #[error("HEIC photos must be converted to JPEG first (the phone apps do it with the phone's own decoder)")]
    Heic,
    #[error("not a JPEG photo (it looks like {0})")]
    NotJpeg(&'static str),
    #[error("the JPEG is cut short (at byte {offset})")]
    Truncated { offset: usize },
    #[error("the JPEG is damaged at byte {offset}: {reason}")]
    Malformed { offset: usize, reason: &'static str },
    #[error("the photo file is {bytes} bytes; the limit is {limit}")]
    FileTooLarge { bytes: u64, limit: u64 },
    #[error("the photo is {width}×{height} pixels; the limit is {limit} pixels")]
    TooManyPixels { width: u32, height: u32, limit: u64 },
    #[error("this kind of JPEG is not supported: {0}")]
    Unsupported(&'static str),
    #[error("the photo's image data cannot be decoded: {0}")]
    Undecodable(String),
    #[error("invalid location: {0}")]
    Location(#[from] LocationError),
    #[error("cannot read the photo: {0}")]
    Io(#[from] std::io::Error),
    #[error("the JPEG encoder failed: {0}")]
    Encode(String),
    #[error("internal error: {0}")]
    Internal(&'static str),
}

/// Reads a photo file, checking its size before reading it.
pub fn read_photo(path: &Path, options: &CaptureOptions) -> Result<Vec<u8>, CaptureError> {
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    check_file_size(len, options)?;
    let mut bytes = Vec::with_capacity(len as usize);
    // `take` guards against a file that grows while we read it.
    file.take(options.max_file_bytes + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The lossless stage alone: strips every metadata segment and trailer and writes the fresh
/// Exif. Never decodes a JPEG's pixels, so it also works on a photo whose scan data is damaged;
/// a PNG or WebP from the gallery is decoded and re-encoded first, keeping only its pixels.
/// Takes ownership so the camera's bytes (with their metadata) are freed as soon as the copy
/// exists.
pub fn sanitize(
    camera_jpeg: Vec<u8>,
    request: &CaptureRequest,
    options: &CaptureOptions,
) -> Result<SanitizedPhoto, CaptureError> {
    check_file_size(camera_jpeg.len() as u64, options)?;
    let now = OffsetDateTime::now_utc();
    if let Location::Fix(fix) = &request.location {
        fix.validate(now)?;
    }
    let (camera_jpeg, gallery_removed) = match gallery::as_jpeg(&camera_jpeg, options)? {
        Some((jpeg, removed)) => (jpeg, Some(removed)),
        None => (camera_jpeg, None),
    };
    let layout = jpeg::Layout::parse(&camera_jpeg)?;
    let frame = layout.frame;
    check_frame(&frame, options)?;
    let camera = metadata::read_camera(layout.camera_exif);
    let location = match &request.location {
        Location::Missing(reason) => camera
            .gps
            .clone()
            .map_or(Location::Missing(*reason), Location::Fix),
        fix => fix.clone(),
    };
    let captured_at = request.captured_at.or(camera.taken_at).unwrap_or(now);
    let exif = fresh_exif(camera.orientation, captured_at, &location)?;
    let jpeg = layout.write(&exif);
    Ok(SanitizedPhoto {
        jpeg,
        frame,
        orientation: camera.orientation,
        captured_at,
        location,
        // A re-encoded gallery photo lost its whole file, not the encoder's own segments.
        removed: gallery_removed.unwrap_or(layout.removed),
        camera_exif_problems: camera.problems,
    })
}

/// The whole capture stage: [`sanitize`], then one decode for the upload copy, the thumbnail
/// and the perceptual hash.
pub fn capture(
    camera_jpeg: Vec<u8>,
    request: &CaptureRequest,
    options: &CaptureOptions,
) -> Result<CapturedPhoto, CaptureError> {
    let sanitized = sanitize(camera_jpeg, request, options)?;
    let SanitizedPhoto { orientation, .. } = sanitized;
    let upright = upload_copy::decode_upright(&sanitized.jpeg, options.max_edge, orientation)?;
    let (thumbnail, perceptual_hash) = upload_copy::thumbnail(&upright, options)?;
    // The upload copy is always re-encoded: a copy of the camera's own scan would carry its
    // quantisation tables, which identify a camera model class.
    let exif = fresh_exif(1, sanitized.captured_at, &sanitized.location)?;
    // The colours still need the camera's (neutralised) profile.
    let icc = jpeg::Layout::parse(&sanitized.jpeg)?.icc_segments();
    let mut upload_copy = Vec::new();
    // A camera that already compressed hard can beat our quality at as many pixels: step the
    // quality down while the copy is bigger than the camera's file (at the last step it is
    // taken anyway).
    for quality in (options.quality.min(50)..=options.quality).rev().step_by(8) {
        let plain = upload_copy::encode(&upright, quality)?;
        // The encoder's own APP0 goes; the fresh Exif (now Orientation 1) comes in.
        let mut layout = jpeg::Layout::parse(&plain)?;
        layout.set_icc_segments(icc.clone());
        upload_copy = layout.write(&exif);
        if upload_copy.len() < sanitized.jpeg.len() {
            break;
        }
    }
    let (width, height) = upright.dimensions();
    Ok(CapturedPhoto {
        sha256_upload: sha256(&upload_copy),
        upload_copy,
        width,
        height,
        thumbnail,
        perceptual_hash,
        sanitized,
    })
}

/// A small copy of a photo, long edge ≤ `long_edge`, turned upright by its own Exif
/// Orientation (a camera's photo, or a report's upload copy, already upright) and written with
/// no metadata: the desk's list thumbnails and the case photos phones get.
pub fn small_copy(
    jpeg: &[u8],
    long_edge: u32,
    options: &CaptureOptions,
) -> Result<Vec<u8>, CaptureError> {
    check_file_size(jpeg.len() as u64, options)?;
    let layout = jpeg::Layout::parse(jpeg)?;
    check_frame(&layout.frame, options)?;
    let orientation = metadata::read_camera(layout.camera_exif).orientation;
    let upright = upload_copy::decode_upright(jpeg, long_edge, orientation)?;
    upload_copy::encode(&upright, options.thumbnail_quality)
}

/// The perceptual hash of a photo as [`capture`] computes it, from the JPEG alone: the desk
/// recomputes it from the photo it decrypted rather than trust the one a manifest states.
pub fn perceptual_hash(jpeg: &[u8], options: &CaptureOptions) -> Result<u64, CaptureError> {
    check_file_size(jpeg.len() as u64, options)?;
    let layout = jpeg::Layout::parse(jpeg)?;
    check_frame(&layout.frame, options)?;
    let orientation = metadata::read_camera(layout.camera_exif).orientation;
    let upright = upload_copy::decode_upright(jpeg, options.max_edge, orientation)?;
    Ok(upload_copy::thumbnail(&upright, options)?.1)
}

/// The complete APP1 segment with the fresh Exif block.
fn fresh_exif(
    orientation: u16,
    captured_at: OffsetDateTime,
    location: &Location,
) -> Result<Vec<u8>, CaptureError> {
    let location = match location {
        Location::Fix(fix) => Some(fix),
        Location::Missing(_) => None,
    };
    jpeg::exif_segment(
        &FreshExif {
            orientation,
            captured_at,
            location,
        }
        .to_tiff()?,
    )
}

fn check_file_size(bytes: u64, options: &CaptureOptions) -> Result<(), CaptureError> {
    if bytes > options.max_file_bytes {
        return Err(CaptureError::FileTooLarge {
            bytes,
            limit: options.max_file_bytes,
        });
    }
    Ok(())
}

fn check_frame(frame: &Frame, options: &CaptureOptions) -> Result<(), CaptureError> {
    let (width, height) = (u32::from(frame.width), u32::from(frame.height));
    if u64::from(width) * u64::from(height) > options.max_pixels {
        return Err(CaptureError::TooManyPixels {
            width,
            height,
            limit: options.max_pixels,
        });
    }
    if width == 0 || height == 0 {
        return Err(CaptureError::Unsupported(
            "a frame whose size is set later (DNL) or is zero",
        ));
    }
    match (frame.coding, frame.precision) {
        (Coding::Lossless, _) => Err(CaptureError::Unsupported("lossless JPEG")),
        (Coding::Hierarchical, _) => Err(CaptureError::Unsupported("hierarchical JPEG")),
        (_, 8) => Ok(()),
        _ => Err(CaptureError::Unsupported("12-bit JPEG")),
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, bytes).as_ref());
    out
}
