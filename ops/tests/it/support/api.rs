//! The API as the tests' clients drive it over HTTP. Every answer is read once
//! into an [`Answer`]; every problem is checked to be `application/problem+json`
//! with a `urn:hoso:problem:` type; a 5xx fails the test unless the client was
//! made [`Client::allowing_server_errors`]; and every request and answer is
//! checked against the OpenAPI document ([`super::openapi`]), so the document
//! cannot drift from what is served.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::openapi;

/// A request body.
pub enum Body {
    /// No body.
    None,
    /// A JSON value, encoded by the client.
    Json(Value),
    /// Bytes sent exactly as given, as `application/json`.
    Raw(Vec<u8>),
}

/// One answer, read to the end.
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub etag: Option<String>,
    /// The body's bytes as received.
    pub bytes: Vec<u8>,
    /// The body parsed as JSON when it says it is JSON; its text otherwise,
    /// `Null` when empty.
    pub body: Value,
}

impl Answer {
    /// The status and the body, for tests that judge both.
    pub fn pair(self) -> (StatusCode, Value) {
        (self.status, self.body)
    }
}

/// The province's people's committee, the root of the tests' organisation.
pub const ROOT: &str = "000.00.00.H33";
/// Sở Y tế, the department most tests work in.
pub const HEALTH: &str = "000.02.00.H33";

/// A decision as requests cite it, dated the tests' first day.
pub fn decision(number: &str) -> Value {
    json!({"number": number, "date": "2026-01-05", "issuer": "UBND tỉnh"})
}

/// A client of one server.
pub struct Client {
    /// `http://127.0.0.1:PORT`, without `/api/v1`.
    pub base: String,
    pub http: reqwest::Client,
    server_errors: bool,
}

impl Client {
    /// A client of the server at `base`.
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            base: base.into(),
            http: reqwest::Client::new(),
            server_errors: false,
        }
    }

    /// A client that first checks that the server serves, at
    /// `/api/v1/openapi.json`, the document every answer is checked against.
    pub async fn conforming(base: impl Into<String>) -> Self {
        let c = Self::new(base);
        let served: Value = c
            .http
            .get(format!("{}/api/v1/openapi.json", c.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            served == *openapi::document(),
            "the served document differs"
        );
        c
    }

    /// For tests of the answers that are 5xx by design.
    pub fn allowing_server_errors(mut self) -> Self {
        self.server_errors = true;
        self
    }

    /// The OpenAPI document.
    pub fn document(&self) -> &Value {
        openapi::document()
    }

    /// Sends a request with any extra headers.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Body,
        headers: &[(&str, &str)],
    ) -> Answer {
        let invalid = match &body {
            Body::Json(v) => openapi::request_problem(method, path, Some(v)),
            Body::Raw(bytes) => match serde_json::from_slice::<Value>(bytes) {
                Ok(v) => openapi::request_problem(method, path, Some(&v)),
                Err(e) => Some(format!("a body that is not JSON: {e}")),
            },
            Body::None => openapi::request_problem(method, path, None),
        };
        let mut rq = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(t) = token {
            rq = rq.bearer_auth(t);
        }
        rq = match body {
            Body::None => rq,
            Body::Json(v) => rq.json(&v),
            Body::Raw(bytes) => rq.header("content-type", "application/json").body(bytes),
        };
        for (name, value) in headers {
            rq = rq.header(*name, *value);
        }
        let resp = rq.send().await.unwrap();
        self.checked(method, path, invalid.as_deref(), resp).await
    }

    /// A call as a bearer of `token`; its status and body.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Body,
    ) -> (StatusCode, Value) {
        self.send(method, path, Some(token), body, &[]).await.pair()
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let body = body.map_or(Body::None, Body::Json);
        self.send(method, path, token, body, &[]).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call("GET", path, Some(token), None).await
    }

    /// A conditional read: `If-None-Match: tag` when a tag is given.
    pub async fn get_if(&self, path: &str, token: &str, tag: Option<&str>) -> Answer {
        let headers: Vec<(&str, &str)> = tag.map(|t| ("if-none-match", t)).into_iter().collect();
        self.send("GET", path, Some(token), Body::None, &headers)
            .await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call("POST", path, Some(token), Some(body)).await
    }

    /// A call that must succeed; its body.
    pub async fn ok(&self, method: &str, path: &str, token: &str, body: Value) -> Value {
        let a = self.call(method, path, Some(token), Some(body)).await;
        assert!(
            a.status.is_success(),
            "{method} {path}: {} {}",
            a.status,
            a.body
        );
        a.body
    }

    /// A read that must succeed; its body.
    pub async fn get_ok(&self, path: &str, token: &str) -> Value {
        let a = self.get(path, token).await;
        assert!(a.status.is_success(), "GET {path}: {} {}", a.status, a.body);
        a.body
    }

    /// Reads and checks an answer to a request sent some other way (a
    /// multipart or raw upload), whose request is valid by the document.
    pub async fn answer(&self, method: &str, path: &str, resp: reqwest::Response) -> Answer {
        self.checked(method, path, None, resp).await
    }

    /// Reads an answer and checks it; `invalid` is why the document calls the
    /// request invalid, if it does.
    async fn checked(
        &self,
        method: &str,
        path: &str,
        invalid: Option<&str>,
        resp: reqwest::Response,
    ) -> Answer {
        let status = resp.status();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        let etag = header("etag");
        let content_type = header("content-type").unwrap_or_default();
        let bytes = resp.bytes().await.unwrap().to_vec();
        let body = if bytes.is_empty() {
            Value::Null
        } else if content_type.contains("json") {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{method} {path}: {content_type} that is not JSON: {e}"))
        } else {
            Value::String(String::from_utf8_lossy(&bytes).into_owned())
        };
        assert!(
            self.server_errors || !status.is_server_error(),
            "{method} {path} -> {status}: {body}"
        );
        if status.is_client_error() || status.is_server_error() {
            assert_eq!(
                content_type, "application/problem+json",
                "{method} {path}: {body}"
            );
            assert!(
                body["type"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("urn:hoso:problem:")),
                "{method} {path}: {body}"
            );
            let detail = body["detail"].as_str().unwrap_or_default();
            assert!(
                rust_debug_text(detail).is_none(),
                "{method} {path}: Rust debug text {:?} in a problem: {detail}",
                rust_debug_text(detail)
            );
        }
        openapi::check_answer(method, path, invalid, status, &content_type, &body);
        Answer {
            status,
            content_type,
            etag,
            bytes,
            body,
        }
    }

    pub async fn login(&self, user: &str, password: &str) -> Answer {
        let body = json!({"username": user, "password": password});
        self.call("POST", "/api/v1/sessions", None, Some(body))
            .await
    }

    /// A session's token for a password the holder chose.
    pub async fn token(&self, user: &str, password: &str) -> String {
        let a = self.login(user, password).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        a.body["token"].as_str().unwrap().to_owned()
    }

    /// Logs in with an issued password, which allows nothing else until it is
    /// changed (BT 4.4), and changes it to `chosen`; returns the token.
    pub async fn first_login(&self, user: &str, issued: &str, chosen: &str) -> String {
        let a = self.login(user, issued).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        assert_eq!(a.body["must_change_password"], true);
        let t = a.body["token"].as_str().unwrap().to_owned();
        let blocked = self.get("/api/v1/org-units", &t).await;
        assert_eq!(blocked.status, StatusCode::FORBIDDEN);
        assert_eq!(blocked.body["citation"], "BT 4.4");
        let body = json!({"current": issued, "new": chosen});
        self.ok("POST", "/api/v1/accounts/me/password", &t, body)
            .await;
        t
    }

    /// The log's next position, as an operator sees it.
    pub async fn log_position(&self, token: &str) -> u64 {
        let h = self.get("/healthz", token).await;
        h.body["log_position"].as_u64().unwrap()
    }

    /// Uploads a scan to a dossier's attachments.
    pub async fn upload(&self, dossier: &str, token: &str, bytes: Vec<u8>) -> Answer {
        let resp = self
            .http
            .post(format!(
                "{}/api/v1/dossiers/{dossier}/attachments",
                self.base
            ))
            .bearer_auth(token)
            .body(bytes)
            .send()
            .await
            .unwrap();
        self.answer("POST", "/api/v1/dossiers/{id}/attachments", resp)
            .await
    }

    /// Establishes [`ROOT`] and [`HEALTH`] under it, by the administrator.
    pub async fn health_department(&self, admin: &str) {
        for (code, name, kind, parent) in [
            (ROOT, "UBND tỉnh", "peoples_committee_province", None),
            (HEALTH, "Sở Y tế", "provincial_department", Some(ROOT)),
        ] {
            self.ok(
                "POST",
                "/api/v1/org-units",
                admin,
                json!({"code": code, "decision": decision("1/QĐ-UBND"),
                       "change": {"action": "establish", "name": name, "kind": kind,
                                  "parent": parent, "effective": "2026-01-05"}}),
            )
            .await;
        }
    }

    /// A civil servant's dossier in [`HEALTH`], recruited on the tests' first
    /// day by decision 15/QĐ-SYT, opened by `focal`; returns its id.
    pub async fn open_dossier(&self, focal: &str, person_id: &str, full_name: &str) -> String {
        let r = self
            .ok(
                "POST",
                "/api/v1/dossiers",
                focal,
                json!({"person_id": person_id, "full_name": full_name, "birth_date": "1990-05-17",
                       "category": "cong_chuc", "managing_unit": HEALTH, "employing_unit": HEALTH,
                       "recruited_on": "2026-01-05", "decision": decision("15/QĐ-SYT")}),
            )
            .await;
        r["id"].as_str().unwrap().to_owned()
    }

    /// A staff account of `kind` (`specialist`, `agency_head`…) in `unit`,
    /// granted `right` there, whose issued password is changed to `chosen`;
    /// returns the account's id and a token.
    #[allow(clippy::too_many_arguments)]
    pub async fn staff(
        &self,
        admin: &str,
        kind: &str,
        user: &str,
        unit: &str,
        right: &str,
        chosen: &str,
    ) -> (String, String) {
        let r = self
            .ok(
                "POST",
                "/api/v1/accounts",
                admin,
                json!({"kind": kind, "username": user, "org_code": unit,
                       "display_name": format!("Cán bộ {user}")}),
            )
            .await;
        let id = r["id"].as_str().unwrap().to_owned();
        self.ok(
            "POST",
            &format!("/api/v1/accounts/{id}/changes"),
            admin,
            json!({"action": "grant", "org_code": unit, "right": right, "reason": "phân công"}),
        )
        .await;
        let issued = "Cap-Moi#2026!x";
        self.ok(
            "POST",
            &format!("/api/v1/accounts/{id}/password"),
            admin,
            json!({"password": issued}),
        )
        .await;
        let token = self.first_login(user, issued, chosen).await;
        (id, token)
    }
}

/// Text only Rust's `Debug` writes, if `detail` holds some: `Some(3)`,
/// `None`, `Exact(28)`, or a variant name in CamelCase (`HolderLeft`). A
/// problem speaks the API's spellings.
pub fn rust_debug_text(detail: &str) -> Option<String> {
    for word in detail.split(|c: char| !c.is_alphanumeric() && c != '(') {
        let bare = word.trim_end_matches('(');
        if ["Some(", "Ok(", "Err(", "Exact("]
            .iter()
            .any(|p| word.starts_with(p))
            || bare == "None"
        {
            return Some(word.to_owned());
        }
        let chars: Vec<char> = bare.chars().collect();
        let camel = chars.len() > 2
            && chars[0].is_ascii_uppercase()
            && chars
                .windows(2)
                .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase());
        if camel {
            return Some(bare.to_owned());
        }
    }
    None
}
