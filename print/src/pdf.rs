//! Writing laid-out pages as a PDF with `krilla`: text in the embedded faces
//! (shaped, subset, with `ToUnicode` maps), lines as stroked paths, and the
//! footer — the form's reference, the dossier and the dates of the view on
//! the left, "Trang i/n" on the right — on every page once their number is
//! known.

use krilla::Document;
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Stroke, StrokeDash};
use krilla::surface::Surface;
use krilla::text::TextDirection;

use crate::layout::{BOTTOM, Fonts, LEFT, Op, PAGE_H, PAGE_W, Page, RIGHT};
use crate::{Form, PrintError, Resume};

const FOOTER_SIZE: f32 = 7.5;

/// The document: every page, then its footer.
pub(crate) fn write(
    fonts: &Fonts,
    pages: &[Page],
    footer: &[String; 2],
    form: Form,
    resume: &Resume,
) -> Result<Vec<u8>, PrintError> {
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(format!("{} — {}", form.reference(), resume.full_name))
            .language("vi".to_owned())
            .creator("hoso".to_owned()),
    );
    let total = pages.len();
    for (i, page) in pages.iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
            .ok_or_else(|| PrintError::Pdf("page size".into()))?;
        let mut pdf_page = doc.start_page_with(settings);
        let mut surface = pdf_page.surface();
        for op in &page.ops {
            draw(&mut surface, fonts, op);
        }
        let y = PAGE_H - BOTTOM / 2.0;
        for (k, line) in footer.iter().enumerate() {
            draw(
                &mut surface,
                fonts,
                &Op::Text {
                    x: LEFT,
                    y: y + k as f32 * FOOTER_SIZE * 1.3,
                    text: line.clone(),
                    bold: false,
                    size: FOOTER_SIZE,
                },
            );
        }
        let number = format!("Trang {}/{}", i + 1, total);
        let w = fonts.width(&number, false, FOOTER_SIZE);
        draw(
            &mut surface,
            fonts,
            &Op::Text {
                x: PAGE_W - RIGHT - w,
                y,
                text: number,
                bold: false,
                size: FOOTER_SIZE,
            },
        );
        surface.finish();
        pdf_page.finish();
    }
    doc.finish().map_err(|e| PrintError::Pdf(format!("{e:?}")))
}

fn draw(surface: &mut Surface<'_>, fonts: &Fonts, op: &Op) {
    match op {
        Op::Text {
            x,
            y,
            text,
            bold,
            size,
        } => surface.draw_text(
            Point::from_xy(*x, *y),
            fonts.face(*bold).pdf.clone(),
            *size,
            text,
            false,
            TextDirection::Auto,
        ),
        Op::Line {
            from,
            to,
            width,
            dotted,
        } => {
            let mut path = PathBuilder::new();
            path.move_to(from.0, from.1);
            path.line_to(to.0, to.1);
            let Some(path) = path.finish() else { return };
            surface.set_fill(None);
            surface.set_stroke(Some(Stroke {
                width: *width,
                dash: dotted.then(|| StrokeDash {
                    array: vec![1.0, 2.0],
                    offset: 0.0,
                }),
                ..Stroke::default()
            }));
            surface.draw_path(&path);
            surface.set_stroke(None);
            surface.set_fill(Some(krilla::paint::Fill::default()));
        }
    }
}
