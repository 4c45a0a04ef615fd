//! Page layout: the form as a list of blocks, set into A4 pages.
//!
//! Paragraphs are broken into lines greedily at spaces (a word longer than a
//! line is broken between letters), measured with the embedded fonts'
//! advances — an upper bound of what the shaper sets, as kerning only
//! narrows. Tables keep a row on one page when it fits on one, repeat their
//! header row on every page they run onto, and split a row taller than a page
//! between lines. The result is a list of pages of drawing operations in
//! points, origin top left, which `pdf.rs` writes out.

use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, MetadataProvider};

use crate::PrintError;

/// A4 width in points.
pub const PAGE_W: f32 = 595.28;
/// A4 height in points.
pub const PAGE_H: f32 = 841.89;
/// Left margin (3 cm, binding side, as administrative documents set it).
pub const LEFT: f32 = 85.0;
/// Right margin (1.5 cm).
pub const RIGHT: f32 = 42.5;
/// Top margin (2 cm).
pub const TOP: f32 = 56.7;
/// Bottom margin (2 cm), the page number below the text.
pub const BOTTOM: f32 = 56.7;
/// Width of the text.
pub const TEXT_W: f32 = PAGE_W - LEFT - RIGHT;
/// Line height as a multiple of the font size.
const LEADING: f32 = 1.3;
/// Padding inside table cells.
const PAD: f32 = 3.0;

static REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// One embedded face: the PDF writer's handle and its advances.
pub struct Face {
    pub(crate) pdf: krilla::text::Font,
    font: FontRef<'static>,
    metrics: GlyphMetrics<'static>,
}

impl Face {
    fn load(bytes: &'static [u8], name: &'static str) -> Result<Self, PrintError> {
        let font = FontRef::new(bytes).map_err(|_| PrintError::Font(name))?;
        let pdf = krilla::text::Font::new(bytes.into(), 0).ok_or(PrintError::Font(name))?;
        Ok(Face {
            pdf,
            metrics: font.glyph_metrics(Size::new(1.0), LocationRef::default()),
            font,
        })
    }

    /// Width of `text` set at `size` points (sum of advances).
    fn width(&self, text: &str, size: f32) -> f32 {
        let charmap = self.font.charmap();
        let em: f32 = text
            .chars()
            .map(|c| {
                let gid = charmap.map(c).unwrap_or_default();
                self.metrics.advance_width(gid).unwrap_or(0.0)
            })
            .sum();
        em * size
    }
}

/// The two faces every form uses.
pub struct Fonts {
    pub(crate) regular: Face,
    pub(crate) bold: Face,
}

impl Fonts {
    /// The embedded DejaVu Sans and DejaVu Sans Bold.
    pub fn load() -> Result<Self, PrintError> {
        Ok(Fonts {
            regular: Face::load(REGULAR, "DejaVuSans.ttf")?,
            bold: Face::load(BOLD, "DejaVuSans-Bold.ttf")?,
        })
    }

    pub(crate) fn face(&self, bold: bool) -> &Face {
        if bold { &self.bold } else { &self.regular }
    }

    /// Width of `text` in points.
    pub fn width(&self, text: &str, bold: bool, size: f32) -> f32 {
        self.face(bold).width(text, size)
    }
}

/// A stretch of text in one face.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The text; `\n` breaks the line.
    pub text: String,
    /// Bold face.
    pub bold: bool,
}

impl Run {
    /// Regular text.
    pub fn plain(text: impl Into<String>) -> Self {
        Run {
            text: text.into(),
            bold: false,
        }
    }

    /// Bold text.
    pub fn bold(text: impl Into<String>) -> Self {
        Run {
            text: text.into(),
            bold: true,
        }
    }
}

/// Horizontal alignment of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Flush left.
    Left,
    /// Centred.
    Center,
    /// Flush right.
    Right,
}

/// A table column: header text and relative width.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Header text.
    pub title: String,
    /// Share of the table's width (any unit: shares are normalised).
    pub weight: f32,
}

/// One centred line of a two-column block (headers, signatures).
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Text, wrapped within the column.
    pub text: String,
    /// Bold face.
    pub bold: bool,
    /// Size in points.
    pub size: f32,
}

/// A piece of the form, in reading order.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A paragraph of runs.
    Para {
        /// Its text.
        runs: Vec<Run>,
        /// Size in points.
        size: f32,
        /// Alignment of every line.
        align: Align,
        /// Left indent in points.
        indent: f32,
        /// Room (points) that must remain below it on the page, so that a
        /// heading is not left alone at the bottom.
        keep: f32,
    },
    /// A bordered table.
    Table {
        /// Columns.
        columns: Vec<Column>,
        /// Rows of cell texts, one per column.
        rows: Vec<Vec<String>>,
        /// Size in points.
        size: f32,
        /// First column set in bold (a row label).
        label_column: bool,
    },
    /// Two columns of centred lines, side by side; `split` is the left
    /// column's share of the width. A photo frame of `photo` points (width,
    /// height) may stand before the left column.
    Columns {
        /// Left lines.
        left: Vec<Cell>,
        /// Right lines.
        right: Vec<Cell>,
        /// Left column's share.
        split: f32,
        /// Photo frame size and label.
        photo: Option<(f32, f32, String)>,
    },
    /// `n` dotted lines to write on by hand.
    Ruled(usize),
    /// Vertical space.
    Gap(f32),
}

impl Block {
    /// A paragraph of these runs at `size`, left aligned.
    pub fn para(runs: Vec<Run>, size: f32) -> Self {
        Block::Para {
            runs,
            size,
            align: Align::Left,
            indent: 0.0,
            keep: 0.0,
        }
    }
}

/// A drawing operation, in points from the page's top left corner.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Text whose baseline starts at (x, y).
    Text {
        /// Left.
        x: f32,
        /// Baseline.
        y: f32,
        /// The text.
        text: String,
        /// Bold face.
        bold: bool,
        /// Size in points.
        size: f32,
    },
    /// A straight line.
    Line {
        /// Start.
        from: (f32, f32),
        /// End.
        to: (f32, f32),
        /// Stroke width.
        width: f32,
        /// Dotted rather than solid.
        dotted: bool,
    },
}

/// One page's operations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// What is drawn on it.
    pub ops: Vec<Op>,
}

/// A line of pieces, each with its offset from the line's start.
#[derive(Debug, Clone, Default)]
struct Line {
    pieces: Vec<(f32, String, bool)>,
    width: f32,
}

/// Breaks runs into lines no wider than `max`.
fn wrap(fonts: &Fonts, runs: &[Run], size: f32, max: f32) -> Vec<Line> {
    let mut lines = vec![Line::default()];
    // Whether a space separates the next word from the previous one.
    let mut space = false;
    for run in runs {
        let space_w = fonts.width(" ", run.bold, size);
        for (i, paragraph) in run.text.split('\n').enumerate() {
            if i > 0 {
                lines.push(Line::default());
                space = false;
            }
            if paragraph.starts_with(char::is_whitespace) {
                space = true;
            }
            for word in paragraph.split_whitespace() {
                place_word(fonts, &mut lines, word, run.bold, size, max, space, space_w);
                space = true;
            }
            if !paragraph.ends_with(char::is_whitespace) && !paragraph.is_empty() {
                space = false;
            }
        }
    }
    lines
}

#[allow(clippy::too_many_arguments)]
fn place_word(
    fonts: &Fonts,
    lines: &mut Vec<Line>,
    word: &str,
    bold: bool,
    size: f32,
    max: f32,
    space: bool,
    space_w: f32,
) {
    let w = fonts.width(word, bold, size);
    let Some(line) = lines.last_mut() else { return };
    let gap = if space && !line.pieces.is_empty() {
        space_w
    } else {
        0.0
    };
    if line.width + gap + w <= max || (line.pieces.is_empty() && w <= max) {
        push_piece(line, word, bold, gap, w);
        return;
    }
    if w <= max {
        let mut next = Line::default();
        push_piece(&mut next, word, bold, 0.0, w);
        lines.push(next);
        return;
    }
    // Longer than a whole line: break between letters.
    let mut chunk = String::new();
    for c in word.chars() {
        let mut candidate = chunk.clone();
        candidate.push(c);
        let line_w = lines.last().map_or(0.0, |l| l.width);
        let lead = if chunk.is_empty() && lines.last().is_some_and(|l| !l.pieces.is_empty()) {
            gap
        } else {
            0.0
        };
        if line_w + lead + fonts.width(&candidate, bold, size) > max && !chunk.is_empty() {
            let cw = fonts.width(&chunk, bold, size);
            if let Some(line) = lines.last_mut() {
                push_piece(line, &chunk, bold, lead, cw);
            }
            lines.push(Line::default());
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        let cw = fonts.width(&chunk, bold, size);
        if let Some(line) = lines.last_mut() {
            push_piece(line, &chunk, bold, 0.0, cw);
        }
    }
}

fn push_piece(line: &mut Line, word: &str, bold: bool, gap: f32, w: f32) {
    // Words of one face on one line are one piece, so the PDF holds the
    // line's text with its spaces and extraction reads it back as written.
    match line.pieces.last_mut() {
        Some((_, text, b)) if *b == bold => {
            if gap > 0.0 {
                text.push(' ');
            }
            text.push_str(word);
        }
        _ => {
            line.pieces.push((line.width + gap, word.to_owned(), bold));
        }
    }
    line.width += gap + w;
}

/// Sets the blocks into pages.
pub fn paginate(fonts: &Fonts, blocks: &[Block]) -> Vec<Page> {
    let mut p = Paginator {
        fonts,
        pages: vec![Page::default()],
        y: TOP,
    };
    for block in blocks {
        p.block(block);
    }
    p.pages
}

struct Paginator<'a> {
    fonts: &'a Fonts,
    pages: Vec<Page>,
    y: f32,
}

impl Paginator<'_> {
    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Page::default());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last].ops
    }

    fn room(&self) -> f32 {
        PAGE_H - BOTTOM - self.y
    }

    fn new_page(&mut self) {
        self.pages.push(Page::default());
        self.y = TOP;
    }

    fn at_top(&self) -> bool {
        self.y <= TOP
    }

    fn text_line(&mut self, line: &Line, x0: f32, width: f32, align: Align, size: f32) {
        let x = match align {
            Align::Left => x0,
            Align::Center => x0 + (width - line.width) / 2.0,
            Align::Right => x0 + width - line.width,
        };
        let baseline = self.y + size;
        for (dx, text, bold) in &line.pieces {
            let op = Op::Text {
                x: x + dx,
                y: baseline,
                text: text.clone(),
                bold: *bold,
                size,
            };
            self.ops().push(op);
        }
    }

    fn block(&mut self, block: &Block) {
        match block {
            Block::Para {
                runs,
                size,
                align,
                indent,
                keep,
            } => {
                let lines = wrap(self.fonts, runs, *size, TEXT_W - indent);
                let lh = size * LEADING;
                let whole = lh * lines.len() as f32 + keep;
                if whole > self.room() && whole <= PAGE_H - TOP - BOTTOM && !self.at_top() {
                    self.new_page();
                }
                for line in &lines {
                    if lh > self.room() {
                        self.new_page();
                    }
                    self.text_line(line, LEFT + indent, TEXT_W - indent, *align, *size);
                    self.y += lh;
                }
            }
            Block::Gap(h) => {
                if *h < self.room() {
                    self.y += h;
                } else {
                    self.new_page();
                }
            }
            Block::Ruled(n) => {
                let lh = 20.0;
                for _ in 0..*n {
                    if lh > self.room() {
                        self.new_page();
                    }
                    self.y += lh;
                    let y = self.y - 4.0;
                    self.ops().push(Op::Line {
                        from: (LEFT, y),
                        to: (LEFT + TEXT_W, y),
                        width: 0.5,
                        dotted: true,
                    });
                }
            }
            Block::Columns {
                left,
                right,
                split,
                photo,
            } => self.columns(left, right, *split, photo.as_ref()),
            Block::Table {
                columns,
                rows,
                size,
                label_column,
            } => self.table(columns, rows, *size, *label_column),
        }
    }

    fn cells(&self, cells: &[Cell], width: f32) -> Vec<(Line, f32)> {
        let mut out = Vec::new();
        for c in cells {
            let run = Run {
                text: c.text.clone(),
                bold: c.bold,
            };
            for line in wrap(self.fonts, &[run], c.size, width) {
                out.push((line, c.size));
            }
        }
        out
    }

    fn columns(
        &mut self,
        left: &[Cell],
        right: &[Cell],
        split: f32,
        photo: Option<&(f32, f32, String)>,
    ) {
        let (photo_w, photo_h) = photo.map_or((0.0, 0.0), |(w, h, _)| (*w + 12.0, *h));
        let left_x = LEFT + photo_w;
        let left_w = TEXT_W * split - photo_w;
        let right_x = LEFT + TEXT_W * split;
        let right_w = TEXT_W * (1.0 - split);
        let l = self.cells(left, left_w);
        let r = self.cells(right, right_w);
        let height = |lines: &[(Line, f32)]| lines.iter().map(|(_, s)| s * LEADING).sum::<f32>();
        let h = height(&l).max(height(&r)).max(photo_h);
        if h > self.room() && !self.at_top() {
            self.new_page();
        }
        let top = self.y;
        if let Some((w, h, label)) = photo {
            self.rect(LEFT, top, *w, *h, 0.6);
            let size = 8.0;
            let lw = self.fonts.width(label, false, size);
            self.ops().push(Op::Text {
                x: LEFT + (w - lw) / 2.0,
                y: top + h / 2.0 + size / 3.0,
                text: label.clone(),
                bold: false,
                size,
            });
        }
        for (lines, x, w) in [(&l, left_x, left_w), (&r, right_x, right_w)] {
            self.y = top;
            for (line, size) in lines {
                self.text_line(line, x, w, Align::Center, *size);
                self.y += size * LEADING;
            }
        }
        self.y = top + h;
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, width: f32) {
        let corners = [(x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y)];
        for pair in corners.windows(2) {
            self.ops().push(Op::Line {
                from: pair[0],
                to: pair[1],
                width,
                dotted: false,
            });
        }
    }

    fn table(&mut self, columns: &[Column], rows: &[Vec<String>], size: f32, label_column: bool) {
        let total: f32 = columns
            .iter()
            .map(|c| c.weight)
            .sum::<f32>()
            .max(f32::EPSILON);
        let widths: Vec<f32> = columns.iter().map(|c| TEXT_W * c.weight / total).collect();
        let lh = size * LEADING;
        let wrap_cells = |texts: &[String], bold_all: bool| -> Vec<Vec<Line>> {
            texts
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (t, w))| {
                    let bold = bold_all || (label_column && i == 0);
                    wrap(
                        self.fonts,
                        &[Run {
                            text: t.clone(),
                            bold,
                        }],
                        size,
                        w - 2.0 * PAD,
                    )
                })
                .collect()
        };
        let titles: Vec<String> = columns.iter().map(|c| c.title.clone()).collect();
        let header = wrap_cells(&titles, true);
        let header_n = header.iter().map(Vec::len).max().unwrap_or(1);
        let header_h = header_n as f32 * lh + 2.0 * PAD;
        let page_body = PAGE_H - TOP - BOTTOM - header_h;
        // The header is not left alone at the foot of a page: it goes with
        // the first row (or its first line, for a row taller than a page).
        let first = rows
            .first()
            .map(|r| wrap_cells(r, false).iter().map(Vec::len).max().unwrap_or(1))
            .map_or(lh + 2.0 * PAD, |n| n as f32 * lh + 2.0 * PAD);
        let first = if first > page_body {
            lh + 2.0 * PAD
        } else {
            first
        };
        if header_h + first > self.room() && !self.at_top() {
            self.new_page();
        }
        self.row(&header, &widths, 0, header_n, size, true);
        for row in rows {
            let cells = wrap_cells(row, false);
            let n = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
            let mut start = 0;
            while start < n {
                let need = (n - start) as f32 * lh + 2.0 * PAD;
                if need <= self.room() {
                    self.row(&cells, &widths, start, n, size, false);
                    break;
                }
                let fit = ((self.room() - 2.0 * PAD) / lh).floor();
                // A row that fits on a page is kept whole on the next one.
                if (start > 0 || need > page_body) && fit >= 1.0 {
                    let end = (start + fit as usize).min(n);
                    self.row(&cells, &widths, start, end, size, false);
                    start = end;
                }
                self.new_page();
                self.row(&header, &widths, 0, header_n, size, true);
            }
        }
    }

    /// Lines `from..to` of a row's cells, with its borders.
    fn row(
        &mut self,
        cells: &[Vec<Line>],
        widths: &[f32],
        from: usize,
        to: usize,
        size: f32,
        center: bool,
    ) {
        let lh = size * LEADING;
        let h = (to - from) as f32 * lh + 2.0 * PAD;
        let top = self.y;
        let mut x = LEFT;
        for (lines, w) in cells.iter().zip(widths) {
            self.y = top + PAD;
            for line in lines.iter().skip(from).take(to - from) {
                let align = if center { Align::Center } else { Align::Left };
                self.text_line(line, x + PAD, w - 2.0 * PAD, align, size);
                self.y += lh;
            }
            x += w;
        }
        let right = LEFT + widths.iter().sum::<f32>();
        for y in [top, top + h] {
            self.ops().push(Op::Line {
                from: (LEFT, y),
                to: (right, y),
                width: 0.6,
                dotted: false,
            });
        }
        let mut x = LEFT;
        for w in std::iter::once(&0.0).chain(widths) {
            x += w;
            self.ops().push(Op::Line {
                from: (x, top),
                to: (x, top + h),
                width: 0.6,
                dotted: false,
            });
        }
        self.y = top + h;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(lines: &[Line]) -> Vec<String> {
        lines
            .iter()
            .flat_map(|l| l.pieces.iter().map(|(_, t, _)| t.clone()))
            .collect()
    }

    #[test]
    fn lines_stay_within_the_width_and_keep_every_word() {
        let fonts = Fonts::load().unwrap();
        let runs = [
            Run::plain("22) Kỷ luật (về đảng, chính quyền, đoàn thể): "),
            Run::bold("Khiển trách năm 2019; cảnh cáo năm 2021 về việc chậm báo cáo"),
        ];
        for max in [80.0, 150.0, 300.0, TEXT_W] {
            let lines = wrap(&fonts, &runs, 10.0, max);
            for l in &lines {
                assert!(l.width <= max + 0.01, "{} > {max}", l.width);
            }
            let all = words(&lines).join(" ");
            let flat: Vec<&str> = all.split_whitespace().collect();
            let want: Vec<&str> = runs
                .iter()
                .flat_map(|r| r.text.split_whitespace())
                .collect();
            assert_eq!(flat, want, "at {max}");
        }
    }

    #[test]
    fn a_word_longer_than_the_line_is_broken_between_letters() {
        let fonts = Fonts::load().unwrap();
        let word = "facebook.com/nguyen.thi.huyen.trang.hung.yen.1990";
        let lines = wrap(&fonts, &[Run::plain(word)], 10.0, 60.0);
        assert!(lines.len() > 2);
        for l in &lines {
            assert!(l.width <= 60.01);
        }
        assert_eq!(words(&lines).concat(), word);
    }

    #[test]
    fn a_line_break_in_a_value_starts_a_new_line() {
        let fonts = Fonts::load().unwrap();
        let lines = wrap(
            &fonts,
            &[Run::plain("Cha: nông dân\nMẹ: giáo viên")],
            10.0,
            TEXT_W,
        );
        assert_eq!(words(&lines), ["Cha: nông dân", "Mẹ: giáo viên"]);
    }

    #[test]
    fn vietnamese_letters_all_have_glyphs() {
        // Every precomposed Vietnamese letter (NFC) maps to a glyph of both
        // faces, so nothing prints as the missing-glyph box.
        let letters = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ";
        let fonts = Fonts::load().unwrap();
        for face in [&fonts.regular, &fonts.bold] {
            let charmap = face.font.charmap();
            for c in letters.chars().chain(letters.to_uppercase().chars()) {
                assert!(charmap.map(c).is_some(), "no glyph for {c}");
            }
        }
    }
}
