//! Drafts: a captured photo waiting for the reporter's note, kept encrypted at rest.
//!
//! Between `capture` and `submit` the reporter may take minutes or close the app; the photo must
//! survive that without a readable copy on disk. A draft is one file, AES-256-GCM under the
//! at-rest key (itself only stored wrapped by the platform keystore), with the draft id bound in
//! as associated data so files cannot be swapped between drafts. Inside is a small ustar archive
//! (`manifest.json`, `photo.jpg`, optionally `original.jpg`), built in memory: the plaintext
//! never touches disk.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use uuid::Uuid;
use zeroize::Zeroizing;

use crate::keys::{AtRestKey, KeyError};
use crate::report::Manifest;

const DRAFT_CONTEXT: &[u8] = b"sighting-draft/1";
const THUMB_CONTEXT: &[u8] = b"sighting-thumbnail/1";
const LABEL_CONTEXT: &[u8] = b"sighting-label/1";
/// How much of the note the reporter's outbox keeps to tell reports apart.
const LABEL_NOTE_CHARS: usize = 40;

/// What the reporter's outbox shows of a sealed report, whose contents the phone can no longer
/// read: the start of the note and the case it named. Kept encrypted like the thumbnail.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReportLabel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note_start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_number: Option<String>,
}

impl ReportLabel {
    pub fn new(note: Option<&str>, case_number: Option<&str>) -> Self {
        Self {
            note_start: note
                .map(|n| n.chars().take(LABEL_NOTE_CHARS).collect::<String>())
                .filter(|n| !n.trim().is_empty()),
            case_number: case_number.map(str::to_string),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error("no draft {0}")]
    NotFound(Uuid),
    #[error("the draft {0} is damaged")]
    Damaged(Uuid),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("cannot store the draft: {0}")]
    Io(#[from] std::io::Error),
}

/// A draft, decrypted in memory.
pub struct Draft {
    pub manifest: Manifest,
    pub photo: Zeroizing<Vec<u8>>,
    pub original: Option<Zeroizing<Vec<u8>>>,
}

/// The drafts and thumbnails of one data directory.
pub struct DraftStore {
    drafts: PathBuf,
    thumbnails: PathBuf,
}

impl DraftStore {
    pub fn open(data_dir: &Path) -> Result<Self, DraftError> {
        let store = Self {
            drafts: data_dir.join("drafts"),
            thumbnails: data_dir.join("thumbnails"),
        };
        crate::private_fs::create_dir(&store.drafts)?;
        crate::private_fs::create_dir(&store.thumbnails)?;
        Ok(store)
    }

    /// Stores a draft and its thumbnail, each encrypted, each written atomically.
    pub fn put(&self, key: &AtRestKey, draft: &Draft, thumbnail: &[u8]) -> Result<(), DraftError> {
        let id = draft.manifest.id;
        let manifest = draft
            .manifest
            .to_json()
            .map_err(|_| DraftError::Damaged(id))?;
        let mut files: Vec<(&str, &[u8])> =
            vec![("manifest.json", &manifest), ("photo.jpg", &draft.photo)];
        if let Some(original) = &draft.original {
            files.push(("original.jpg", original));
        }
        let plain = Zeroizing::new(pack(&files)?);
        write_atomic(
            &self.thumb_path(id),
            &key.seal(&context(THUMB_CONTEXT, id), thumbnail)?,
        )?;
        write_atomic(
            &self.draft_path(id),
            &key.seal(&context(DRAFT_CONTEXT, id), &plain)?,
        )?;
        Ok(())
    }

    pub fn get(&self, key: &AtRestKey, id: Uuid) -> Result<Draft, DraftError> {
        let sealed = read(&self.draft_path(id), id)?;
        let plain = key
            .open(&context(DRAFT_CONTEXT, id), &sealed)
            .map_err(|_| DraftError::Damaged(id))?;
        let mut files = unpack(&plain).map_err(|_| DraftError::Damaged(id))?;
        let manifest = files
            .remove("manifest.json")
            .ok_or(DraftError::Damaged(id))?;
        let manifest = Manifest::from_json(&manifest).map_err(|_| DraftError::Damaged(id))?;
        if manifest.id != id {
            return Err(DraftError::Damaged(id));
        }
        Ok(Draft {
            manifest,
            photo: files.remove("photo.jpg").ok_or(DraftError::Damaged(id))?,
            original: files.remove("original.jpg"),
        })
    }

    /// The reporter's own thumbnail of a draft or a report.
    pub fn thumbnail(&self, key: &AtRestKey, id: Uuid) -> Result<Zeroizing<Vec<u8>>, DraftError> {
        let sealed = read(&self.thumb_path(id), id)?;
        key.open(&context(THUMB_CONTEXT, id), &sealed)
            .map_err(|_| DraftError::Damaged(id))
    }

    /// Stores the outbox label of a report (written before its row says sealed).
    pub fn put_label(
        &self,
        key: &AtRestKey,
        id: Uuid,
        label: &ReportLabel,
    ) -> Result<(), DraftError> {
        let plain = Zeroizing::new(serde_json::to_vec(label).map_err(|_| DraftError::Damaged(id))?);
        write_atomic(
            &self.label_path(id),
            &key.seal(&context(LABEL_CONTEXT, id), &plain)?,
        )?;
        Ok(())
    }

    /// The outbox label of a report; `None` for a draft or a report sealed before labels.
    pub fn label(&self, key: &AtRestKey, id: Uuid) -> Result<Option<ReportLabel>, DraftError> {
        let sealed = match read(&self.label_path(id), id) {
            Err(DraftError::NotFound(_)) => return Ok(None),
            other => other?,
        };
        let plain = key
            .open(&context(LABEL_CONTEXT, id), &sealed)
            .map_err(|_| DraftError::Damaged(id))?;
        serde_json::from_slice(&plain)
            .map(Some)
            .map_err(|_| DraftError::Damaged(id))
    }

    /// Removes the draft (after it was sealed, or when the reporter discards it).
    pub fn remove_draft(&self, id: Uuid) -> Result<(), DraftError> {
        remove(&self.draft_path(id), id)
    }

    /// Removes the thumbnail and the label (when the reporter discards a draft or purges a
    /// delivered report).
    pub fn remove_thumbnail(&self, id: Uuid) -> Result<(), DraftError> {
        match remove(&self.label_path(id), id) {
            Err(DraftError::NotFound(_)) | Ok(()) => {}
            Err(e) => return Err(e),
        }
        remove(&self.thumb_path(id), id)
    }

    pub fn exists(&self, id: Uuid) -> bool {
        self.draft_path(id).exists()
    }

    /// Ids of the drafts on disk.
    pub fn list(&self) -> Result<Vec<Uuid>, DraftError> {
        let mut ids = Vec::new();
        for entry in fs::read_dir(&self.drafts)? {
            let name = entry?.file_name();
            if let Some(id) = name
                .to_str()
                .and_then(|n| n.strip_suffix(".draft"))
                .and_then(|n| n.parse().ok())
            {
                ids.push(id);
            }
        }
        ids.sort();
        Ok(ids)
    }

    fn draft_path(&self, id: Uuid) -> PathBuf {
        self.drafts.join(format!("{id}.draft"))
    }

    fn thumb_path(&self, id: Uuid) -> PathBuf {
        self.thumbnails.join(format!("{id}.thumb"))
    }

    /// Beside the thumbnail: the recovery sweep keeps and removes both together.
    fn label_path(&self, id: Uuid) -> PathBuf {
        self.thumbnails.join(format!("{id}.label"))
    }
}

fn context(kind: &[u8], id: Uuid) -> Vec<u8> {
    [kind, id.as_bytes()].concat()
}

fn read(path: &Path, id: Uuid) -> Result<Vec<u8>, DraftError> {
    fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => DraftError::NotFound(id),
        _ => DraftError::Io(e),
    })
}

fn remove(path: &Path, id: Uuid) -> Result<(), DraftError> {
    fs::remove_file(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => DraftError::NotFound(id),
        _ => DraftError::Io(e),
    })
}

fn pack(files: &[(&str, &[u8])]) -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, bytes) in files {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o600);
        tar.append_data(&mut header, name, *bytes)?;
    }
    tar.into_inner()
}

fn unpack(bytes: &[u8]) -> std::io::Result<BTreeMap<String, Zeroizing<Vec<u8>>>> {
    let mut files = BTreeMap::new();
    for entry in tar::Archive::new(bytes).entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        let mut data = Zeroizing::new(Vec::new());
        entry.read_to_end(&mut data)?;
        files.insert(name, data);
    }
    Ok(files)
}

/// Temp name (0600), fsync, rename, fsync the directory: after a crash the file is whole or
/// absent.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let written = crate::private_fs::create_file(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(e) = written {
        // On a full disk, do not keep the part that fitted.
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}
