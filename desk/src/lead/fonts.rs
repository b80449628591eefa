//! The fonts a lead package's PDF is set in: Noto Sans CJK (Simplified Chinese), which carries
//! Latin too, found where Debian's `fonts-noto-cjk` and other systems put it, or named with
//! `--font FILE`. The PDF embeds the glyphs it uses.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where `fonts-noto-cjk` (Debian, Ubuntu), Fedora's and Arch's packages put the fonts.
const KNOWN_REGULAR: [&str; 4] = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
];

#[derive(Debug, thiserror::Error)]
pub enum FontError {
    #[error(
        "no CJK font found (looked for {}): install Debian's fonts-noto-cjk, or give --font FILE \
         (an OpenType font or collection with Simplified Chinese)",
        KNOWN_REGULAR.join(", ")
    )]
    NotFound,
    #[error("cannot read the font {0}: {1}")]
    Unreadable(String, String),
    #[error("{0} has no font with Simplified Chinese and Latin letters")]
    NoChinese(String),
}

/// One face of a font file: the file's bytes and the face's index in it.
#[derive(Clone)]
pub struct Face {
    pub data: Arc<Vec<u8>>,
    pub index: u32,
}

pub struct Fonts {
    pub regular: Face,
    /// The bold weight beside the regular one, when installed; else the regular.
    pub bold: Face,
}

impl Fonts {
    /// The font named, or the first known one installed.
    pub fn find(named: Option<&Path>) -> Result<Self, FontError> {
        let path: PathBuf = match named {
            Some(path) => path.to_path_buf(),
            None => KNOWN_REGULAR
                .iter()
                .map(PathBuf::from)
                .find(|p| p.is_file())
                .ok_or(FontError::NotFound)?,
        };
        let regular = load(&path)?;
        let bold_path = path
            .to_str()
            .map(|p| PathBuf::from(p.replace("Regular", "Bold")))
            .filter(|p| *p != path && p.is_file());
        let bold = match bold_path {
            Some(bold) => load(&bold).unwrap_or_else(|_| regular.clone()),
            None => regular.clone(),
        };
        Ok(Self { regular, bold })
    }
}

/// Reads a font file and picks the Simplified Chinese face of a collection (Noto's `.ttc`
/// holds Japanese, Korean, Simplified and Traditional Chinese faces).
fn load(path: &Path) -> Result<Face, FontError> {
    let shown = path.display().to_string();
    let data =
        std::fs::read(path).map_err(|e| FontError::Unreadable(shown.clone(), e.to_string()))?;
    let count = rustybuzz::ttf_parser::fonts_in_collection(&data).unwrap_or(1);
    let faces: Vec<(u32, rustybuzz::ttf_parser::Face<'_>)> = (0..count)
        .filter_map(|i| Some((i, rustybuzz::ttf_parser::Face::parse(&data, i).ok()?)))
        .filter(|(_, f)| {
            ['线', '索', 'A', '1']
                .iter()
                .all(|c| f.glyph_index(*c).is_some())
        })
        .collect();
    let simplified = |f: &rustybuzz::ttf_parser::Face<'_>| {
        f.names().into_iter().any(|n| {
            n.to_string()
                .is_some_and(|s| s.contains(" SC") || s.contains("Simplified"))
        })
    };
    let index = faces
        .iter()
        .find(|(_, f)| simplified(f))
        .or(faces.first())
        .map(|(i, _)| *i)
        .ok_or(FontError::NoChinese(shown))?;
    Ok(Face {
        data: Arc::new(data),
        index,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_a_font_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-font.ttc");
        std::fs::write(&file, b"hello").unwrap();
        let e = Fonts::find(Some(&file)).err().unwrap().to_string();
        assert!(e.contains("not-a-font.ttc"), "{e}");
        let e = Fonts::find(Some(&dir.path().join("absent.ttc")))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("absent.ttc"), "{e}");
    }
}
