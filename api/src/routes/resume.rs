//! The résumé printed as the 2C form: `GET /dossiers/{id}/resume`, a PDF of
//! the dossier as the caller may see it at `as_of` / `known_at`.
//!
//! It is made from exactly what `GET /dossiers/{id}` returns to the same
//! caller (`dossiers::visible`: the same ground of access, the same fields
//! withheld, the same access log), so a printed page never shows what the
//! JSON read would not; `hoso_print` only lays it out.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use hoso_print::{Form, Resume};
use serde::Deserialize;
use utoipa::IntoParams;

use super::dossiers::{ReadParams, visible};
use crate::AppState;
use crate::access::DossierOut;
use crate::extract::{Caller, Params, PathParams};
use crate::problem::{ApiResult, Problem};

/// Which form, and the view's dates.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ResumeParams {
    /// Form variant: `2c` (Mẫu 2C-BNV/2008, the default) or `tt06` (the 2C
    /// form of Circular 06/2023/TT-BNV).
    pub form: Option<String>,
    /// Effective date: the decisions in effect then are printed.
    pub as_of: Option<NaiveDate>,
    /// Recorded date: what the ledger knew by the end of that day.
    pub known_at: Option<NaiveDate>,
    /// Read your writes: wait for this global position.
    pub wait_for: Option<u64>,
    /// Purpose of the read, recorded with reads of restricted data
    /// (default `resume`).
    pub purpose: Option<String>,
}

/// The form variant asked for, or a 422 naming the valid ones.
fn form_of(code: Option<&str>) -> ApiResult<Form> {
    let code = code.unwrap_or(Form::Classic2C.code());
    Form::parse(code).ok_or_else(|| {
        let valid: Vec<&str> = Form::ALL.iter().map(|f| f.code()).collect();
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "request",
            "invalid-value",
            format!(
                "form: unknown value \"{code}\"; valid values: {}",
                valid.join(", ")
            ),
        )
    })
}

/// The dossier's résumé as a PDF of the 2C form, as the caller may see it
/// now or as of a date on either time axis. Fields the caller may not see
/// are printed as withheld; reads of restricted fields are logged as for
/// `GET /dossiers/{id}`.
#[utoipa::path(get, path = "/api/v1/dossiers/{id}/resume", tag = "dossiers",
    params(("id" = String, Path, description = "Dossier id (UUID)"), ResumeParams),
    responses(
        (status = 200, description = "The résumé, a PDF (A4) with its fonts embedded",
         content_type = "application/pdf"),
        (status = 400, description = "Not a dossier id, or a malformed query", body = Problem,
         content_type = "application/problem+json"),
        (status = 404, description = "No such dossier, or none the caller may see", body = Problem,
         content_type = "application/problem+json"),
        (status = 422, description = "An unknown form variant (the valid ones are named) or a malformed value",
         body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "The PDF could not be made", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub async fn resume(
    State(s): State<Arc<AppState>>,
    c: Caller,
    PathParams(id): PathParams<String>,
    Params(p): Params<ResumeParams>,
) -> ApiResult<Response> {
    let form = form_of(p.form.as_deref())?;
    let read = ReadParams {
        as_of: p.as_of,
        known_at: p.known_at,
        wait_for: p.wait_for,
        purpose: Some(
            p.purpose
                .unwrap_or_else(|| format!("resume:{}", form.code())),
        ),
    };
    let out = visible(&s, &c, &id, "GET /dossiers/{id}/resume", &read).await?;
    let on = p.as_of.unwrap_or_else(|| s.today());
    let units = s.read.tree_at(on)?;
    let name_of = |code: &str| {
        units
            .iter()
            .find(|u| u.code == code)
            .map_or_else(|| code.to_owned(), |u| format!("{} ({code})", u.name))
    };
    let managing = name_of(&out.managing_unit);
    let employing = name_of(&out.employing_unit);
    let resume = to_resume(out, managing, employing, s.today());
    let pdf = tokio::task::spawn_blocking(move || hoso_print::render(form, &resume))
        .await
        .map_err(|e| Problem::internal(&e))?
        .map_err(|e| Problem::internal(&e))?;
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    let disposition = format!("inline; filename=\"{}-{id}.pdf\"", form.code());
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok((h, pdf).into_response())
}

/// What the printer takes, from the filtered read.
fn to_resume(out: DossierOut, managing: String, employing: String, today: NaiveDate) -> Resume {
    let fields = out
        .sections
        .into_values()
        .flatten()
        .map(|f| ((f.field, f.row), f.value))
        .collect();
    Resume {
        dossier_id: out.id,
        revision: out.revision,
        full_name: out.full_name,
        person_id: out.person_id,
        managing_unit: managing,
        employing_unit: employing,
        fields,
        pending_sections: out.pending.into_keys().collect(),
        rank: out.rank,
        salary: out.salary,
        positions: out.positions,
        awards: out.awards.into_iter().map(|a| (a.form, a.year)).collect(),
        // The read always gives a list; whether it was withheld is said in
        // `access.withheld`, which the printer shows as such.
        discipline: (!out.access.withheld.iter().any(|w| w == "discipline"))
            .then_some(out.discipline),
        withheld: out.access.withheld,
        as_of: out.as_of,
        known_at: out.known_at,
        printed_on: today,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_form_names_the_valid_ones() {
        assert_eq!(form_of(None).ok(), Some(Form::Classic2C));
        assert_eq!(form_of(Some("tt06")).ok(), Some(Form::Tt06));
        let p = form_of(Some("2C-BNV")).err().and_then(|p| p.detail);
        assert_eq!(
            p.as_deref(),
            Some("form: unknown value \"2C-BNV\"; valid values: 2c, tt06")
        );
    }
}
