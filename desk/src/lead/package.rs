//! The signed package: a PDF in the officer's language (or both) made by the desk itself, the
//! case photo, per sighting the photo, signed manifest, intake record and chain of custody,
//! `SHA256SUMS`; beside it `….zip.minisig`, the organisation's signature, which the stock
//! `minisign` checks. Which sightings may go out is decided in one place, [`may_go_out`].

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;
use sighting_core::wire::hex;

use super::contents::{self, Lang, ReceiptCheck};
use super::{pdf, Assessment, Fonts, LeadItem, LeadKey, SignError};
use crate::receipts::ReceiptCheck as DeskCheck;
use crate::sightings::Sighting;
use crate::state::{CaseError, CaseRow, DeskState};

/// Sightings per package at most.
pub const MAX_SIGHTINGS: usize = 100;

/// The case a package is about, as the register holds it, with its first photo.
pub struct LeadCase {
    pub row: CaseRow,
    pub photo: Option<Vec<u8>>,
}

impl LeadCase {
    /// The case `number` from the register, with its first photo.
    pub fn load(desk: &DeskState, number: &str) -> Result<Self, CaseError> {
        let row = desk.case(number)?;
        let photo = desk.case_photos(number)?.into_iter().next();
        Ok(Self { row, photo })
    }
}

impl LeadItem {
    /// One opened report's part of a package, from what the desk holds: its state under
    /// `state`, the intake's record beside the sealed file under `data`.
    pub fn load(
        desk: &DeskState,
        state: &Path,
        data: &Path,
        sighting: Sighting,
        assessment: Assessment,
    ) -> anyhow::Result<Self> {
        let opened = state.join("reports").join(&sighting.id);
        let record = data
            .join("reports")
            .join(format!("{}.intake.json", sighting.id));
        Ok(Self {
            triage: desk.sighting(&sighting.id)?,
            custody: desk.audit(Some(&sighting.id))?,
            photo: std::fs::read(opened.join("photo.jpg"))?,
            manifest_json: std::fs::read(opened.join("manifest.json"))?,
            intake_record: std::fs::read(record).ok(),
            sighting,
            assessment,
        })
    }
}

/// The languages a package is written in: `zh`, `en` or `both`.
pub fn languages(choice: &str) -> Result<Vec<Lang>, String> {
    match choice {
        "zh" | "zh-Hans" => Ok(vec![Lang::Zh]),
        "en" => Ok(vec![Lang::En]),
        "both" => Ok(vec![Lang::Zh, Lang::En]),
        other => Err(format!(
            "{other:?} is not a language for packages: zh, en or both"
        )),
    }
}

/// How the organisation makes packages (see [`LeadConfig`]).
pub struct LeadSettings {
    pub zone: jiff::tz::TimeZone,
    pub contact: String,
    pub key: LeadKey,
    pub fonts: Fonts,
}

/// One export: who makes it, of what, in which languages.
pub struct LeadRequest<'a> {
    pub case: &'a LeadCase,
    pub items: &'a [LeadItem],
    pub langs: &'a [Lang],
    pub by: &'a str,
    pub now_ms: i64,
}

/// A package as it goes out.
pub struct Package {
    /// `lead-<case>-<date>-<n>.zip`.
    pub name: String,
    pub zip: Vec<u8>,
    /// `<name>.minisig`'s text.
    pub minisig: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("report {0} failed verification; it can never be passed on as a lead")]
    NotVerified(String),
    #[error("a lead package holds 1 to {MAX_SIGHTINGS} sightings")]
    Count,
    #[error("{0}")]
    Pdf(#[from] pdf::PdfError),
    #[error("{0}")]
    Sign(#[from] SignError),
    #[error("writing the package: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("writing the package: {0}")]
    Io(#[from] std::io::Error),
}

/// The rules for what may leave the desk as a lead, all of them: a report that failed a check
/// never does.
fn may_go_out(items: &[LeadItem]) -> Result<(), PackageError> {
    if items.is_empty() || items.len() > MAX_SIGHTINGS {
        return Err(PackageError::Count);
    }
    match items.iter().find(|i| i.sighting.status != "verified") {
        Some(bad) => Err(PackageError::NotVerified(bad.sighting.id.clone())),
        None => Ok(()),
    }
}

/// Makes the package named `name` and signs it.
pub fn package(
    settings: &LeadSettings,
    request: &LeadRequest<'_>,
    name: &str,
) -> Result<Package, PackageError> {
    may_go_out(request.items)?;
    let receipts: Vec<ReceiptCheck> = request.items.iter().map(receipt_check).collect();
    let public_key = settings.key.public_base64();
    let facts = contents::Facts {
        case: &request.case.row,
        case_photo: request.case.photo.as_deref(),
        items: request.items,
        receipts: &receipts,
        zone: &settings.zone,
        contact: &settings.contact,
        package_name: name,
        by: request.by,
        now_ms: request.now_ms,
        public_key: &public_key,
    };
    let sheets: Vec<_> = request
        .langs
        .iter()
        .map(|lang| contents::sheet(&facts, *lang))
        .collect();
    let stem = name.trim_end_matches(".zip");
    let mut files: Vec<(String, Vec<u8>)> = vec![(
        format!("{stem}.pdf"),
        pdf::render(&sheets, &settings.fonts, name)?,
    )];
    if let Some(photo) = &request.case.photo {
        files.push(("case-photo.jpg".into(), photo.clone()));
    }
    for item in request.items {
        let id = &item.sighting.id;
        files.push((format!("{id}/photo.jpg"), item.photo.clone()));
        files.push((format!("{id}/manifest.json"), item.manifest_json.clone()));
        if let Some(record) = &item.intake_record {
            files.push((format!("{id}/intake-record.json"), record.clone()));
        }
        let custody = serde_json::to_vec_pretty(&json!({
            "triage": item.triage,
            "custody": item.custody,
        }))
        .map_err(std::io::Error::other)?;
        files.push((format!("{id}/custody.json"), custody));
    }
    let sums: String = files
        .iter()
        .map(|(name, bytes)| {
            let sha = ring::digest::digest(&ring::digest::SHA256, bytes);
            format!("{}  {name}\n", hex::encode(sha.as_ref()))
        })
        .collect();
    files.push(("SHA256SUMS".into(), sums.into_bytes()));

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    for (name, bytes) in &files {
        zip.start_file(name.as_str(), options)?;
        zip.write_all(bytes)?;
    }
    let zip = zip.finish()?.into_inner();
    let comment = format!(
        "file:{name} case:{} by:{} sightings:{}",
        request.case.row.number,
        request.by,
        request.items.len()
    );
    let minisig = settings.key.sign(&zip, &comment)?;
    Ok(Package {
        name: name.to_string(),
        zip,
        minisig,
    })
}

/// Makes the package and writes it with its signature into `dir` (0600) under the day's next
/// free name, `lead-<case>-<date>-<n>.zip` (the date in the officers' zone; `n` counts that
/// case's exports that day). Returns the package and where its ZIP is.
pub fn export(
    dir: &Path,
    settings: &LeadSettings,
    request: &LeadRequest<'_>,
) -> Result<(Package, PathBuf), PackageError> {
    crate::make_private_dir(dir)?;
    let date = jiff::Timestamp::from_millisecond(request.now_ms)
        .map(|t| {
            t.to_zoned_datetime(settings.zone.clone())
                .strftime("%Y-%m-%d")
                .to_string()
        })
        .unwrap_or_else(|_| "undated".into());
    let prefix = format!("lead-{}-{date}-", request.case.row.number);
    // The name is taken (an empty file, made only if new) before the package is made, so two
    // exports at once never get the same one.
    let mut n = next_number(dir, &prefix)?;
    let (name, path) = loop {
        let name = format!("{prefix}{n}.zip");
        let path = dir.join(&name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(_) => break (name, path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(e.into()),
        }
    };
    let made = package(settings, request, &name).and_then(|package| {
        crate::write_private(
            &path.with_extension("zip.minisig"),
            package.minisig.as_bytes(),
        )?;
        crate::write_private(&path, &package.zip)?;
        Ok(package)
    });
    match made {
        Ok(package) => Ok((package, path)),
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            Err(e)
        }
    }
}

/// One more than the highest `n` of `<prefix><n>.zip` in `dir`.
fn next_number(dir: &Path, prefix: &str) -> std::io::Result<u32> {
    let mut highest = 0;
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let n = name.to_str().and_then(|n| {
            n.strip_prefix(prefix)?
                .strip_suffix(".zip")?
                .parse::<u32>()
                .ok()
        });
        highest = highest.max(n.unwrap_or(0));
    }
    Ok(highest + 1)
}

/// The intake's receipt as the desk checked it against the organisation's intake key.
fn receipt_check(item: &LeadItem) -> ReceiptCheck {
    match (item.sighting.receipt, &item.sighting.received_at) {
        (Some(DeskCheck::Verified), Some(at)) => ReceiptCheck::Signed {
            received_at: at.clone(),
        },
        (Some(_), _) => ReceiptCheck::Bad,
        (None, _) => ReceiptCheck::Missing,
    }
}
