//! Input that must never reach the log (issue 14): against one `hoso serve`, every
//! write route the served OpenAPI document lists gets plausible bodies built from
//! its schema in which each string in turn carries a malformed value — NUL,
//! U+202E, zero-width characters, a lone combining mark, BEL/ESC/CRLF, 230 KB of
//! text, and negative or zero years where the field is a date. No answer may be a
//! 5xx, every refusal is `application/problem+json`, and the log holds no new
//! event but the sealer's own tree heads. Also: a decomposed (NFD) name is found
//! by its composed and its unaccented spelling, refused usernames are 4xx
//! problems, and a 100 KB query string is a 414 problem on a connection that
//! keeps serving.
//!
//! On the real server: the edge under test is the binary's listener and
//! extractors as shipped, and the log is read from the data directory it wrote.

use crate::support;
use crate::support::api::{Client, HEALTH, ROOT, decision};

use hoso_ledger::{EventStore, SqliteStore};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};
use reqwest::StatusCode;
use serde_json::{Value, json};

const ISSUED: &str = "Mot-Lan#2026!Kh";
const CHOSEN: &str = "Cua-Toi#2026!y";

/// Malformed text, each with what it is.
fn text_corpus() -> Vec<(&'static str, String)> {
    vec![
        ("NUL", "An\u{0}h".to_owned()),
        ("U+202E", "An\u{202E}hgn".to_owned()),
        ("zero-width space", "An\u{200B}h".to_owned()),
        ("zero-width joiner", "A\u{200D}nh".to_owned()),
        ("BOM", "\u{FEFF}Anh".to_owned()),
        ("lone combining mark", "\u{0301}Anh".to_owned()),
        ("BEL", "An\u{7}h".to_owned()),
        ("ESC", "\u{1b}[31mAnh".to_owned()),
        ("CRLF", "An\r\nh".to_owned()),
        ("230 KB", "x".repeat(230 * 1024)),
    ]
}

fn date_corpus() -> Vec<(&'static str, String)> {
    vec![
        ("negative year", "-2026-01-05".to_owned()),
        ("year zero", "0000-01-01".to_owned()),
        ("year 1899", "1899-12-31".to_owned()),
        ("five-digit year", "+12026-01-05".to_owned()),
    ]
}

/// How many generated values the property phase sends.
const GENERATED_CASES: usize = 300;

/// A generated malformed value and what it hides: ordinary text around one
/// code point from a class the input rules refuse, or a date whose year is
/// out of range.
fn generated_malformed() -> impl Strategy<Value = (String, String)> {
    let forbidden = prop_oneof![
        (0x00u32..0x20).prop_filter("not a tab or line feed", |c| *c != 0x09 && *c != 0x0A),
        0x7Fu32..0xA0,
        0x202Au32..=0x202E,
        0x2066u32..=0x2069,
        prop_oneof![Just(0x200Eu32), Just(0x200F), Just(0x061C)],
        prop_oneof![0x200Bu32..=0x200D, 0x2060u32..=0x2064, Just(0xFEFF)],
        0xFDD0u32..=0xFDEF,
        0xE000u32..=0xF8FF,
    ]
    .prop_filter_map("a scalar value", char::from_u32);
    let text = "[A-Za-zĂăÂâĐđÊêÔôƠơƯưàảãáạềểễếệ ]{0,12}";
    let hidden = (text, forbidden, text)
        .prop_map(|(a, c, b)| (format!("U+{:04X}", u32::from(c)), format!("{a}{c}{b}")));
    let lone_mark = (0x0300u32..=0x036F, text).prop_filter_map("a scalar value", |(m, b)| {
        char::from_u32(m).map(|m| (format!("leading U+{:04X}", u32::from(m)), format!("{m}{b}")))
    });
    prop_oneof![6 => hidden, 1 => lone_mark]
}

/// A date whose year the rules refuse (only where a date is expected: as
/// other text it is just text).
fn generated_bad_date() -> impl Strategy<Value = (String, String)> {
    prop_oneof![-9999i32..1900, 2101i32..9999]
        .prop_map(|y| ("year out of range".to_owned(), format!("{y:04}-06-15")))
}

/// The served binary and a client of it; [`Server::raw`] reads an answer
/// raw, for the tests to judge it.
struct Server {
    api: Client,
    _served: support::Served,
}

impl std::ops::Deref for Server {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.api
    }
}

impl Server {
    /// An answer as received: status, content type and body (JSON, or its text).
    async fn raw(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> (StatusCode, String, Value) {
        let mut rq = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            rq = rq.json(b);
        }
        let r = rq.send().await.unwrap();
        let status = r.status();
        let ctype = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, ctype, body)
    }
}

/// `hoso init` and `hoso serve`; the administrator's session; a province with one
/// department, a specialist who may update it, and a dossier there.
struct Province {
    s: Server,
    data: std::path::PathBuf,
    _dir: tempfile::TempDir,
    admin: String,
    focal: String,
    focal_id: String,
    dossier: String,
}

async fn province() -> Province {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    support::init(&data, ISSUED);
    let served = support::serve(&data);
    let s = Server {
        api: Client::new(served.base.clone()),
        _served: served,
    };
    let admin = s.first_login("snv.admin", ISSUED, CHOSEN).await;
    s.health_department(&admin).await;
    let (focal_id, focal) = s
        .staff(&admin, "specialist", "yte.tochuc", HEALTH, "update", CHOSEN)
        .await;
    let dossier = s
        .open_dossier(&focal, "001090001234", "Trần Thị Bình")
        .await;
    Province {
        s,
        data,
        _dir: dir,
        admin,
        focal,
        focal_id,
        dossier,
    }
}

/// The schema `schema` points to, following `$ref`s into the document.
fn resolve<'a>(doc: &'a Value, mut schema: &'a Value) -> &'a Value {
    while let Some(r) = schema["$ref"].as_str() {
        let mut at = doc;
        for part in r.trim_start_matches("#/").split('/') {
            at = &at[part];
        }
        schema = at;
    }
    schema
}

/// Whether `schema` allows `type_` (OpenAPI 3.1 writes optional values as a type
/// list with `null`).
fn allows(schema: &Value, type_: &str) -> bool {
    match &schema["type"] {
        Value::String(t) => t == type_,
        Value::Array(ts) => ts.iter().any(|t| t == type_),
        _ => false,
    }
}

/// A plausible value of `schema`: every property present, the first of every
/// choice, dates as dates.
fn example(doc: &Value, schema: &Value) -> Value {
    let schema = resolve(doc, schema);
    for choice in ["oneOf", "anyOf"] {
        if let Some(first) = schema[choice]
            .as_array()
            .and_then(|c| c.iter().find(|s| resolve(doc, s)["type"] != "null"))
        {
            return example(doc, first);
        }
    }
    if let Some(all) = schema["allOf"].as_array() {
        let mut merged = serde_json::Map::new();
        for part in all {
            if let Value::Object(o) = example(doc, part) {
                merged.extend(o);
            }
        }
        return Value::Object(merged);
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    if allows(schema, "object") || schema["properties"].is_object() {
        let mut o = serde_json::Map::new();
        if let Some(props) = schema["properties"].as_object() {
            for (name, p) in props {
                o.insert(name.clone(), example(doc, p));
            }
        }
        return Value::Object(o);
    }
    if allows(schema, "array") {
        return json!([example(doc, &schema["items"])]);
    }
    if allows(schema, "string") {
        return match schema["format"].as_str() {
            Some("date") => json!("2026-01-05"),
            Some("uuid") => json!("00000000-0000-7000-8000-000000000000"),
            _ => json!("Văn bản"),
        };
    }
    if allows(schema, "integer") || allows(schema, "number") {
        return json!(1);
    }
    if allows(schema, "boolean") {
        return json!(false);
    }
    Value::Null
}

/// What the schema cannot say: values that make a route's body one the server
/// accepts, so that each malformed string is the only thing wrong with it.
fn plausible(method: &str, template: &str) -> Value {
    match (method, template) {
        ("post", "/api/v1/accounts") => json!({"kind": "specialist", "username": "moi.nhanvien",
            "org_code": HEALTH, "display_name": "Nhân viên mới", "person_id": null,
            "birth_date": null, "inspection": null}),
        ("post", "/api/v1/accounts/{id}/changes") => json!({"action": "grant",
            "org_code": ROOT, "right": "access", "reason": "phân công", "decision": null}),
        ("post", "/api/v1/accounts/{id}/password") => json!({"password": "Cap-Khac#2026!z"}),
        ("post", "/api/v1/dossiers") => json!({"id": null, "person_id": "001090007777",
            "full_name": "Lê Văn Cường", "birth_date": "1990-05-17", "category": "cong_chuc",
            "managing_unit": HEALTH, "employing_unit": HEALTH, "recruited_on": "2026-01-05",
            "decision": decision("1/QĐ-UBND")}),
        ("post", "/api/v1/dossiers/{id}/declarations") => json!({"section": "residence",
            "fields": [{"field": "8", "row": 0, "value": "Hưng Yên"}], "attachments": [],
            "occurred_on": null}),
        ("post", "/api/v1/org-units") => {
            json!({"code": "000.09.00.H33", "decision": decision("1/QĐ-UBND"),
            "change": {"action": "establish", "name": "Sở Tư pháp",
                       "kind": "provincial_department", "parent": ROOT,
                       "effective": "2026-01-05"}})
        }
        ("post", "/api/v1/sessions") => json!({"username": "yte.tochuc", "password": CHOSEN}),
        _ => json!({}),
    }
}

/// Routes whose plausible body the server must accept as is.
const ACCEPTED_AS_IS: &[&str] = &[
    "/api/v1/accounts",
    "/api/v1/accounts/{id}/changes",
    "/api/v1/accounts/{id}/password",
    "/api/v1/dossiers",
    "/api/v1/dossiers/{id}/declarations",
    "/api/v1/org-units",
    "/api/v1/sessions",
];

/// JSON pointers of every string in `value`, with whether it is a date there.
fn strings(value: &Value, pointer: &str, out: &mut Vec<(String, bool)>) {
    match value {
        Value::String(s) => out.push((pointer.to_owned(), s.parse::<chrono::NaiveDate>().is_ok())),
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                strings(v, &format!("{pointer}/{i}"), out);
            }
        }
        Value::Object(members) => {
            for (k, v) in members {
                strings(v, &format!("{pointer}/{k}"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_malformed_string_or_date_reaches_the_log_through_any_write_route() {
    let p = province().await;
    let s = &p.s;
    let doc: Value = s
        .http
        .get(format!("{}/api/v1/openapi.json", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let before = s.log_position(&p.admin).await;

    let mut sent = 0usize;
    let mut routes = 0usize;
    let mut as_is = Vec::new();
    let mut bodies = Vec::new();
    for (template, ops) in doc["paths"].as_object().unwrap() {
        for method in ["post", "put", "patch", "delete"] {
            let op = &ops[method];
            if op.is_null() {
                continue;
            }
            let Some(schema) = op["requestBody"]["content"]["application/json"].get("schema")
            else {
                // Uploads (raw bytes) and logout carry no JSON strings.
                continue;
            };
            routes += 1;
            let (path, token) = if template.starts_with("/api/v1/dossiers") {
                (template.replace("{id}", &p.dossier), &p.focal)
            } else {
                (template.replace("{id}", &p.focal_id), &p.admin)
            };
            let mut body = example(&doc, schema);
            if let Value::Object(fixed) = plausible(method, template) {
                body.as_object_mut().unwrap().extend(fixed);
            }
            let mut leaves = Vec::new();
            strings(&body, "", &mut leaves);
            assert!(
                !leaves.is_empty(),
                "{method} {template}: no string in {body}"
            );
            let method = method.to_uppercase();
            for (pointer, is_date) in &leaves {
                let mut corpus = text_corpus();
                if *is_date {
                    corpus.extend(date_corpus());
                }
                for (what, bad) in corpus {
                    let mut sent_body = body.clone();
                    *sent_body.pointer_mut(pointer).unwrap() = Value::String(bad);
                    let (status, ctype, answer) =
                        s.raw(&method, &path, token, Some(&sent_body)).await;
                    let case = format!("{method} {template} {pointer} = {what}");
                    assert!(status.as_u16() < 500, "{case}: {status} {answer}");
                    assert!(!status.is_success(), "{case} was accepted: {answer}");
                    assert_eq!(ctype, "application/problem+json", "{case}: {answer}");
                    // Refused by the input rules themselves, not by chance
                    // elsewhere in a body that was otherwise wrong.
                    assert!(
                        answer["type"]
                            .as_str()
                            .is_some_and(|t| t.starts_with("urn:hoso:problem:input:")),
                        "{case}: {answer}"
                    );
                    sent += 1;
                }
            }
            if ACCEPTED_AS_IS.contains(&template.as_str()) {
                as_is.push((method.clone(), path.clone(), token.clone(), body.clone()));
            }
            bodies.push((
                method.clone(),
                path.clone(),
                token.clone(),
                body.clone(),
                leaves.clone(),
            ));
            // The same corpus as a path segment.
            if template.contains("{id}") {
                for (what, bad) in text_corpus().into_iter().filter(|(_, b)| b.len() < 100) {
                    let encoded: String = bad.bytes().map(|b| format!("%{b:02X}")).collect();
                    let path = template.replace("{id}", &encoded);
                    let (status, ctype, answer) = s.raw(&method, &path, token, Some(&body)).await;
                    let case = format!("{method} {template} {{id}} = {what}");
                    assert!(status.is_client_error(), "{case}: {status} {answer}");
                    assert_eq!(ctype, "application/problem+json", "{case}: {answer}");
                    assert!(
                        answer["type"]
                            .as_str()
                            .is_some_and(|t| t.starts_with("urn:hoso:problem:input:")),
                        "{case}: {answer}"
                    );
                    sent += 1;
                }
            }
        }
    }
    assert!(routes >= 10, "{routes} write routes");
    assert!(sent > 500, "{sent}");

    // Beyond the fixed corpus: generated values, each hiding one forbidden
    // code point (of any class the rules name) in ordinary Vietnamese text, or
    // an out-of-range year, at a random string of a random write route.
    let mut runner = TestRunner::new_with_rng(
        proptest::test_runner::Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let cases = (
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        generated_malformed(),
        generated_bad_date(),
        any::<bool>(),
    );
    for _ in 0..GENERATED_CASES {
        let (route, leaf, text, date, prefer_date) = cases.new_tree(&mut runner).unwrap().current();
        let (method, path, token, body, leaves) = route.get(&bodies);
        let (pointer, is_date) = leaf.get(leaves);
        let (what, bad) = if *is_date && prefer_date { date } else { text };
        let mut sent_body = body.clone();
        *sent_body.pointer_mut(pointer).unwrap() = Value::String(bad.clone());
        let (status, ctype, answer) = s.raw(method, path, token, Some(&sent_body)).await;
        let case = format!("{method} {path} {pointer} = {what} {bad:?}");
        assert!(status.as_u16() < 500, "{case}: {status} {answer}");
        assert!(!status.is_success(), "{case} was accepted: {answer}");
        assert_eq!(ctype, "application/problem+json", "{case}: {answer}");
        assert!(
            answer["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("urn:hoso:problem:input:")),
            "{case}: {answer}"
        );
    }

    // Nothing was written but what the sealer signs on its own schedule.
    let after = s.log_position(&p.admin).await;
    let store = SqliteStore::open_read_only(&p.data).unwrap();
    let new = store
        .read_all(before, usize::try_from(after - before).unwrap())
        .await
        .unwrap();
    let written: Vec<_> = new
        .iter()
        .filter(|e| e.stream != "ledger-checkpoints")
        .map(|e| format!("{} {} in {}", e.position, e.event_type, e.stream))
        .collect();
    assert_eq!(written, Vec::<String>::new());

    // The same bodies with no malformed string in them are accepted: what was
    // refused above was the malformed value and nothing else.
    assert_eq!(as_is.len(), ACCEPTED_AS_IS.len());
    // Issuing a password ends the account's sessions (the specialist's): last.
    as_is.sort_by_key(|(_, path, _, _)| path.ends_with("/password"));
    for (method, path, token, body) in &as_is {
        let (status, _, answer) = s.raw(method, path, token, Some(body)).await;
        assert!(
            status.is_success(),
            "{method} {path} {body}: {status} {answer}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decomposed_name_is_stored_composed_and_found_by_every_spelling() {
    let p = province().await;
    let s = &p.s;
    let nfd = "Nguye\u{0302}\u{0303}n Va\u{0306}n \u{0110}u\u{031B}\u{0301}c";
    let id = s.open_dossier(&p.focal, "001090004321", nfd).await;
    let at = s.log_position(&p.admin).await - 1;
    for query in [nfd, "Nguyễn Văn Đức", "nguyen van duc", "NGUYEN DUC"] {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/api/v1/dossiers", s.base),
            &[("name", query), ("wait_for", &at.to_string())],
        )
        .unwrap();
        let r = s.http.get(url).bearer_auth(&p.focal).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{query:?}");
        let page: Value = r.json().await.unwrap();
        let hits: Vec<&Value> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["id"] == id.as_str())
            .collect();
        assert_eq!(hits.len(), 1, "{query:?}: {page}");
        assert_eq!(hits[0]["full_name"], "Nguyễn Văn Đức");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_usernames_and_a_100_kb_query_string_are_problems() {
    let p = province().await;
    let s = &p.s;
    for (username, rule) in [
        ("an\u{0}nv".to_owned(), "control-character"),
        ("a".repeat(100_000), "too-long"),
    ] {
        let (status, ctype, body) = s
            .raw(
                "POST",
                "/api/v1/accounts",
                &p.admin,
                Some(
                    &json!({"kind": "specialist", "username": username, "org_code": HEALTH,
                             "display_name": "X"}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(ctype, "application/problem+json");
        assert_eq!(body["type"], format!("urn:hoso:problem:input:{rule}"));
        assert_eq!(body["pointer"], "/username");
    }

    // One kept-alive connection (raw: an HTTP client cannot even hold a URI this
    // long): an upload body far beyond the line limit, with no line break, is a
    // body; then an ordinary request; then the 100 KB request line is refused
    // with a problem and the connection closed.
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    let upload = vec![b'%'; 100 * 1024];
    let mut rq = format!(
        "POST /api/v1/dossiers/{}/attachments HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\ncontent-length: {}\r\n\r\n",
        p.dossier,
        p.focal,
        upload.len()
    )
    .into_bytes();
    rq.extend_from_slice(&upload);
    let (status, _, _) = exchange(&mut conn, &rq);
    assert_eq!(status, 201);
    let ordinary = format!("GET /readyz HTTP/1.1\r\nhost: {addr}\r\n\r\n");
    let (status, _, _) = exchange(&mut conn, ordinary.as_bytes());
    assert_eq!(status, 200);
    let long = format!(
        "GET /api/v1/dossiers?name={} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\n\r\n",
        "a".repeat(100 * 1024),
        p.focal
    );
    let (status, head, body) = exchange(&mut conn, long.as_bytes());
    assert_eq!(status, 414, "{head}");
    assert!(
        head.contains("content-type: application/problem+json"),
        "{head}"
    );
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["type"], "urn:hoso:problem:request:uri-too-long");
    assert_eq!(body["status"], 414);
    // The server is still serving.
    let r = s
        .http
        .get(format!("{}/api/v1/dossiers", s.base))
        .bearer_auth(&p.focal)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// Writes `request` on `conn` and reads one response: status, head, body (by
/// its `content-length`).
fn exchange(conn: &mut std::net::TcpStream, request: &[u8]) -> (u16, String, Vec<u8>) {
    use std::io::{Read, Write};
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    conn.write_all(request).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed before a response");
        got.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8(got[..head_end].to_vec())
        .unwrap()
        .to_lowercase();
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap());
    while got.len() < head_end + length {
        let n = conn.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed mid-body");
        got.extend_from_slice(&buf[..n]);
    }
    (status, head, got[head_end..head_end + length].to_vec())
}

/// Numbers the document declares `int64` and years of the records: a value
/// beyond them is a 422 problem naming the parameter, not a wrap-around, a
/// 200 for year 2147483648 or a five-second wait for a position no write gave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_beyond_int64_years_beyond_the_records_and_unreached_positions_are_refused() {
    let p = province().await;
    let s = &p.s;
    let quota = format!("/api/v1/org-units/{HEALTH}/quota");
    for (query, rule, pointer) in [
        ("year=2147483648", "input:year-out-of-range", "query:year"),
        ("year=1899", "input:year-out-of-range", "query:year"),
        (
            "wait_for=9223372036854775808",
            "input:number-out-of-range",
            "query:wait_for",
        ),
    ] {
        let a = s.get(&format!("{quota}?{query}"), &p.admin).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            a.body
        );
        assert_eq!(
            a.body["type"],
            format!("urn:hoso:problem:{rule}"),
            "{query}"
        );
        assert_eq!(a.body["pointer"], pointer, "{query}");
    }
    let end = s.log_position(&p.admin).await;
    // At once, not a 503 after the server's wait bound.
    let a = s
        .get(&format!("{quota}?wait_for={}", end + 1000), &p.admin)
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(a.body["type"], "urn:hoso:problem:read:wait-beyond-log");
    assert!(
        a.body["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("next position is {end}")),
        "{}",
        a.body
    );
    // The last position written is waited for and answered.
    let ok = s
        .get(&format!("{quota}?wait_for={}", end - 1), &p.admin)
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let body = json!({"kind": "specialist", "username": "so.lon", "org_code": HEALTH,
                      "display_name": "X", "extra": 18446744073709551615u64});
    let a = s.post("/api/v1/accounts", &p.admin, body).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(a.body["type"], "urn:hoso:problem:input:number-out-of-range");
    assert_eq!(a.body["pointer"], "/extra");
}
