//! The résumé of a dossier printed as the 2C form, as PDF.
//!
//! Two variants: the classic Mẫu 2C-BNV/2008 ("Sơ yếu lý lịch cán bộ, công
//! chức", issued with QĐ 02/2008/QĐ-BNV, which replaced the forms of QĐ
//! 06/2007/QĐ-BNV) and the current variant of the appendix of Circular
//! 06/2023/TT-BNV, whose items follow the field catalogue's newer 2C
//! (`domain/data/field_catalog.tsv`). The input is a [`Resume`]: what one
//! reader may see of a dossier at one `as_of` / `known_at` (the API builds it
//! from the same filtered view its JSON read returns), so this crate never
//! opens a sealed value and never decides access.
//!
//! The text is set in DejaVu Sans (regular and bold), embedded in the binary
//! with `include_bytes!` and subset into each PDF by `krilla`, which also
//! shapes the text (so a combining mark that NFC could not compose still
//! lands on its base letter) and writes the `ToUnicode` maps text extraction
//! needs. Layout is ours ([`layout`]): numbered items as wrapped paragraphs,
//! the history tables with borders, a header row repeated on every page a
//! table runs onto, and "Trang i/n" on every page.

mod forms;
pub mod layout;
mod pdf;
mod resume;

pub use resume::{Resume, Shown};

/// The form variant to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Form {
    /// Mẫu 2C-BNV/2008 (QĐ 02/2008/QĐ-BNV): items 1–32 and the signatures.
    Classic2C,
    /// The 2C form of Circular 06/2023/TT-BNV: items 1–25, then the tables
    /// (before recruitment, career, training, awards, discipline, salary,
    /// family).
    Tt06,
}

impl Form {
    /// Every variant, in the order the API lists them.
    pub const ALL: [Form; 2] = [Form::Classic2C, Form::Tt06];

    /// The API's name of the variant (`form=` query parameter).
    pub fn code(self) -> &'static str {
        match self {
            Form::Classic2C => "2c",
            Form::Tt06 => "tt06",
        }
    }

    /// The variant with this API name.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.code() == code)
    }

    /// The form's reference, printed in the corner of its first page.
    pub fn reference(self) -> &'static str {
        match self {
            Form::Classic2C => "Mẫu 2C-BNV/2008",
            Form::Tt06 => "Mẫu 2C (Thông tư 06/2023/TT-BNV)",
        }
    }
}

/// Why a résumé could not be printed.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    /// An embedded font did not parse (a broken build, never input).
    #[error("the embedded font {0} cannot be read")]
    Font(&'static str),
    /// The PDF writer refused the document.
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}

/// The résumé as a PDF document of the given form variant.
pub fn render(form: Form, resume: &Resume) -> Result<Vec<u8>, PrintError> {
    let fonts = layout::Fonts::load()?;
    let blocks = forms::blocks(form, resume);
    let footer = forms::footer(form, resume);
    let pages = layout::paginate(&fonts, &blocks);
    pdf::write(&fonts, &pages, &footer, form, resume)
}
