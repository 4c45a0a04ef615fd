//! The OpenAPI document checked as a client generator reads it: every parameter is
//! where the server looks for it, every `$ref` names a schema the document holds,
//! every error is a problem (`application/problem+json`), and uploads are binary.
//! The served answers themselves are checked against it by the HTTP tests'
//! client (`ops/tests/it/support/api.rs`).

use hoso_api::ApiDoc;
use serde_json::Value;
use utoipa::OpenApi;

fn document() -> Value {
    serde_json::to_value(ApiDoc::openapi()).unwrap()
}

/// Every operation as (method, path template, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                out.push((method.clone(), path.clone(), op.clone()));
            }
        }
    }
    out
}

fn template_names(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_owned)
        .collect()
}

#[test]
fn path_parameters_are_the_templates_and_the_rest_are_query_parameters() {
    let doc = document();
    let mut wrong = Vec::new();
    for (method, path, op) in operations(&doc) {
        let names = template_names(&path);
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        for p in &params {
            let name = p["name"].as_str().unwrap();
            match p["in"].as_str().unwrap() {
                "path" if !names.iter().any(|n| n == name) => {
                    wrong.push(format!(
                        "{method} {path}: {name} is `in: path` but not in the path"
                    ));
                }
                "path" if p["required"] != Value::Bool(true) => {
                    wrong.push(format!(
                        "{method} {path}: path parameter {name} not required"
                    ));
                }
                _ => {}
            }
        }
        for n in names {
            let declared = params
                .iter()
                .any(|p| p["name"] == Value::String(n.clone()) && p["in"] == "path");
            if !declared {
                wrong.push(format!("{method} {path}: {{{n}}} is not declared"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get("$ref") {
                out.push(r.clone());
            }
            o.values().for_each(|v| refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_reference_names_a_schema_of_the_document() {
    let doc = document();
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    let dangling: Vec<&String> = all
        .iter()
        .filter(|r| {
            let Some(pointer) = r.strip_prefix('#') else {
                return true;
            };
            doc.pointer(pointer).is_none()
        })
        .collect();
    assert!(dangling.is_empty(), "dangling references: {dangling:?}");
}

#[test]
fn every_error_is_a_problem() {
    let doc = document();
    let mut wrong = Vec::new();
    for (method, path, op) in operations(&doc) {
        for (status, resp) in op["responses"].as_object().unwrap() {
            let error = status.starts_with('4') || status.starts_with('5');
            let Some(content) = resp["content"].as_object() else {
                if error {
                    wrong.push(format!("{method} {path} {status}: no problem body"));
                }
                continue;
            };
            for media in content.keys() {
                let problem = media == "application/problem+json";
                if error != problem {
                    wrong.push(format!("{method} {path} {status}: {media}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn uploads_are_binary() {
    let doc = document();
    let mut uploads = 0;
    for (method, path, op) in operations(&doc) {
        let Some(content) = op["requestBody"]["content"].as_object() else {
            continue;
        };
        for (media, c) in content {
            if media.ends_with("json") {
                continue;
            }
            uploads += 1;
            let schema = &c["schema"];
            assert_eq!(
                schema["type"], "string",
                "{method} {path} {media}: {schema}"
            );
            assert!(
                schema["format"] == "binary" || schema["contentMediaType"].is_string(),
                "{method} {path} {media}: {schema}"
            );
        }
    }
    let attachment = &doc["paths"]["/api/v1/dossiers/{id}/attachments"]["post"]["requestBody"];
    assert!(attachment["content"].get("application/json").is_none());
    assert!(
        uploads >= 3,
        "the attachment and the bulk import's two media types"
    );
}

/// A generator names each method after its operation id, so two alike would
/// collide.
#[test]
fn the_document_is_openapi_3_1_with_every_operation_named() {
    let doc = document();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut ids = std::collections::BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(ids.insert(id.to_owned()), "{id} twice");
        assert!(
            !op["responses"].as_object().unwrap().is_empty(),
            "{method} {path}"
        );
    }
}
