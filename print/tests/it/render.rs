//! The fixed dossier printed in both variants and read back with Debian's
//! poppler-utils: `pdftotext -layout` against golden text (whitespace
//! normalised), `pdftoppm -gray` of the first page against a golden image
//! with a tolerance. `HOSO_UPDATE_GOLDEN=1` rewrites the golden files after a
//! deliberate change of layout; look at the pages before committing them.

use std::path::{Path, PathBuf};
use std::process::Command;

use hoso_print::{Form, Resume, render};

use crate::fixture::resume;

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn updating() -> bool {
    std::env::var_os("HOSO_UPDATE_GOLDEN").is_some()
}

/// Runs a poppler tool, or fails saying how to get it.
fn poppler(tool: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!(
            "{tool} could not be run ({e}): install poppler-utils \
             (apt-get install -y poppler-utils) to run the PDF tests"
        )
    });
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn pdf_file(dir: &Path, form: Form, r: &Resume) -> PathBuf {
    let pdf = render(form, r).unwrap();
    let path = dir.join(format!("{}.pdf", form.code()));
    std::fs::write(&path, pdf).unwrap();
    path
}

/// The extracted text, each line's words joined by one space, blank lines
/// dropped: the layout's spacing is poppler's guess, the words are ours.
fn text_of(path: &Path) -> String {
    let raw = poppler("pdftotext", &["-layout", path.to_str().unwrap(), "-"]);
    normalise(&String::from_utf8(raw).unwrap())
}

fn normalise(text: &str) -> String {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .map(|l| l + "\n")
        .collect()
}

#[test]
fn extracted_text_matches_the_golden_text_of_both_variants() {
    let dir = tempfile::tempdir().unwrap();
    for form in Form::ALL {
        let text = text_of(&pdf_file(dir.path(), form, &resume()));
        let path = golden(&format!("{}.txt", form.code()));
        if updating() {
            std::fs::write(&path, &text).unwrap();
        }
        let want = normalise(&std::fs::read_to_string(&path).unwrap());
        if text != want {
            let first = text
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(text.lines().count().min(want.lines().count()));
            panic!(
                "{}: text differs from {} at line {}:\n got: {:?}\nwant: {:?}",
                form.code(),
                path.display(),
                first + 1,
                text.lines().nth(first),
                want.lines().nth(first)
            );
        }
    }
}

#[test]
fn vietnamese_with_stacked_marks_reads_back_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let text = text_of(&pdf_file(dir.path(), Form::Classic2C, &resume()));
    for word in [
        "Nghệ An",
        "hướng dẫn",
        "Nguyễn Văn Lực",
        "NGUYỄN THỊ HUYỀN TRANG",
        "SƠ YẾU LÝ LỊCH CÁN BỘ, CÔNG CHỨC",
        "Số chứng minh nhân dân: 033190001234",
    ] {
        assert!(text.contains(word), "{word:?} not in the extracted text");
    }
}

#[test]
fn the_fonts_are_embedded_and_subset() {
    let dir = tempfile::tempdir().unwrap();
    let path = pdf_file(dir.path(), Form::Tt06, &resume());
    let fonts = String::from_utf8(poppler("pdffonts", &[path.to_str().unwrap()])).unwrap();
    let rows: Vec<&str> = fonts.lines().filter(|l| l.contains("DejaVuSans")).collect();
    assert_eq!(rows.len(), 2, "{fonts}");
    for row in rows {
        // name, type (two words), encoding, then emb sub uni.
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(&cols[4..7], ["yes", "yes", "yes"], "{row}");
        // A subset's name carries a six-letter tag.
        assert_eq!(cols[0].find('+'), Some(6), "{row}");
    }
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size < 150_000, "a three-page résumé of {size} bytes");
}

#[test]
fn a_long_career_runs_over_pages_with_its_header_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let path = pdf_file(dir.path(), Form::Classic2C, &resume());
    let text = text_of(&path);
    for n in 1..=3 {
        assert!(text.contains(&format!("Trang {n}/3")), "page {n} of 3");
    }
    let page = |n: &str| {
        let raw = poppler(
            "pdftotext",
            &["-f", n, "-l", n, "-layout", path.to_str().unwrap(), "-"],
        );
        normalise(&String::from_utf8(raw).unwrap())
    };
    let (two, three) = (page("2"), page("3"));
    for p in [&two, &three] {
        assert!(
            p.contains("Từ tháng, năm đến"),
            "career header on the page:\n{p}"
        );
    }
    assert!(two.contains("nhiệm vụ 1:") && three.contains("nhiệm vụ 24:"));
    assert!(!two.contains("nhiệm vụ 24:"));
}

#[test]
fn withheld_items_say_so_and_as_of_is_printed() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = resume();
    r.person_id = None;
    r.withheld.push("person_id".to_owned());
    r.fields.remove(&("25a".to_owned(), 0));
    let text = text_of(&pdf_file(dir.path(), Form::Classic2C, &r));
    // Lines joined: where a line breaks is the layout's business.
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(!flat.contains("033190001234"));
    assert!(
        flat.contains("25) Số chứng minh nhân dân: (không có quyền xem); Ngày cấp: 20/04/2021")
    );
    assert!(flat.contains("hình thức cao nhất, năm nào): (không có quyền xem) 23)"));
    assert!(
        flat.contains("Theo hiệu lực ngày 30/06/2024 · dữ liệu đến lúc in · in ngày 06/12/2026")
    );
}

/// A PGM (P5, 8-bit) image: width, height, pixels.
fn pgm(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if bytes[i] == b'#' {
            while bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        while !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..i]).into_owned());
    }
    assert_eq!(fields[0], "P5");
    assert_eq!(fields[3], "255");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = bytes[i + 1..].to_vec();
    assert_eq!(pixels.len(), w * h);
    (w, h, pixels)
}

fn first_page_gray(path: &Path) -> Vec<u8> {
    poppler(
        "pdftoppm",
        &[
            "-gray",
            "-r",
            "25",
            "-f",
            "1",
            "-l",
            "1",
            path.to_str().unwrap(),
        ],
    )
}

/// Mean absolute difference, and the share of pixels off by more than a
/// quarter of the range.
fn difference(a: &[u8], b: &[u8]) -> (f64, f64) {
    let (_, _, pa) = pgm(a);
    let (_, _, pb) = pgm(b);
    assert_eq!(pa.len(), pb.len(), "page sizes differ");
    let mut sum = 0u64;
    let mut far = 0usize;
    for (x, y) in pa.iter().zip(&pb) {
        let d = x.abs_diff(*y);
        sum += u64::from(d);
        far += usize::from(d > 64);
    }
    (sum as f64 / pa.len() as f64, far as f64 / pa.len() as f64)
}

/// Within this, two rasterisations are the same page (antialiasing and a
/// poppler version apart); a changed word is not.
fn same_page(a: &[u8], b: &[u8]) -> bool {
    let (mean, far) = difference(a, b);
    mean < 1.0 && far < 0.002
}

#[test]
fn first_pages_look_like_the_golden_images() {
    let dir = tempfile::tempdir().unwrap();
    for form in Form::ALL {
        let got = first_page_gray(&pdf_file(dir.path(), form, &resume()));
        let path = golden(&format!("{}-page1.pgm", form.code()));
        if updating() {
            std::fs::write(&path, &got).unwrap();
        }
        let want = std::fs::read(&path).unwrap();
        let (mean, far) = difference(&got, &want);
        assert!(
            same_page(&got, &want),
            "{}: first page differs from {} (mean {mean:.3}, {:.3}% of pixels far off)",
            form.code(),
            path.display(),
            far * 100.0
        );
    }
}

#[test]
fn the_raster_check_sees_a_changed_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut other = resume();
    other.full_name = "Lê Văn Dũng".to_owned();
    other
        .fields
        .insert(("1".to_owned(), 0), "Lê Văn Dũng".to_owned());
    let want = std::fs::read(golden("2c-page1.pgm")).unwrap();
    let got = first_page_gray(&pdf_file(dir.path(), Form::Classic2C, &other));
    assert!(!same_page(&got, &want), "{:?}", difference(&got, &want));
}
