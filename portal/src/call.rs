//! The portal's one way to the data: a request to the API's own router, in
//! process, as the browser's session and from the browser's address. What the
//! API refuses comes back as its problem, which the page shows in words.

use std::net::SocketAddr;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use serde::Deserialize;
use serde_json::Value;
use tower::ServiceExt;

/// Largest API answer a page reads whole (reports and histories included).
const ANSWER_LIMIT: usize = 64 * 1024 * 1024;

/// The API router, called in process.
#[derive(Clone)]
pub(crate) struct Api {
    router: Router,
}

/// Who a call is made for: the session's token (none before login) and the
/// browser's address, which the API's throttling and attempt log record.
#[derive(Debug, Clone, Default)]
pub(crate) struct As {
    pub(crate) token: Option<String>,
    pub(crate) client: Option<SocketAddr>,
}

/// The API's answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// An RFC 9457 problem as the API writes it.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Refusal {
    #[serde(rename = "type", default)]
    pub(crate) type_: String,
    #[serde(default)]
    pub(crate) status: u16,
    #[serde(default)]
    pub(crate) detail: Option<String>,
    #[serde(default)]
    pub(crate) citation: Option<String>,
}

impl Refusal {
    /// The rule's short name: `urn:hoso:problem:review:not-locked` → `review:not-locked`.
    pub(crate) fn rule(&self) -> &str {
        self.type_
            .strip_prefix("urn:hoso:problem:")
            .unwrap_or(&self.type_)
    }

    /// A failure of the portal itself (never the API's word).
    pub(crate) fn internal(what: impl std::fmt::Display) -> Self {
        Self {
            type_: "urn:hoso:problem:server:internal".into(),
            status: 500,
            detail: Some(what.to_string()),
            citation: None,
        }
    }
}

impl Reply {
    /// Whether the API did it.
    pub(crate) fn ok(&self) -> bool {
        self.status.is_success()
    }

    /// The body as JSON, or the problem the API answered.
    pub(crate) fn json(self) -> Result<Value, Refusal> {
        if !self.ok() {
            return Err(self.refusal());
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| Refusal::internal(format!("the API answered JSON we cannot read: {e}")))
    }

    /// The problem in an answer that is not a success.
    pub(crate) fn refusal(&self) -> Refusal {
        serde_json::from_slice::<Refusal>(&self.body).unwrap_or_else(|_| Refusal {
            type_: String::new(),
            status: self.status.as_u16(),
            detail: None,
            citation: None,
        })
    }
}

impl Api {
    pub(crate) fn new(router: Router) -> Self {
        Self { router }
    }

    /// One request to the API: `uri` is its path and query under `/api/v1`.
    pub(crate) async fn send(
        &self,
        who: &As,
        method: Method,
        uri: &str,
        body: Option<(&'static str, Bytes)>,
    ) -> Reply {
        let mut rq = Request::builder()
            .method(method)
            .uri(format!("/api/v1{uri}"));
        if let Some(t) = &who.token {
            rq = rq.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let (content_type, bytes) = match body {
            Some((ct, b)) => (Some(ct), b),
            None => (None, Bytes::new()),
        };
        if let Some(ct) = content_type {
            rq = rq.header(header::CONTENT_TYPE, ct);
        }
        let mut rq = match rq.body(Body::from(bytes)) {
            Ok(rq) => rq,
            Err(e) => return failed(format!("request to {uri}: {e}")),
        };
        if let Some(addr) = who.client {
            rq.extensions_mut().insert(ConnectInfo(addr));
        }
        let resp = match self.router.clone().oneshot(rq).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let status = resp.status();
        let (parts, body) = resp.into_parts();
        match axum::body::to_bytes(body, ANSWER_LIMIT).await {
            Ok(body) => Reply {
                status,
                headers: parts.headers,
                body,
            },
            Err(e) => failed(format!("reading the answer of {uri}: {e}")),
        }
    }

    /// `GET` answering JSON.
    pub(crate) async fn get(&self, who: &As, uri: &str) -> Result<Value, Refusal> {
        self.send(who, Method::GET, uri, None).await.json()
    }

    /// A JSON request answering JSON.
    pub(crate) async fn json(
        &self,
        who: &As,
        method: Method,
        uri: &str,
        body: &Value,
    ) -> Result<Value, Refusal> {
        let bytes = Bytes::from(body.to_string());
        self.send(who, method, uri, Some(("application/json", bytes)))
            .await
            .json()
    }
}

fn failed(detail: String) -> Reply {
    let body = serde_json::json!({
        "type": "urn:hoso:problem:server:internal", "title": "Internal Server Error",
        "status": 500, "detail": detail,
    });
    Reply {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        headers: HeaderMap::new(),
        body: Bytes::from(body.to_string()),
    }
}
