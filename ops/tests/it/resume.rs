//! The résumé printed as the 2C form over HTTP (`GET /dossiers/{id}/resume`):
//! a PDF whose extracted text is the golden text, the salary decision shown
//! only from its effective date (`as_of`), the reader's restricted reads
//! logged as for the JSON read, and nothing but a 404 for a caller without
//! access. The API runs in-process over the testkit's province on its manual
//! clock, so the printed date is fixed. Reading the PDF back needs Debian's
//! poppler-utils (`pdftotext`).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use hoso_commands::testkit::{HOSPITAL, Province, d, doc, f};
use hoso_commands::workflows::{Declare, RecordDecision, Review};
use hoso_domain::dossier::StateDecision;
use reqwest::StatusCode;

use crate::support::node::Node;

const PROFILE: &str = "binh-thuan";
const PID: &str = "033190001234";

struct Printed {
    node: Node,
    id: String,
    focal: String,
    outsider: String,
}

/// A hospital employee's dossier approved on 2 March 2026 with its training
/// and career, and a salary decision recorded on 3 March, effective
/// 1 February.
async fn printed() -> Printed {
    let p = Province::new(PROFILE, d(2026, 3, 2)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    p.declare_basics(&p.health_focal, &id, PID).await;
    let declare = |section: &str, fields| Declare::new(&id, section, fields);
    for (section, fields) in [
        (
            "training",
            vec![
                f("27.c1", "Trường Đại học Y Dược Huế", 1),
                f("27.c2", "Điều dưỡng", 1),
                f("27.c3", "09/2008 - 06/2012", 1),
                f("27.c4", "Chính quy", 1),
                f("27.c5", "Cử nhân", 1),
            ],
        ),
        (
            "career",
            vec![
                f("28.c1", "07/2012 - 12/2025", 1),
                f("28.c2", "Điều dưỡng viên, Bệnh viện đa khoa tỉnh", 1),
                f("28.c1", "01/2026 - nay", 2),
                f("28.c2", "Điều dưỡng trưởng khoa Hồi sức tích cực", 2),
            ],
        ),
    ] {
        p.wf.declare(&p.health_focal, declare(section, fields))
            .await
            .unwrap();
    }
    p.wf.review(&p.health_focal, Review::verify(&id, "khớp hồ sơ gốc"))
        .await
        .unwrap();
    p.wf.review(&p.health_focal, Review::lock(&id))
        .await
        .unwrap();
    p.sign(&p.health_head, &id).await.unwrap();
    p.set_today(d(2026, 3, 3));
    p.wf.record_decision(
        &p.health_focal,
        RecordDecision {
            dossier_id: id.clone(),
            decision: StateDecision::Salary {
                rank_code: "V.08.05.12".into(),
                step: 3,
                coefficient_x100: 300,
                salary_group: "A1".into(),
            },
            effective: d(2026, 2, 1),
            document: doc("45/QĐ-SYT", d(2026, 3, 2)),
        },
    )
    .await
    .unwrap();
    let Province {
        dir,
        store,
        wf,
        health_focal,
        education_focal,
        ..
    } = p;
    let path = dir.path().to_path_buf();
    let node = Node::start(&path, Arc::new(wf), &store, Some(dir)).await;
    let focal = node.session(&health_focal.account_id);
    let outsider = node.session(&education_focal.account_id);
    Printed {
        node,
        id,
        focal,
        outsider,
    }
}

/// The PDF's text as `pdftotext -layout` reads it, each line's words joined
/// by one space and blank lines dropped, the dossier's id (new every run)
/// as `<id>`.
fn text_of(pdf: &[u8], id: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resume.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "pdftotext could not be run ({e}): install poppler-utils \
                 (apt-get install -y poppler-utils) to run the résumé tests"
            )
        });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .replace(id, "<id>")
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .map(|l| l + "\n")
        .collect()
}

fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn the_2c_resume_is_served_as_a_pdf_with_the_golden_text() {
    let t = printed().await;
    let a = t
        .node
        .get(
            &format!("/api/v1/dossiers/{}/resume?form=2c", t.id),
            &t.focal,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.content_type, "application/pdf");
    assert!(a.bytes.starts_with(b"%PDF-"));
    let text = text_of(&a.bytes, &t.id);
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/resume-2c.txt");
    if std::env::var_os("HOSO_UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &text).unwrap();
    }
    assert_eq!(text, std::fs::read_to_string(&golden).unwrap());
    // The default form is the classic one; the other variant is served too.
    let default = t
        .node
        .get(&format!("/api/v1/dossiers/{}/resume", t.id), &t.focal)
        .await;
    assert_eq!(text_of(&default.bytes, &t.id), text);
    let tt06 = t
        .node
        .get(
            &format!("/api/v1/dossiers/{}/resume?form=tt06", t.id),
            &t.focal,
        )
        .await;
    assert_eq!(tt06.status, StatusCode::OK);
    let tt06 = flat(&text_of(&tt06.bytes, &t.id));
    assert!(tt06.contains("Mẫu 2C (Thông tư 06/2023/TT-BNV)"), "{tt06}");
    assert!(tt06.contains("II. QUÁ TRÌNH CÔNG TÁC TỪ KHI ĐƯỢC TUYỂN DỤNG ĐẾN NAY"));
    assert!(tt06.contains("Điều dưỡng trưởng khoa Hồi sức tích cực"));
}

#[tokio::test]
async fn the_resume_honours_as_of_and_known_at() {
    let t = printed().await;
    let get = |query: &str| {
        let path = format!("/api/v1/dossiers/{}/resume?{query}", t.id);
        let (node, token) = (&t.node, &t.focal);
        async move { node.get(&path, token).await }
    };
    let now = flat(&text_of(&get("form=2c").await.bytes, &t.id));
    assert!(
        now.contains("Bậc lương: 3; Hệ số: 3,00; Ngày hưởng: 01/02/2026"),
        "{now}"
    );
    // Before its effective date the decision is not yet law.
    let january = get("form=2c&as_of=2026-01-15").await;
    assert_eq!(january.status, StatusCode::OK);
    let january = flat(&text_of(&january.bytes, &t.id));
    assert!(!january.contains("3,00"), "{january}");
    assert!(
        january.contains("Bậc lương: ; Hệ số: ; Ngày hưởng:"),
        "{january}"
    );
    assert!(january.contains("Theo hiệu lực ngày 15/01/2026"));
    // As known at the end of 2 March, the approved dossier without the
    // decision recorded on the 3rd.
    let known = get("form=2c&known_at=2026-03-02").await;
    assert_eq!(known.status, StatusCode::OK);
    let known = flat(&text_of(&known.bytes, &t.id));
    assert!(
        known.contains("Điều dưỡng trưởng khoa Hồi sức tích cực"),
        "{known}"
    );
    assert!(!known.contains("3,00"), "{known}");
    assert!(known.contains("dữ liệu đến ngày 02/03/2026"), "{known}");
    // The day before it was opened, the dossier did not exist.
    let before = get("form=tt06&known_at=2026-03-01").await;
    assert_eq!(before.status, StatusCode::NOT_FOUND, "{}", before.body);
}

#[tokio::test]
async fn the_resume_is_refused_to_a_caller_without_access_and_logs_restricted_reads() {
    let t = printed().await;
    let path = format!("/api/v1/dossiers/{}/resume?form=2c", t.id);
    let refused = t.node.get(&path, &t.outsider).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!(refused.body["type"], "urn:hoso:problem:request:not-found");
    // The same answer as for a dossier that does not exist.
    let missing = t
        .node
        .get(
            "/api/v1/dossiers/0190b5c2-7d1e-7a3f-9c4d-2e6f8a1b3c5d/resume",
            &t.focal,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(refused.body["detail"], missing.body["detail"]);
    // An unknown variant names the valid ones, before anything is read.
    let bad = t
        .node
        .get(
            &format!("/api/v1/dossiers/{}/resume?form=2C-BNV", t.id),
            &t.focal,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["type"], "urn:hoso:problem:request:invalid-value");
    assert_eq!(
        bad.body["detail"],
        "form: unknown value \"2C-BNV\"; valid values: 2c, tt06"
    );
    // The focal point's print revealed the restricted identification number:
    // logged on its account stream like a JSON read, with the print as purpose.
    let printed = t.node.get(&path, &t.focal).await;
    assert_eq!(printed.status, StatusCode::OK);
    let store = t.node.state.workflows.store();
    let logged = store
        .read_all(0, usize::MAX)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event_type == "dossier.AccessLogged")
        .filter(|e| {
            e.payload.windows(9).any(|w| w == b"resume:2c")
                && e.payload.windows(t.id.len()).any(|w| w == t.id.as_bytes())
        })
        .count();
    assert_eq!(logged, 1);
}
