//! Reading a file into a [`Table`]: its header row and every data row, each
//! with the row number a spreadsheet shows (the header is row 1 of a CSV; in
//! an XLSX, the first sheet's first non-empty row), cells as text.
//!
//! CSV: UTF-8 (a byte-order mark is skipped), comma- or semicolon-separated
//! (the separator of the header line, as spreadsheets in Vietnamese locales
//! write `;`), quoted fields may span lines. XLSX: the first worksheet; a
//! date cell is written `dd/mm/yyyy`, a number as Rust prints it (`5.36`,
//! `3`), a formula's cached value is read.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};

/// Which kind of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Comma- or semicolon-separated values.
    Csv,
    /// An Office Open XML workbook.
    Xlsx,
}

/// The media type of an XLSX workbook.
pub const XLSX_MEDIA_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

impl FileKind {
    /// The kind a file's bytes are: an XLSX is a ZIP archive (`PK\3\4`),
    /// anything else is read as CSV.
    pub fn sniff(bytes: &[u8]) -> Self {
        if bytes.starts_with(b"PK\x03\x04") {
            Self::Xlsx
        } else {
            Self::Csv
        }
    }

    /// The kind a media type names (`text/csv`, [`XLSX_MEDIA_TYPE`]),
    /// parameters (`; charset=utf-8`) ignored.
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        let essence = media_type.split(';').next().unwrap_or("").trim();
        if essence.eq_ignore_ascii_case("text/csv") {
            Some(Self::Csv)
        } else if essence.eq_ignore_ascii_case(XLSX_MEDIA_TYPE) {
            Some(Self::Xlsx)
        } else {
            None
        }
    }
}

/// A file read: the header and the data rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The header's row number.
    pub header_row: u32,
    /// Header cells, as written.
    pub headers: Vec<String>,
    /// Data rows: row number and cells (as many as the header, padded).
    pub rows: Vec<(u32, Vec<String>)>,
}

/// Why a file cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Not UTF-8 (an export in a legacy code page: save it as UTF-8).
    #[error("the CSV is not UTF-8 (row {row}): save it as UTF-8")]
    NotUtf8 {
        /// Row of the first bad byte.
        row: u32,
    },
    /// A CSV that does not parse.
    #[error("the CSV cannot be read at row {row}: {detail}")]
    Csv {
        /// Row.
        row: u32,
        /// The parser's account.
        detail: String,
    },
    /// An XLSX that does not open.
    #[error("the XLSX workbook cannot be read: {0}")]
    Xlsx(String),
    /// A workbook with no worksheet.
    #[error("the XLSX workbook has no worksheet")]
    NoSheet,
    /// No header row.
    #[error("the file is empty: no header row")]
    Empty,
}

/// Reads `bytes` as a file of `kind`.
pub fn read(bytes: &[u8], kind: FileKind) -> Result<Table, ReadError> {
    match kind {
        FileKind::Csv => read_csv(bytes),
        FileKind::Xlsx => read_xlsx(bytes),
    }
}

/// Reads a CSV file.
pub fn read_csv(bytes: &[u8]) -> Result<Table, ReadError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let semicolons = first_line.iter().filter(|b| **b == b';').count();
    let commas = first_line.iter().filter(|b| **b == b',').count();
    let delimiter = if semicolons > commas { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut headers: Option<Vec<String>> = None;
    let mut header_row = 0;
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    let mut lines = Lines::default();
    loop {
        // The reader stands before the record, or before blank lines it skips.
        let mut start = usize::try_from(reader.position().byte()).unwrap_or(usize::MAX);
        while bytes.get(start).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
            start += 1;
        }
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| csv_error(&e))?;
        if !more {
            break;
        }
        let row = lines.line_of(bytes, start);
        let cells = record
            .iter()
            .map(|c| {
                std::str::from_utf8(c)
                    .map(str::to_owned)
                    .map_err(|_| ReadError::NotUtf8 { row })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        match &headers {
            None => {
                header_row = row;
                headers = Some(cells);
            }
            Some(h) => rows.push((row, pad(cells, h.len()))),
        }
    }
    let headers = headers.ok_or(ReadError::Empty)?;
    Ok(Table {
        header_row,
        headers,
        rows,
    })
}

/// Line numbers of byte offsets asked in increasing order, counted once.
#[derive(Default)]
struct Lines {
    at: usize,
    newlines: usize,
}

impl Lines {
    /// The 1-based line of byte `at`.
    fn line_of(&mut self, bytes: &[u8], at: usize) -> u32 {
        let at = at.min(bytes.len());
        if at > self.at {
            self.newlines += bytes[self.at..at].iter().filter(|b| **b == b'\n').count();
            self.at = at;
        }
        u32::try_from(self.newlines + 1).unwrap_or(u32::MAX)
    }
}

fn csv_error(e: &csv::Error) -> ReadError {
    let row = e
        .position()
        .map_or(0, |p| u32::try_from(p.line()).unwrap_or(u32::MAX));
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => ReadError::NotUtf8 { row },
        _ => ReadError::Csv {
            row,
            detail: e.to_string(),
        },
    }
}

fn pad(mut cells: Vec<String>, len: usize) -> Vec<String> {
    if cells.len() < len {
        cells.resize(len, String::new());
    }
    cells
}

/// Reads the first worksheet of an XLSX workbook.
pub fn read_xlsx(bytes: &[u8]) -> Result<Table, ReadError> {
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e: calamine::XlsxError| ReadError::Xlsx(e.to_string()))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or(ReadError::NoSheet)?
        .map_err(|e| ReadError::Xlsx(e.to_string()))?;
    // The range starts at its first non-empty cell; row numbers are the sheet's.
    let first_row = range.start().map_or(0, |(r, _)| r);
    let first_col = range.start().map_or(0, |(_, c)| c) as usize;
    let mut headers: Option<Vec<String>> = None;
    let mut header_row = 0;
    let mut rows = Vec::new();
    for (i, cells) in range.rows().enumerate() {
        let row = first_row + u32::try_from(i).unwrap_or(u32::MAX) + 1;
        let mut text: Vec<String> = vec![String::new(); first_col];
        text.extend(cells.iter().map(cell_text));
        if text.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        match &headers {
            None => {
                header_row = row;
                headers = Some(text);
            }
            Some(h) => rows.push((row, pad(text, h.len()))),
        }
    }
    let headers = headers.ok_or(ReadError::Empty)?;
    Ok(Table {
        header_row,
        headers,
        rows,
    })
}

fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
        Data::DateTime(d) => d
            .as_datetime()
            .map(|t| t.format("%d/%m/%Y").to_string())
            .unwrap_or_else(|| d.to_string()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_bom_semicolons_quotes_and_blank_lines() {
        let text =
            "\u{feff}Mã hồ sơ;Họ và tên khai sinh\r\n\r\nHS-1;\"Nguyễn; Văn\nAn\"\r\nHS-2\r\n";
        let t = read_csv(text.as_bytes()).unwrap();
        assert_eq!(t.headers, ["Mã hồ sơ", "Họ và tên khai sinh"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(
            t.rows[0],
            (3, vec!["HS-1".into(), "Nguyễn; Văn\nAn".into()])
        );
        // A short row is padded; its number is its first line.
        assert_eq!(t.rows[1], (5, vec!["HS-2".into(), String::new()]));
    }

    #[test]
    fn csv_not_utf8_names_its_row() {
        let bytes = b"a,b\nx,\xff\n";
        assert!(matches!(
            read_csv(bytes),
            Err(ReadError::NotUtf8 { row: 2 })
        ));
    }

    #[test]
    fn empty_files_are_refused() {
        assert!(matches!(read_csv(b""), Err(ReadError::Empty)));
        assert!(matches!(read_csv(b"\n ,\n"), Err(ReadError::Empty)));
        assert!(matches!(
            read(b"PK\x03\x04garbage", FileKind::Xlsx),
            Err(ReadError::Xlsx(_))
        ));
    }

    #[test]
    fn kinds_by_bytes_and_media_type() {
        assert_eq!(FileKind::sniff(b"PK\x03\x04..."), FileKind::Xlsx);
        assert_eq!(FileKind::sniff(b"ma_ho_so,ho_ten"), FileKind::Csv);
        assert_eq!(
            FileKind::from_media_type("text/csv; charset=utf-8"),
            Some(FileKind::Csv)
        );
        assert_eq!(
            FileKind::from_media_type(XLSX_MEDIA_TYPE),
            Some(FileKind::Xlsx)
        );
        assert_eq!(FileKind::from_media_type("application/json"), None);
    }

    #[test]
    fn xlsx_cells_as_text_with_dates_and_numbers() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(1, 1, "ngay_sinh").unwrap();
        sheet.write_string(1, 2, "he_so_luong").unwrap();
        sheet.write_string(1, 3, "bac_luong").unwrap();
        let date = rust_xlsxwriter::ExcelDateTime::from_ymd(1990, 5, 17).unwrap();
        let format = rust_xlsxwriter::Format::new().set_num_format("dd/mm/yyyy");
        sheet
            .write_datetime_with_format(2, 1, &date, &format)
            .unwrap();
        sheet.write_number(2, 2, 5.36).unwrap();
        sheet.write_number(2, 3, 3.0).unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let t = read(&bytes, FileKind::sniff(&bytes)).unwrap();
        assert_eq!(t.headers, ["", "ngay_sinh", "he_so_luong", "bac_luong"]);
        assert_eq!(
            t.rows,
            [(
                3,
                vec!["".into(), "17/05/1990".into(), "5.36".into(), "3".into()]
            )]
        );
    }
}
