//! Sets sheets on A4 pages: lines broken by measured advance widths (shaped with rustybuzz,
//! the shaper the PDF library draws with), photos side by side, a heading never alone at the
//! foot of a page. The result is a list of drawing operations per page; `pdf` draws them.

use std::sync::Arc;

use super::contents::{Block, Figure, Sheet, Text};
use super::fonts::Fonts;

pub const PAGE_W: f32 = 595.28;
pub const PAGE_H: f32 = 841.89;
pub const MARGIN: f32 = 48.0;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;
/// The last line of text sits above the footer.
const BOTTOM: f32 = PAGE_H - MARGIN - 14.0;
const BODY: f32 = 10.0;
const LINE: f32 = 14.5;
const LABEL_W: f32 = 150.0;
const GAP: f32 = 12.0;
const PHOTO_MAX_H: f32 = 300.0;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ink {
    Black,
    Grey,
    /// A person's own words, as written.
    Quoted,
    Link,
}

pub enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        ink: Ink,
        text: String,
    },
    /// A JPEG in the box, upright (`orientation` is its EXIF one).
    Photo {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        jpeg: Arc<Vec<u8>>,
        orientation: u16,
    },
    /// A light box behind a command.
    Shade {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
    Rule {
        x: f32,
        y: f32,
        w: f32,
    },
    Link {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        url: String,
    },
}

pub struct Layout<'a> {
    regular: rustybuzz::Face<'a>,
    bold: rustybuzz::Face<'a>,
    pub pages: Vec<Vec<Op>>,
    y: f32,
}

impl<'a> Layout<'a> {
    pub fn new(fonts: &'a Fonts) -> Option<Self> {
        let face = |f: &'a super::fonts::Face| rustybuzz::Face::from_slice(&f.data, f.index);
        Some(Self {
            regular: face(&fonts.regular)?,
            bold: face(&fonts.bold)?,
            pages: vec![Vec::new()],
            y: MARGIN,
        })
    }

    /// Sets one sheet, starting on a fresh page.
    pub fn sheet(&mut self, sheet: &Sheet) {
        self.new_page_unless_empty();
        self.text_block(
            &sheet.title,
            17.0,
            true,
            Ink::Black,
            MARGIN,
            CONTENT_W,
            24.0,
        );
        self.y += 4.0;
        self.blocks(&sheet.blocks);
    }

    pub fn blocks(&mut self, blocks: &[Block]) {
        for block in blocks {
            match block {
                Block::Heading(text) => {
                    self.y += 10.0;
                    self.need(20.0 + 3.0 * LINE);
                    self.text_block(text, 13.5, true, Ink::Black, MARGIN, CONTENT_W, 19.0);
                    self.op(Op::Rule {
                        x: MARGIN,
                        y: self.y - 2.0,
                        w: CONTENT_W,
                    });
                    self.y += 5.0;
                }
                Block::Subheading(text) => {
                    self.y += 6.0;
                    self.need(17.0 + 2.0 * LINE);
                    self.text_block(text, 11.5, true, Ink::Black, MARGIN, CONTENT_W, 17.0);
                }
                Block::Para(text) | Block::Warning(text) => {
                    let bold = matches!(block, Block::Warning(_));
                    self.text_block(text, BODY, bold, Ink::Black, MARGIN, CONTENT_W, LINE);
                    self.y += 4.0;
                }
                Block::Bullets(items) => {
                    for item in items {
                        self.need(LINE);
                        self.text(MARGIN + 2.0, "•", BODY, false, Ink::Black);
                        self.text_block(
                            item,
                            BODY,
                            false,
                            Ink::Black,
                            MARGIN + 14.0,
                            CONTENT_W - 14.0,
                            LINE,
                        );
                        self.y += 2.0;
                    }
                }
                Block::Rows(rows) => self.rows(rows),
                Block::Photos(figures) => self.photos(figures),
                Block::Command(text) => self.command(text),
                Block::PageBreak => self.new_page_unless_empty(),
            }
        }
    }

    fn rows(&mut self, rows: &[(String, Text)]) {
        let value_x = MARGIN + LABEL_W + GAP;
        let value_w = CONTENT_W - LABEL_W - GAP;
        for (label, value) in rows {
            let (text, ink) = match value {
                Text::Desk(t) if t.starts_with("https://") => (t.clone(), Ink::Link),
                Text::Desk(t) => (t.clone(), Ink::Black),
                Text::Quoted(t) => (visible_controls(t), Ink::Quoted),
            };
            let labels = self.wrap(label, BODY, true, LABEL_W);
            let values = self.wrap(&text, BODY, false, value_w);
            for k in 0..labels.len().max(values.len()) {
                self.need(LINE);
                if let Some(l) = labels.get(k) {
                    self.text(MARGIN, l, BODY, true, Ink::Grey);
                }
                if let Some(v) = values.get(k) {
                    self.text(value_x, v, BODY, false, ink);
                    if ink == Ink::Link {
                        let w = self.width(v, BODY, false);
                        let (y, url) = (self.y, text.clone());
                        self.op(Op::Link {
                            x: value_x,
                            y,
                            w,
                            h: LINE,
                            url,
                        });
                    }
                }
                self.y += LINE;
            }
            self.y += 3.0;
        }
    }

    fn photos(&mut self, figures: &[Figure]) {
        let n = figures.len().max(1) as f32;
        let cell_w = (CONTENT_W - GAP * (n - 1.0)) / n;
        let placed: Vec<_> = figures
            .iter()
            .map(|f| {
                let (orientation, (pw, ph)) = photo_shape(&f.jpeg);
                let (dw, dh) = if orientation >= 5 { (ph, pw) } else { (pw, ph) };
                let scale = (cell_w / dw).min(PHOTO_MAX_H / dh);
                (f, orientation, dw * scale, dh * scale)
            })
            .collect();
        let captions: Vec<_> = figures
            .iter()
            .map(|f| self.wrap(&f.caption, 9.0, false, cell_w))
            .collect();
        let caption_h = captions.iter().map(Vec::len).max().unwrap_or(0) as f32 * 12.0;
        let photo_h = placed.iter().map(|p| p.3).fold(0.0, f32::max);
        self.need(photo_h + caption_h + 8.0);
        let top = self.y;
        for (i, ((figure, orientation, w, h), caption)) in
            placed.into_iter().zip(captions).enumerate()
        {
            let x = MARGIN + i as f32 * (cell_w + GAP);
            self.op(Op::Photo {
                x: x + (cell_w - w) / 2.0,
                y: top + photo_h - h,
                w,
                h,
                jpeg: Arc::new(figure.jpeg.clone()),
                orientation,
            });
            self.y = top + photo_h + 4.0;
            for line in caption {
                let lw = self.width(&line, 9.0, false);
                self.text(x + (cell_w - lw) / 2.0, &line, 9.0, false, Ink::Grey);
                self.y += 12.0;
            }
        }
        self.y = top + photo_h + 4.0 + caption_h + 8.0;
    }

    fn command(&mut self, text: &str) {
        let lines = self.wrap(text, 9.5, false, CONTENT_W - 16.0);
        let h = lines.len() as f32 * 13.0 + 8.0;
        self.need(h);
        self.op(Op::Shade {
            x: MARGIN,
            y: self.y - 2.0,
            w: CONTENT_W,
            h,
        });
        self.y += 11.0;
        for line in lines {
            self.text(MARGIN + 8.0, &line, 9.5, false, Ink::Black);
            self.y += 13.0;
        }
        self.y += 6.0;
    }

    /// Wrapped text from the cursor down; `lead` is the distance between lines.
    #[allow(clippy::too_many_arguments)]
    fn text_block(
        &mut self,
        text: &str,
        size: f32,
        bold: bool,
        ink: Ink,
        x: f32,
        w: f32,
        lead: f32,
    ) {
        for line in self.wrap(text, size, bold, w) {
            self.need(lead);
            self.text(x, &line, size, bold, ink);
            self.y += lead;
        }
    }

    /// One line whose top is the cursor.
    fn text(&mut self, x: f32, text: &str, size: f32, bold: bool, ink: Ink) {
        let y = self.y + size;
        self.op(Op::Text {
            x,
            y,
            size,
            bold,
            ink,
            text: text.to_string(),
        });
    }

    fn op(&mut self, op: Op) {
        self.pages.last_mut().expect("a page").push(op);
    }

    /// Moves to a new page when `h` more would not fit on this one.
    fn need(&mut self, h: f32) {
        if self.y + h > BOTTOM && self.y > MARGIN {
            self.pages.push(Vec::new());
            self.y = MARGIN;
        }
    }

    pub fn new_page_unless_empty(&mut self) {
        if !self.pages.last().is_some_and(Vec::is_empty) {
            self.pages.push(Vec::new());
        }
        self.y = MARGIN;
    }

    pub fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        let face = if bold { &self.bold } else { &self.regular };
        let mut buffer = rustybuzz::UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.set_direction(rustybuzz::Direction::LeftToRight);
        let shaped = rustybuzz::shape(face, &[], buffer);
        let units: i32 = shaped.glyph_positions().iter().map(|p| p.x_advance).sum();
        units as f32 * size / face.units_per_em() as f32
    }

    /// Lines of at most `max` points: broken at spaces, between any two CJK characters, and
    /// inside a word only when the word alone is wider than a line (a URL, a key).
    pub fn wrap(&self, text: &str, size: f32, bold: bool, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let mut line = String::new();
            let mut line_w = 0.0;
            for token in tokens(paragraph) {
                let w = self.width(&token, size, bold);
                if line_w + w <= max || line.trim().is_empty() && w <= max {
                    line.push_str(&token);
                    line_w += w;
                    continue;
                }
                if !line.trim().is_empty() {
                    lines.push(line.trim_end().to_string());
                }
                line.clear();
                line_w = 0.0;
                if token == " " {
                    continue;
                }
                for c in token.chars() {
                    let cw = self.width(c.encode_utf8(&mut [0; 4]), size, bold);
                    if line_w + cw > max && !line.is_empty() {
                        lines.push(std::mem::take(&mut line));
                        line_w = 0.0;
                    }
                    line.push(c);
                    line_w += cw;
                }
            }
            lines.push(line.trim_end().to_string());
        }
        lines
    }
}

/// Words, single spaces, and CJK characters one by one (closing punctuation kept with the
/// character before it, so no line starts with "，").
fn tokens(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c == ' ' || is_cjk(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            if is_closing(c) {
                match out.last_mut() {
                    Some(last) if last != " " => last.push(c),
                    _ => out.push(c.to_string()),
                }
            } else {
                out.push(c.to_string());
            }
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x2E80..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x2FA1F)
        || "“”".contains(c)
}

fn is_closing(c: char) -> bool {
    "，。、；：！？）」』》”".contains(c)
}

/// Direction controls and other invisible characters made visible (`[U+202E]`): on paper they
/// cannot be isolated, and the reader must see the text as written.
pub fn visible_controls(text: &str) -> String {
    text.chars()
        .map(|c| {
            let invisible = c.is_control() && c != '\n'
                || matches!(c as u32, 0x200B..=0x200F | 0x202A..=0x202E | 0x2066..=0x2069 | 0x061C | 0xFEFF);
            if invisible {
                format!("[U+{:04X}]", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The photo's EXIF orientation (1 when it has none) and its stored size in pixels.
fn photo_shape(jpeg: &[u8]) -> (u16, (f32, f32)) {
    let orientation = exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(jpeg))
        .ok()
        .and_then(|e| {
            e.get_field(exif::Tag::Orientation, exif::In::PRIMARY)?
                .value
                .get_uint(0)
        })
        .filter(|o| (1..=8).contains(o))
        .unwrap_or(1) as u16;
    let size = krilla::image::Image::from_jpeg(jpeg.to_vec().into(), true)
        .map(|i| i.size())
        .unwrap_or((4, 3));
    (orientation, (size.0.max(1) as f32, size.1.max(1) as f32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_shown_and_cjk_breaks_between_characters() {
        assert_eq!(visible_controls("a\u{202E}b"), "a[U+202E]b");
        assert_eq!(
            tokens("在 北京，见到"),
            ["在", " ", "北", "京，", "见", "到"]
        );
        assert_eq!(tokens("a long-word"), ["a", " ", "long-word"]);
    }
}
