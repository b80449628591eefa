//! The package's PDF, made by the desk itself with krilla: A4, its fonts embedded (subset), the
//! photos as they are (JPEG), upright; one sheet per language, and on the last page how to
//! check the package's signature.

use krilla::action::LinkAction;
use krilla::annotation::{LinkAnnotation, Target};
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use krilla::Document;

use super::contents::Sheet;
use super::fonts::Fonts;
use super::layout::{Ink, Layout, Op, MARGIN, PAGE_H, PAGE_W};

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the font cannot be used for the PDF")]
    Font,
    #[error("writing the PDF: {0}")]
    Write(String),
}

/// The PDF of `sheets` (one language each, in order); `name` is the package's file name, shown
/// at the foot of every page.
pub fn render(sheets: &[Sheet], fonts: &Fonts, name: &str) -> Result<Vec<u8>, PdfError> {
    let mut layout = Layout::new(fonts).ok_or(PdfError::Font)?;
    for sheet in sheets {
        layout.sheet(sheet);
    }
    // The last page: how to check the package, in every language of the package.
    layout.new_page_unless_empty();
    for sheet in sheets {
        layout.blocks(&sheet.verify);
    }
    let font = |f: &super::fonts::Face| Font::new(f.data.clone().into(), f.index);
    let regular = font(&fonts.regular).ok_or(PdfError::Font)?;
    let bold = font(&fonts.bold).ok_or(PdfError::Font)?;

    let mut document = Document::new();
    let title = sheets.iter().map(|s| s.title.as_str()).collect::<Vec<_>>();
    let mut metadata = Metadata::new().title(title.join(" / "));
    if let Some(first) = sheets.first() {
        metadata = metadata.language(first.lang.code().to_string());
    }
    document.set_metadata(metadata);
    let total = layout.pages.len();
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or(PdfError::Font)?;
    for (n, ops) in layout.pages.iter().enumerate() {
        let mut page = document.start_page_with(settings.clone());
        let mut links = Vec::new();
        let mut surface = page.surface();
        for op in ops {
            match op {
                Op::Text {
                    x,
                    y,
                    size,
                    bold: b,
                    ink,
                    text,
                } => {
                    surface.set_fill(Some(fill(*ink)));
                    let font = if *b { bold.clone() } else { regular.clone() };
                    let at = Point::from_xy(*x, *y);
                    surface.draw_text(at, font, *size, text, false, TextDirection::LeftToRight);
                }
                Op::Photo {
                    x,
                    y,
                    w,
                    h,
                    jpeg,
                    orientation,
                } => {
                    // A JPEG the PDF library cannot read is left out; the file is in the ZIP.
                    let Ok(image) = Image::from_jpeg(jpeg.to_vec().into(), true) else {
                        continue;
                    };
                    surface.push_transform(&Transform::from_translate(*x, *y));
                    surface.push_transform(&upright(*orientation, *w, *h));
                    let (iw, ih) = if *orientation >= 5 {
                        (*h, *w)
                    } else {
                        (*w, *h)
                    };
                    if let Some(size) = Size::from_wh(iw, ih) {
                        surface.draw_image(image, size);
                    }
                    surface.pop();
                    surface.pop();
                }
                Op::Shade { x, y, w, h } => {
                    if let Some(path) = rect_path(*x, *y, *w, *h) {
                        surface.set_fill(Some(Fill {
                            paint: rgb::Color::new(238, 238, 238).into(),
                            ..Default::default()
                        }));
                        surface.draw_path(&path);
                    }
                }
                Op::Rule { x, y, w } => {
                    let mut line = PathBuilder::new();
                    line.move_to(*x, *y);
                    line.line_to(x + w, *y);
                    if let Some(path) = line.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(Stroke {
                            paint: rgb::Color::new(160, 160, 160).into(),
                            width: 0.6,
                            ..Default::default()
                        }));
                        surface.draw_path(&path);
                        surface.set_stroke(None);
                    }
                }
                Op::Link { x, y, w, h, url } => {
                    if let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) {
                        links.push((rect, url.clone()));
                    }
                }
            }
        }
        let footer = format!("{name} · {}/{total}", n + 1);
        surface.set_fill(Some(fill(Ink::Grey)));
        surface.draw_text(
            Point::from_xy(MARGIN, PAGE_H - MARGIN + 14.0),
            regular.clone(),
            8.0,
            &footer,
            false,
            TextDirection::LeftToRight,
        );
        surface.finish();
        for (rect, url) in links {
            let target = Target::Action(LinkAction::new(url).into());
            page.add_annotation(LinkAnnotation::new(rect, target).into());
        }
        page.finish();
    }
    document
        .finish()
        .map_err(|e| PdfError::Write(format!("{e:?}")))
}

fn fill(ink: Ink) -> Fill {
    let (r, g, b) = match ink {
        Ink::Black => (20, 20, 20),
        Ink::Grey => (90, 90, 90),
        Ink::Quoted => (20, 40, 120),
        Ink::Link => (10, 70, 170),
    };
    Fill {
        paint: rgb::Color::new(r, g, b).into(),
        ..Default::default()
    }
}

fn rect_path(x: f32, y: f32, w: f32, h: f32) -> Option<krilla::geom::Path> {
    let mut path = PathBuilder::new();
    path.push_rect(Rect::from_xywh(x, y, w, h)?);
    path.finish()
}

/// Maps the stored image (drawn at the origin, `w`×`h` once upright) into its upright box, as
/// its EXIF orientation says (1: as stored; 6: turned 90° clockwise; …).
fn upright(orientation: u16, w: f32, h: f32) -> Transform {
    // The stored image's drawn size: turned sideways for 5 to 8.
    let (iw, ih) = if orientation >= 5 { (h, w) } else { (w, h) };
    match orientation {
        2 => Transform::from_row(-1.0, 0.0, 0.0, 1.0, iw, 0.0),
        3 => Transform::from_row(-1.0, 0.0, 0.0, -1.0, iw, ih),
        4 => Transform::from_row(1.0, 0.0, 0.0, -1.0, 0.0, ih),
        5 => Transform::from_row(0.0, 1.0, 1.0, 0.0, 0.0, 0.0),
        6 => Transform::from_row(0.0, 1.0, -1.0, 0.0, ih, 0.0),
        7 => Transform::from_row(0.0, -1.0, -1.0, 0.0, ih, iw),
        8 => Transform::from_row(0.0, -1.0, 1.0, 0.0, 0.0, iw),
        _ => Transform::identity(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the stored image's corners land: each orientation puts the stored top-left corner
    /// where EXIF says it belongs, and the whole image inside the upright box.
    #[test]
    fn every_orientation_lands_in_its_box() {
        let (w, h) = (30.0, 20.0); // the upright box
        let corner = |o: u16| {
            let t = upright(o, w, h);
            let (x, y) = (0.0f32, 0.0f32);
            (
                t.sx() * x + t.kx() * y + t.tx(),
                t.ky() * x + t.sy() * y + t.ty(),
            )
        };
        assert_eq!(corner(1), (0.0, 0.0));
        assert_eq!(corner(3), (w, h));
        assert_eq!(
            corner(6),
            (w, 0.0),
            "turned clockwise: top-left goes top-right"
        );
        assert_eq!(
            corner(8),
            (0.0, h),
            "turned anticlockwise: top-left goes bottom-left"
        );
        for o in 1..=8 {
            let t = upright(o, w, h);
            let (iw, ih) = if o >= 5 { (h, w) } else { (w, h) };
            for (x, y) in [(0.0, 0.0), (iw, 0.0), (0.0, ih), (iw, ih)] {
                let (px, py) = (
                    t.sx() * x + t.kx() * y + t.tx(),
                    t.ky() * x + t.sy() * y + t.ty(),
                );
                assert!(
                    (0.0..=w).contains(&px) && (0.0..=h).contains(&py),
                    "{o}: {px},{py}"
                );
            }
        }
    }
}
