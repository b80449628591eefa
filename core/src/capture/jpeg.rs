//! A JPEG marker walker and the lossless metadata strip built on it.
//!
//! Written by hand because no maintained crate rewrites a JPEG's marker segments without
//! re-encoding it (`img-parts` is unmaintained and keeps trailers); the walk is small and this way
//! every byte that is kept is one we chose to keep.
//!
//! ITU-T T.81 (JPEG), B.1.1.2 *Markers*: "All markers are assigned two-byte codes: an X'FF' byte
//! followed by a byte which is not equal to 0 or X'FF' [...]. Any marker may optionally be
//! preceded by any number of fill bytes, which are bytes assigned code X'FF'."
//!
//! B.1.1.4 *Marker segments*: "A marker segment consists of a marker followed by a sequence of
//! related parameters. The first parameter in a marker segment is the two-byte length parameter
//! [...] the length parameter encodes the number of bytes in the marker segment, including the
//! length parameter and excluding the two-byte marker."
//!
//! B.1.1.5 *Entropy-coded data segments*: "[...] if a X'FF' byte is generated [...] a X'00' byte
//! is stuffed following the X'FF' byte." Restart markers (RST0–RST7) also sit inside the scan.

use super::CaptureError;

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const DQT: u8 = 0xDB;
const DNL: u8 = 0xDC;
const DRI: u8 = 0xDD;
const DHT: u8 = 0xC4;
const DAC: u8 = 0xCC;
const COM: u8 = 0xFE;
const APP0: u8 = 0xE0;
const APP1: u8 = 0xE1;
const APP2: u8 = 0xE2;
const APP13: u8 = 0xED;
const APP14: u8 = 0xEE;

const EXIF_ID: &[u8] = b"Exif\0\0";
const ICC_ID: &[u8] = b"ICC_PROFILE\0";
const ADOBE_ID: &[u8] = b"Adobe";

/// The primary frame's header (SOFn), read before any pixel is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    pub width: u16,
    pub height: u16,
    /// Bits per sample: 8 for ordinary photos, 12 for some medical/raw-ish encoders.
    pub precision: u8,
    pub components: u8,
    pub coding: Coding,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Baseline,
    ExtendedSequential,
    Progressive,
    Lossless,
    Arithmetic,
    Hierarchical,
}

/// What the sanitizer removed, for the reporter's "what was stripped" line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    pub what: &'static str,
    pub bytes: usize,
}

/// The walk of one JPEG: which byte ranges to keep, what was dropped, the camera's Exif.
pub struct Layout<'a> {
    pub frame: Frame,
    /// Kept marker segments and scans, in file order, SOI and EOI excluded.
    kept: Vec<&'a [u8]>,
    /// The ICC profile with its identifying fields removed, as APP2 segments ([`super::icc`]).
    icc: Vec<Vec<u8>>,
    pub removed: Vec<Removed>,
    /// The TIFF structure inside the first APP1 Exif segment, if any.
    pub camera_exif: Option<&'a [u8]>,
}

impl<'a> Layout<'a> {
    /// Walks `data` up to the primary image's EOI.
    pub fn parse(data: &'a [u8]) -> Result<Self, CaptureError> {
        sniff(data)?;
        let mut walker = Walker { data, pos: 2 };
        let mut frame = None;
        let mut saw_scan = false;
        let mut kept = Vec::new();
        let mut removed: Vec<Removed> = Vec::new();
        let mut camera_exif = None;
        let mut icc_chunks = Vec::new();
        loop {
            let (marker, start) = walker.next_marker()?;
            match marker {
                EOI => break,
                SOI => return Err(walker.malformed(start, "a second start-of-image marker")),
                0xD0..=0xD7 | 0x01 => {
                    return Err(walker.malformed(start, "a restart marker outside scan data"))
                }
                _ => {}
            }
            let segment = walker.segment(start)?;
            let body = &segment[4..];
            match marker {
                SOS => {
                    if frame.is_none() {
                        return Err(walker.malformed(start, "scan data before a frame header"));
                    }
                    let scan_end = walker.skip_entropy_coded_data()?;
                    kept.push(&data[start..scan_end]);
                    saw_scan = true;
                }
                0xC0..=0xCF if marker != DHT && marker != DAC && marker != 0xC8 => {
                    if frame.is_some() {
                        return Err(walker.malformed(start, "a second frame header"));
                    }
                    frame = Some(parse_frame(marker, body).ok_or_else(|| {
                        walker.malformed(start, "a frame header that is too short")
                    })?);
                    kept.push(segment);
                }
                DQT | DHT | DAC | DRI | DNL => kept.push(segment),
                APP2 if body.starts_with(ICC_ID) => icc_chunks.push(&body[ICC_ID.len()..]),
                APP14 if body.starts_with(ADOBE_ID) => kept.push(segment),
                APP1 if body.starts_with(EXIF_ID) => {
                    camera_exif.get_or_insert(&body[EXIF_ID.len()..]);
                    note(&mut removed, "Exif", segment.len());
                }
                0xE0..=0xEF | COM => note(&mut removed, describe(marker, body), segment.len()),
                _ => return Err(walker.malformed(start, "an unknown marker")),
            }
        }
        let frame = frame.ok_or_else(|| walker.malformed(walker.pos, "no frame header"))?;
        if !saw_scan {
            return Err(walker.malformed(walker.pos, "no scan data"));
        }
        if walker.pos < data.len() {
            note(
                &mut removed,
                "data after the image (trailer, MPF or motion photo)",
                data.len() - walker.pos,
            );
        }
        let icc = neutral_icc(&icc_chunks, &mut removed);
        Ok(Layout {
            frame,
            kept,
            icc,
            removed,
            camera_exif,
        })
    }

    /// The neutralised ICC profile's APP2 segments (none when the photo had no profile).
    pub fn icc_segments(&self) -> Vec<Vec<u8>> {
        self.icc.clone()
    }

    /// Gives the written file another photo's ICC profile segments (a re-encode keeps the
    /// camera's colours).
    pub fn set_icc_segments(&mut self, segments: Vec<Vec<u8>>) {
        self.icc = segments;
    }

    /// Writes SOI, `app1` (a complete APP1 segment, or nothing), the ICC profile, the kept
    /// segments and EOI.
    pub fn write(&self, app1: &[u8]) -> Vec<u8> {
        let len = 4
            + app1.len()
            + self.icc.iter().map(Vec::len).sum::<usize>()
            + self.kept.iter().map(|s| s.len()).sum::<usize>();
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&[0xFF, SOI]);
        out.extend_from_slice(app1);
        for segment in self
            .icc
            .iter()
            .map(Vec::as_slice)
            .chain(self.kept.iter().copied())
        {
            out.extend_from_slice(segment);
        }
        out.extend_from_slice(&[0xFF, EOI]);
        out
    }
}

/// The camera's ICC profile, rebuilt without what identifies the maker, device or time (or
/// dropped when it is malformed); what went is noted.
fn neutral_icc(chunks: &[&[u8]], removed: &mut Vec<Removed>) -> Vec<Vec<u8>> {
    if chunks.is_empty() {
        return Vec::new();
    }
    let original: usize = chunks.iter().map(|c| c.len() + 16).sum();
    let Some(profile) = super::icc::reassemble(chunks).and_then(|p| super::icc::neutralise(&p))
    else {
        note(removed, "ICC profile (malformed)", original);
        return Vec::new();
    };
    let segments = super::icc::segments(&profile, ICC_ID);
    let kept: usize = segments.iter().map(Vec::len).sum();
    if original > kept {
        note(
            removed,
            "ICC profile maker, device, date and text",
            original - kept,
        );
    }
    segments
}

/// Wraps a TIFF structure into an APP1 Exif marker segment.
pub fn exif_segment(tiff: &[u8]) -> Result<Vec<u8>, CaptureError> {
    let len = 2 + EXIF_ID.len() + tiff.len();
    let len = u16::try_from(len).map_err(|_| CaptureError::Internal("Exif block over 64 KiB"))?;
    let mut out = Vec::with_capacity(usize::from(len) + 2);
    out.extend_from_slice(&[0xFF, APP1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(EXIF_ID);
    out.extend_from_slice(tiff);
    Ok(out)
}

/// Recognises the formats people most often hand us instead of a JPEG.
fn sniff(data: &[u8]) -> Result<(), CaptureError> {
    match data {
        [] => Err(CaptureError::Empty),
        [0xFF, SOI, 0xFF, ..] => Ok(()),
        [_, _, _, _, b'f', b't', b'y', b'p', brand @ ..]
            if [
                &b"heic"[..],
                b"heix",
                b"heif",
                b"mif1",
                b"msf1",
                b"hevc",
                b"avif",
            ]
            .iter()
            .any(|b| brand.starts_with(b)) =>
        {
            Err(CaptureError::Heic)
        }
        [0x89, b'P', b'N', b'G', ..] => Err(CaptureError::NotJpeg("PNG")),
        [b'G', b'I', b'F', b'8', ..] => Err(CaptureError::NotJpeg("GIF")),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => {
            Err(CaptureError::NotJpeg("WebP"))
        }
        [0xFF, SOI] | [0xFF] => Err(CaptureError::Truncated { offset: data.len() }),
        _ => Err(CaptureError::NotJpeg("an unknown format")),
    }
}

fn parse_frame(marker: u8, body: &[u8]) -> Option<Frame> {
    let [precision, h0, h1, w0, w1, components, ..] = *body else {
        return None;
    };
    let coding = match marker {
        0xC0 => Coding::Baseline,
        0xC1 => Coding::ExtendedSequential,
        0xC2 => Coding::Progressive,
        0xC3 => Coding::Lossless,
        0xC9..=0xCB => Coding::Arithmetic,
        _ => Coding::Hierarchical,
    };
    Some(Frame {
        width: u16::from_be_bytes([w0, w1]),
        height: u16::from_be_bytes([h0, h1]),
        precision,
        components,
        coding,
    })
}

fn describe(marker: u8, body: &[u8]) -> &'static str {
    let prefixes: &[(u8, &[u8], &'static str)] = &[
        (APP0, b"JFIF\0", "JFIF"),
        (APP0, b"JFXX\0", "JFIF thumbnail"),
        (APP1, b"http://ns.adobe.com/xap/1.0/\0", "XMP"),
        (
            APP1,
            b"http://ns.adobe.com/xmp/extension/\0",
            "Extended XMP",
        ),
        (APP2, b"MPF\0", "MPF (multi-picture index)"),
        (APP2, b"FPXR\0", "FlashPix"),
        (APP13, b"Photoshop 3.0\0", "IPTC/Photoshop"),
    ];
    if marker == COM {
        return "comment";
    }
    prefixes
        .iter()
        .find(|(m, prefix, _)| *m == marker && body.starts_with(prefix))
        .map(|(_, _, what)| *what)
        .unwrap_or(match marker {
            APP1 => "APP1 (other)",
            APP2 => "APP2 (other)",
            APP13 => "APP13 (other)",
            APP14 => "APP14 (other)",
            _ => "APPn (maker data)",
        })
}

fn note(removed: &mut Vec<Removed>, what: &'static str, bytes: usize) {
    match removed.iter_mut().find(|r| r.what == what) {
        Some(r) => r.bytes += bytes,
        None => removed.push(Removed { what, bytes }),
    }
}

struct Walker<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Walker<'a> {
    /// Reads the next marker, skipping fill bytes; returns it and the offset of its 0xFF.
    fn next_marker(&mut self) -> Result<(u8, usize), CaptureError> {
        if self.data.get(self.pos) != Some(&0xFF) {
            return match self.data.get(self.pos) {
                None => Err(CaptureError::Truncated { offset: self.pos }),
                Some(_) => Err(self.malformed(self.pos, "a marker was expected")),
            };
        }
        while self.data.get(self.pos) == Some(&0xFF) {
            self.pos += 1;
        }
        match self.data.get(self.pos) {
            None => Err(CaptureError::Truncated { offset: self.pos }),
            Some(0) => Err(self.malformed(self.pos, "a stuffed zero outside scan data")),
            Some(&m) => {
                self.pos += 1;
                // The segment starts at the last 0xFF: fill bytes before it are not kept.
                Ok((m, self.pos - 2))
            }
        }
    }

    /// The whole marker segment starting at `start` (marker, length and body).
    fn segment(&mut self, start: usize) -> Result<&'a [u8], CaptureError> {
        let len_bytes = self
            .data
            .get(self.pos..self.pos + 2)
            .ok_or(CaptureError::Truncated {
                offset: self.data.len(),
            })?;
        let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        if len < 2 {
            return Err(self.malformed(start, "a segment length under 2"));
        }
        let end = self.pos + len;
        if end > self.data.len() {
            return Err(CaptureError::Truncated {
                offset: self.data.len(),
            });
        }
        self.pos = end;
        Ok(&self.data[start..end])
    }

    /// Skips entropy-coded data (with its stuffed zeros and restart markers); returns its end.
    fn skip_entropy_coded_data(&mut self) -> Result<usize, CaptureError> {
        loop {
            // memchr: scan data is nearly the whole file, and a byte loop is the hot spot.
            let Some(ff) = memchr::memchr(0xFF, &self.data[self.pos..]) else {
                return Err(CaptureError::Truncated {
                    offset: self.data.len(),
                });
            };
            self.pos += ff;
            match self.data.get(self.pos + 1) {
                None => {
                    return Err(CaptureError::Truncated {
                        offset: self.data.len(),
                    })
                }
                Some(0x00) | Some(0xD0..=0xD7) => self.pos += 2,
                // A fill byte: look again from the next 0xFF.
                Some(0xFF) => self.pos += 1,
                // Only these markers may follow a scan. Any other 0xFF pair is damaged scan
                // data: kept as it is (the strip stays lossless) for the decoder to judge.
                Some(0xC0..=0xCF | 0xD8..=0xDF | 0xE0..=0xEF | 0xFE) => return Ok(self.pos),
                Some(_) => self.pos += 2,
            }
        }
    }

    fn malformed(&self, offset: usize, reason: &'static str) -> CaptureError {
        CaptureError::Malformed { offset, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal 8×8 greyscale baseline JPEG (one DC coefficient), made by hand for the walker.
    fn tiny_jpeg(extra: &[u8], trailer: &[u8]) -> Vec<u8> {
        let mut v = vec![0xFF, SOI];
        v.extend_from_slice(extra);
        // DQT: one table of ones.
        v.extend_from_slice(&[0xFF, DQT, 0x00, 0x43, 0x00]);
        v.extend_from_slice(&[1; 64]);
        // SOF0: 8-bit, 8×8, one component.
        v.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x0B, 8, 0, 8, 0, 8, 1, 1, 0x11, 0]);
        // DHT: DC table 0 with one code of length 1 (symbol 0); AC table 0 likewise (EOB).
        v.extend_from_slice(&[0xFF, DHT, 0x00, 0x14, 0x00, 1]);
        v.extend_from_slice(&[0; 15]);
        v.push(0);
        v.extend_from_slice(&[0xFF, DHT, 0x00, 0x14, 0x10, 1]);
        v.extend_from_slice(&[0; 15]);
        v.push(0);
        // SOS and two bits of scan data (DC diff 0, EOB), padded with ones; a stuffed FF00 too.
        v.extend_from_slice(&[0xFF, SOS, 0x00, 0x08, 1, 1, 0x00, 0, 63, 0]);
        v.extend_from_slice(&[0x3F, 0xFF, 0x00]);
        v.extend_from_slice(&[0xFF, EOI]);
        v.extend_from_slice(trailer);
        v
    }

    #[test]
    fn keeps_tables_and_scan_drops_metadata_and_trailer() {
        let mut extra = vec![0xFF, APP1, 0x00, 0x0A];
        extra.extend_from_slice(b"Exif\0\0MM");
        extra.extend_from_slice(&[0xFF, COM, 0x00, 0x05, b'h', b'i', b'!']);
        let input = tiny_jpeg(&extra, b"MOTION-PHOTO-TRAILER");
        let layout = Layout::parse(&input).unwrap();
        assert_eq!(layout.frame.width, 8);
        assert_eq!(layout.camera_exif, Some(&b"MM"[..]));
        let out = layout.write(&[]);
        assert_eq!(out, tiny_jpeg(&[], &[]));
        let whats: Vec<_> = layout.removed.iter().map(|r| (r.what, r.bytes)).collect();
        assert_eq!(
            whats,
            [
                ("Exif", 12),
                ("comment", 7),
                ("data after the image (trailer, MPF or motion photo)", 20)
            ]
        );
    }

    #[test]
    fn every_truncation_is_a_typed_error() {
        let input = tiny_jpeg(&[], &[]);
        for cut in 0..input.len() {
            let err = Layout::parse(&input[..cut]).err();
            assert!(
                matches!(
                    err,
                    Some(CaptureError::Truncated { .. } | CaptureError::Empty)
                ),
                "cut at {cut}: {err:?}"
            );
        }
    }

    #[test]
    fn recognises_other_formats() {
        assert!(matches!(Layout::parse(b""), Err(CaptureError::Empty)));
        assert!(matches!(
            Layout::parse(b"\x89PNG\r\n\x1a\n...."),
            Err(CaptureError::NotJpeg("PNG"))
        ));
        assert!(matches!(
            Layout::parse(b"\0\0\0\x18ftypheic\0\0\0\0"),
            Err(CaptureError::Heic)
        ));
    }

    #[test]
    fn bad_segment_length_is_malformed() {
        let mut input = tiny_jpeg(&[], &[]);
        input[4] = 0;
        input[5] = 1; // DQT length 1
        assert!(matches!(
            Layout::parse(&input),
            Err(CaptureError::Malformed { .. })
        ));
    }
}
