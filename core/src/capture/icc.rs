//! The camera's ICC colour profile, kept for its colours and stripped of everything else.
//!
//! A profile says how the pixels' numbers map to colours, and some photos (wide-gamut phones)
//! look wrong without it; but its header and text tags can name the phone's maker and model,
//! the software that made it and when ("Apple Computer Inc.", "Display P3", a date). So the
//! profile is rebuilt: header identity fields zeroed, colorimetric tags copied byte for byte,
//! the required description and copyright replaced by fixed neutral text, every other tag
//! (device maker and model descriptions, viewing conditions, private tags) dropped. The pixels
//! are untouched.
//!
//! ICC.1:2022 §7.2 *Profile header*: bytes 4–7 preferred CMM, 24–35 date and time, 40–43
//! primary platform, 48–51 device manufacturer, 52–55 device model, 56–63 device attributes,
//! 80–83 profile creator, 84–99 profile ID ("a profile ID field value of zero (00h) shall
//! indicate that a profile ID has not been calculated"). §7.3 *Tag table*: "tag count (n)
//! [...] followed by a series of 12-byte tag entries": signature, offset, size; "all tag data
//! shall be padded [...] to a 4-byte boundary".
//!
//! ICC.1:2022 Annex B.4 *Embedding ICC profiles in JPEG files*: "the marker APP2 [...] the
//! identifier "ICC_PROFILE" [...] followed by the sequence number of the chunk (one-based) and
//! the total number of chunks".

const HEADER: usize = 128;
const ACSP: &[u8; 4] = b"acsp";
/// Data bytes one APP2 segment can carry: 65535 − length field − "ICC_PROFILE\0" − 2.
const CHUNK: usize = 65535 - 2 - 12 - 2;
/// Tags whose data define colours; copied as they are.
const COLORIMETRIC: [&[u8; 4]; 21] = [
    b"wtpt", b"bkpt", b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC", b"gTRC", b"bTRC", b"kTRC", b"chad",
    b"chrm", b"lumi", b"meas", b"gamt", b"A2B0", b"A2B1", b"A2B2", b"B2A0", b"B2A1", b"B2A2",
    b"cicp",
];
/// Header byte ranges that identify a maker, device, platform, software or time.
const IDENTIFYING: [std::ops::Range<usize>; 7] =
    [4..8, 24..36, 40..44, 48..52, 52..56, 56..64, 80..100];
const DESCRIPTION: &str = "Camera colour profile";
const COPYRIGHT: &str = "No copyright";

/// Reassembles a profile from the bodies of its APP2 segments (after "ICC_PROFILE\0"), in
/// sequence order; `None` when the chunks are inconsistent.
pub fn reassemble(chunks: &[&[u8]]) -> Option<Vec<u8>> {
    let count = chunks.first()?.get(1).copied()?;
    if usize::from(count) != chunks.len() {
        return None;
    }
    let mut ordered: Vec<&[u8]> = vec![&[]; chunks.len()];
    for chunk in chunks {
        let (&seq, &total) = (chunk.first()?, chunk.get(1)?);
        let slot = ordered.get_mut(usize::from(seq).checked_sub(1)?)?;
        if total != count || !slot.is_empty() {
            return None;
        }
        *slot = &chunk[2..];
    }
    Some(ordered.concat())
}

/// The profile with its identifying fields and tags removed, or `None` when it is not a
/// well-formed profile (then it is dropped whole).
pub fn neutralise(profile: &[u8]) -> Option<Vec<u8>> {
    let declared = usize::try_from(u32_at(profile, 0)?).ok()?;
    if declared < HEADER + 4 || declared > profile.len() || profile.get(36..40)? != ACSP {
        return None;
    }
    let profile = &profile[..declared];
    let count = usize::try_from(u32_at(profile, HEADER)?).ok()?;
    if count > (declared - HEADER - 4) / 12 {
        return None;
    }
    let mut tags: Vec<([u8; 4], Vec<u8>)> = Vec::new();
    for i in 0..count {
        let entry = HEADER + 4 + 12 * i;
        let signature: [u8; 4] = profile.get(entry..entry + 4)?.try_into().ok()?;
        let offset = usize::try_from(u32_at(profile, entry + 4)?).ok()?;
        let size = usize::try_from(u32_at(profile, entry + 8)?).ok()?;
        let data = profile.get(offset..offset.checked_add(size)?)?;
        if COLORIMETRIC.contains(&&signature) && !tags.iter().any(|(s, _)| *s == signature) {
            tags.push((signature, data.to_vec()));
        }
    }
    let major_version = profile[8];
    tags.push((*b"desc", text_tag(major_version, DESCRIPTION, true)));
    tags.push((*b"cprt", text_tag(major_version, COPYRIGHT, false)));
    Some(build(&profile[..HEADER], &tags))
}

/// A text tag as the profile's version expects it: `mluc` from version 4, else `desc`
/// (textDescriptionType) for the description and `text` for the copyright.
fn text_tag(major_version: u8, text: &str, description: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if major_version >= 4 {
        let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        out.extend_from_slice(b"mluc\0\0\0\0");
        out.extend_from_slice(&1u32.to_be_bytes()); // one record
        out.extend_from_slice(&12u32.to_be_bytes()); // record size
        out.extend_from_slice(b"enUS");
        out.extend_from_slice(&(utf16.len() as u32).to_be_bytes());
        out.extend_from_slice(&28u32.to_be_bytes()); // offset: 16 + one 12-byte record
        out.extend_from_slice(&utf16);
    } else if description {
        out.extend_from_slice(b"desc\0\0\0\0");
        out.extend_from_slice(&(text.len() as u32 + 1).to_be_bytes());
        out.extend_from_slice(text.as_bytes());
        out.push(0);
        // No Unicode and no ScriptCode description: language 0, count 0; code 0, count 0,
        // and the 67 bytes ScriptCode always takes.
        out.extend_from_slice(&[0u8; 4 + 4 + 2 + 1 + 67]);
    } else {
        out.extend_from_slice(b"text\0\0\0\0");
        out.extend_from_slice(text.as_bytes());
        out.push(0);
    }
    out
}

/// Header (identifying fields zeroed, size updated), tag table, tag data on 4-byte bounds.
fn build(header: &[u8], tags: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut out = header.to_vec();
    for range in IDENTIFYING {
        out[range].fill(0);
    }
    out.extend_from_slice(&(tags.len() as u32).to_be_bytes());
    let table = out.len();
    out.resize(table + 12 * tags.len(), 0);
    for (i, (signature, data)) in tags.iter().enumerate() {
        while out.len() % 4 != 0 {
            out.push(0);
        }
        let entry = table + 12 * i;
        out[entry..entry + 4].copy_from_slice(signature);
        let offset = out.len() as u32;
        out[entry + 4..entry + 8].copy_from_slice(&offset.to_be_bytes());
        out[entry + 8..entry + 12].copy_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(data);
    }
    while out.len() % 4 != 0 {
        out.push(0);
    }
    let size = out.len() as u32;
    out[0..4].copy_from_slice(&size.to_be_bytes());
    out
}

/// The profile as APP2 marker segments (whole segments, marker and length included).
pub fn segments(profile: &[u8], icc_id: &[u8]) -> Vec<Vec<u8>> {
    let chunks: Vec<&[u8]> = profile.chunks(CHUNK).collect();
    let total = chunks.len() as u8;
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let len = (2 + icc_id.len() + 2 + chunk.len()) as u16;
            let mut segment = vec![0xFF, 0xE2];
            segment.extend_from_slice(&len.to_be_bytes());
            segment.extend_from_slice(icc_id);
            segment.extend_from_slice(&[i as u8 + 1, total]);
            segment.extend_from_slice(chunk);
            segment
        })
        .collect()
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small v2 profile with a maker, model, creator, date, a vendor description, a device
    /// model description and a white point.
    fn vendor_profile() -> Vec<u8> {
        let mut header = vec![0u8; HEADER];
        header[4..8].copy_from_slice(b"appl");
        header[8] = 2;
        header[12..16].copy_from_slice(b"mntr");
        header[16..20].copy_from_slice(b"RGB ");
        header[20..24].copy_from_slice(b"XYZ ");
        header[24..36].copy_from_slice(&[7, 226, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]);
        header[36..40].copy_from_slice(ACSP);
        header[40..44].copy_from_slice(b"APPL");
        header[48..52].copy_from_slice(b"APPL");
        header[52..56].copy_from_slice(b"iPh7");
        header[80..84].copy_from_slice(b"appl");
        header[84..100].fill(0xAB);
        let white = [
            b"XYZ \0\0\0\0".as_slice(),
            &[0, 0, 0xF6, 0xD6, 0, 1, 0, 0, 0, 0, 0xD3, 0x2D],
        ]
        .concat();
        let tags = [
            (*b"desc", text_tag(2, "Apple iPhone 7 Display P3", true)),
            (*b"dmdd", text_tag(2, "iPhone 7 rear camera", true)),
            (*b"wtpt", white),
        ];
        build(&header, &tags)
    }

    #[test]
    fn identifying_fields_and_tags_go_and_colours_stay() {
        let before = vendor_profile();
        // `build` zeroes the identifying fields: put them back as a camera writes them.
        let mut before = before;
        before[48..52].copy_from_slice(b"APPL");
        before[80..84].copy_from_slice(b"appl");
        let after = neutralise(&before).unwrap();
        for needle in [&b"APPL"[..], b"appl", b"iPh", b"iPhone", b"Apple"] {
            assert!(
                !after.windows(needle.len()).any(|w| w == needle),
                "{:?} survived",
                String::from_utf8_lossy(needle)
            );
        }
        assert_eq!(&after[36..40], ACSP);
        assert_eq!(u32_at(&after, 0).unwrap() as usize, after.len());
        let tags: Vec<[u8; 4]> = (0..u32_at(&after, HEADER).unwrap() as usize)
            .map(|i| after[HEADER + 4 + 12 * i..][..4].try_into().unwrap())
            .collect();
        assert_eq!(tags, [*b"wtpt", *b"desc", *b"cprt"]);
        // The white point's bytes are the camera's.
        let wtpt = &before[before.windows(4).rposition(|w| w == b"XYZ ").unwrap()..][..20];
        assert!(after.windows(20).any(|w| w == wtpt));
        assert_eq!(neutralise(&after).unwrap(), after, "idempotent");
    }

    #[test]
    fn malformed_profiles_and_chunks_are_refused_not_trusted() {
        let good = vendor_profile();
        let mut bad_size = good.clone();
        bad_size[0..4].copy_from_slice(&u32::MAX.to_be_bytes());
        let mut bad_tag = good.clone();
        bad_tag[HEADER + 4 + 4..HEADER + 4 + 8].copy_from_slice(&u32::MAX.to_be_bytes());
        let mut many_tags = good.clone();
        many_tags[HEADER..HEADER + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        for bad in [&bad_size[..], &bad_tag, &many_tags, &good[..100], &[]] {
            assert_eq!(neutralise(bad), None);
        }
        let chunks = segments(&good, b"ICC_PROFILE\0");
        let bodies: Vec<&[u8]> = chunks.iter().map(|s| &s[4 + 12..]).collect();
        assert_eq!(reassemble(&bodies).unwrap(), good);
        assert_eq!(
            reassemble(&[&[2, 1, 0][..]]),
            None,
            "sequence past the count"
        );
        assert_eq!(reassemble(&[&[1, 2, 0][..]]), None, "a chunk missing");
    }

    #[test]
    fn a_large_profile_spans_several_segments_and_comes_back_whole() {
        let profile: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let chunks = segments(&profile, b"ICC_PROFILE\0");
        assert_eq!(chunks.len(), 4);
        assert!(chunks.iter().all(|s| s.len() <= 65537));
        let mut bodies: Vec<&[u8]> = chunks.iter().map(|s| &s[4 + 12..]).collect();
        bodies.reverse();
        assert_eq!(reassemble(&bodies).unwrap(), profile);
    }
}
