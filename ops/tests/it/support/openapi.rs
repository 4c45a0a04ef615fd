//! Every request the tests send and every answer they read, checked against the
//! OpenAPI document: a request the document calls invalid must be refused (4xx),
//! and every answer must have a status the operation lists, a media type that
//! status lists, and a JSON body its schema accepts. The document is the one
//! the server is built with (`hoso_api::ApiDoc`); [`super::api::Client::conforming`]
//! also checks that the served one is the same.

use std::sync::LazyLock;

use reqwest::StatusCode;
use serde_json::Value;
use utoipa::OpenApi;

static DOCUMENT: LazyLock<Value> =
    LazyLock::new(|| serde_json::to_value(hoso_api::ApiDoc::openapi()).unwrap());

/// The document the server is built with.
pub fn document() -> &'static Value {
    &DOCUMENT
}

/// Whether a document's route template (`/dossiers/{id}`) names `path`.
pub fn route_matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len() && t.iter().zip(&p).all(|(a, b)| a.starts_with('{') || a == b)
}

/// What the document says of a method and path.
pub enum Lookup<'a> {
    /// No route: the server answers 404.
    NoRoute,
    /// The route does not take the method: 405.
    NoMethod,
    /// The operation.
    Operation(&'a Value),
}

pub fn lookup(method: &str, path: &str) -> Lookup<'static> {
    let path = path.split('?').next().unwrap();
    let paths = document()["paths"].as_object().unwrap();
    // A fixed route (`/sync/batches/next`) before a templated one.
    let route = paths.get(path).or_else(|| {
        paths
            .iter()
            .find(|(template, _)| route_matches(template, path))
            .map(|(_, v)| v)
    });
    let Some(route) = route else {
        return Lookup::NoRoute;
    };
    match route.get(method.to_lowercase()) {
        Some(op) => Lookup::Operation(op),
        None => Lookup::NoMethod,
    }
}

fn schema_errors(schema: &Value, instance: &Value) -> Vec<String> {
    let mut root = schema.clone();
    if let Some(o) = root.as_object_mut() {
        o.insert("components".into(), document()["components"].clone());
    } else {
        return Vec::new();
    }
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&root)
        .unwrap_or_else(|e| panic!("a schema of the document does not compile: {e}\n{schema}"));
    validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect()
}

fn media(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

/// Why the document calls this request invalid, if it does: an undeclared
/// query parameter, a missing required one, a value its schema refuses, or a
/// JSON body its schema refuses.
pub fn request_problem(method: &str, path: &str, body: Option<&Value>) -> Option<String> {
    let Lookup::Operation(op) = lookup(method, path) else {
        return Some(format!("{method} {path} is not in the document"));
    };
    let params = op["parameters"].as_array().cloned().unwrap_or_default();
    let query: Vec<(String, String)> = match path.split_once('?') {
        Some((_, q)) => url::form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        None => Vec::new(),
    };
    for (name, value) in &query {
        let Some(p) = params
            .iter()
            .find(|p| p["in"] == "query" && p["name"] == Value::String(name.clone()))
        else {
            return Some(format!("query parameter {name} is not declared"));
        };
        // A query value is text; compare it as the type the schema wants.
        let schema = &p["schema"];
        let typed = serde_json::from_str::<Value>(value)
            .ok()
            .filter(|v| !v.is_string())
            .unwrap_or_else(|| Value::String(value.clone()));
        let errors = schema_errors(schema, &typed);
        let as_text = schema_errors(schema, &Value::String(value.clone()));
        if !errors.is_empty() && !as_text.is_empty() {
            return Some(format!("query parameter {name}={value}: {errors:?}"));
        }
    }
    for p in &params {
        let required = p["required"] == true && p["in"] == "query";
        if required
            && !query
                .iter()
                .any(|(k, _)| p["name"] == Value::String(k.clone()))
        {
            return Some(format!("required query parameter {} missing", p["name"]));
        }
    }
    let declared = &op["requestBody"]["content"];
    match body {
        Some(b) => {
            let Some(schema) = declared["application/json"]["schema"].as_object() else {
                return Some("a JSON body where the document declares none".into());
            };
            let errors = schema_errors(&Value::Object(schema.clone()), b);
            if !errors.is_empty() {
                return Some(format!("body: {errors:?}"));
            }
        }
        None => {
            if op["requestBody"]["required"] == true {
                return Some("no body where the document requires one".into());
            }
        }
    }
    None
}

/// Checks an answer against the document; `invalid` is why the request was
/// invalid by the document, if it was.
pub fn check_answer(
    method: &str,
    path: &str,
    invalid: Option<&str>,
    status: StatusCode,
    content_type: &str,
    body: &Value,
) {
    if let Some(why) = invalid {
        assert!(
            status.is_client_error(),
            "{method} {path} -> {status}, though the document calls the request invalid ({why})\n{body}"
        );
    }
    let op = match lookup(method, path) {
        Lookup::NoRoute => {
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{path} is not in the document"
            );
            return;
        }
        Lookup::NoMethod => {
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            return;
        }
        Lookup::Operation(op) => op,
    };
    let code = status.as_u16().to_string();
    let Some(resp) = op["responses"].get(&code) else {
        panic!("{method} {path}: {code} is not among the statuses the document lists\n{body}");
    };
    let Some(content) = resp["content"].as_object() else {
        assert!(
            body.is_null() || status == StatusCode::NOT_MODIFIED,
            "{method} {path} {code}: a body the document does not describe"
        );
        return;
    };
    if body.is_null() && status == StatusCode::NOT_MODIFIED {
        return;
    }
    let m = media(content_type);
    let Some(declared) = content.get(m) else {
        panic!(
            "{method} {path} {code}: {m} is not among {:?}",
            content.keys().collect::<Vec<_>>()
        );
    };
    if m.ends_with("json") {
        let errors = schema_errors(&declared["schema"], body);
        assert!(
            errors.is_empty(),
            "{method} {path} {code} does not match the document: {errors:?}\n{body}"
        );
    }
}
