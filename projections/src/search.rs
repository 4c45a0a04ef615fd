//! Searching dossiers by any combination of criteria.
//!
//! Names are matched folded (lower case, no tone or vowel marks, `đ` as
//! `d`), word by word, each query word the start of a word of the name, so
//! `nguyen van an` and `nguyen an` both find `Nguyễn Văn An`. Results come in a
//! stable order (folded name, then id) with keyset pagination: the cursor
//! of a page names the last hit, so pages never skip or repeat a dossier
//! while others are added. The archive (people who left) is searched only
//! when asked for, never mixed into the active register.

use chrono::{Datelike, NaiveDate};
use hoso_domain::review::ReviewState;
use hoso_domain::text::fold;
use rusqlite::Connection;
use rusqlite::types::Value;
use serde::{Deserialize, Serialize};

use crate::{ProjectionError, ReadModel};

/// Largest page.
pub const MAX_LIMIT: usize = 500;

/// Search criteria; every one given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Part of the name, diacritics optional.
    pub name: Option<String>,
    /// Person key of an exact identification number (the keyed hash the
    /// caller computes: the read model holds no number in clear).
    pub person_key: Option<String>,
    /// Root of a unit subtree (managing or employing unit within it).
    pub unit: Option<String>,
    /// Category, as its catalogue number.
    pub category: Option<i32>,
    /// Rank or title code.
    pub rank_code: Option<String>,
    /// Part of the rank or title name, diacritics optional.
    pub title: Option<String>,
    /// Part of the job position.
    pub job_position: Option<String>,
    /// Employment status number.
    pub status: Option<i32>,
    /// Youngest age (this year).
    pub age_min: Option<u32>,
    /// Oldest age (this year).
    pub age_max: Option<u32>,
    /// Part of the highest qualification.
    pub qualification: Option<String>,
    /// Party membership.
    pub party_member: Option<bool>,
    /// Where the dossier stands in its review cycle (the reviewer's and the
    /// head's queues).
    pub workflow: Option<ReviewState>,
    /// Search the archive instead of the active register.
    #[serde(default)]
    pub archived: bool,
    /// Page size (default 50, at most [`MAX_LIMIT`]).
    pub limit: Option<usize>,
    /// Cursor from the previous page.
    pub after: Option<String>,
}

/// One hit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchHit {
    /// Dossier id.
    pub id: String,
    /// Identification number: empty from the read model, which holds none
    /// in clear; the API fills it in when the caller searched by it.
    pub person_id: String,
    /// Name.
    pub full_name: String,
    /// Category number.
    pub category: i32,
    /// Managing unit.
    pub managing_unit: String,
    /// Employing unit.
    pub employing_unit: String,
    /// Status number.
    pub status: i32,
    /// Review cycle.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub workflow: ReviewState,
    /// Rank or title code.
    pub rank_code: Option<String>,
    /// Rank or title name.
    pub rank_name: Option<String>,
    /// Job position.
    pub job_position: Option<String>,
    /// Year of birth.
    pub birth_year: Option<i64>,
}

/// A page of hits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchPage {
    /// Hits in (folded name, id) order.
    pub items: Vec<SearchHit>,
    /// Cursor of the next page, if there may be one.
    pub next: Option<String>,
}

fn cursor(name_folded: &str, id: &str) -> String {
    hex::encode(format!("{name_folded}\u{1f}{id}"))
}

fn parse_cursor(c: &str) -> Result<(String, String), ProjectionError> {
    let bad = || ProjectionError::BadQuery(format!("bad cursor {c:?}"));
    let bytes = hex::decode(c).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (name, id) = text.split_once('\u{1f}').ok_or_else(bad)?;
    Ok((name.to_owned(), id.to_owned()))
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn like(s: &str) -> String {
    format!("%{}%", escape_like(s))
}

/// The query's SQL and its arguments, built one `AND` clause at a time.
struct Filter {
    sql: String,
    args: Vec<Value>,
}

impl Filter {
    fn and(&mut self, clause: &str, v: Value) {
        self.sql.push_str(" AND ");
        self.sql.push_str(clause);
        self.args.push(v);
    }

    /// The clauses on the summary's own columns, and the page cursor.
    fn columns(&mut self, q: &SearchQuery, today: NaiveDate) -> Result<(), ProjectionError> {
        if let Some(name) = &q.name {
            // Every word must begin a word of the name, in any order:
            // "nguyen an" finds "Nguyễn Văn An" (and "Nguyễn Thị Anh").
            for word in fold(name).split_whitespace() {
                self.and(
                    "(' ' || name_folded) LIKE ? ESCAPE '\\'",
                    Value::Text(format!("% {}%", escape_like(word))),
                );
            }
        }
        if let Some(key) = &q.person_key {
            self.and("person_key = ?", Value::Text(key.clone()));
        }
        if let Some(c) = q.category {
            self.and("category = ?", Value::Integer(i64::from(c)));
        }
        if let Some(r) = &q.rank_code {
            self.and("rank_code = ?", Value::Text(r.clone()));
        }
        if let Some(s) = q.status {
            self.and("status = ?", Value::Integer(i64::from(s)));
        }
        if let Some(p) = &q.job_position {
            self.and("job_position LIKE ? ESCAPE '\\'", Value::Text(like(p)));
        }
        if let Some(p) = &q.qualification {
            self.and("qualification LIKE ? ESCAPE '\\'", Value::Text(like(p)));
        }
        if let Some(p) = q.party_member {
            self.and("party_member = ?", Value::Integer(i64::from(p)));
        }
        if let Some(w) = q.workflow {
            // The column holds the state's one name (`ReviewState::as_str`).
            self.and("workflow = ?", Value::Text(w.as_str().to_owned()));
        }
        if let Some(min) = q.age_min {
            let born_by = i64::from(today.year()) - i64::from(min);
            self.and("birth_year <= ?", Value::Integer(born_by));
        }
        if let Some(max) = q.age_max {
            let born_from = i64::from(today.year()) - i64::from(max);
            self.and("birth_year >= ?", Value::Integer(born_from));
        }
        if let Some(after) = &q.after {
            let (name, id) = parse_cursor(after)?;
            self.sql.push_str(" AND (name_folded, id) > (?, ?)");
            self.args.push(Value::Text(name));
            self.args.push(Value::Text(id));
        }
        Ok(())
    }
}

/// Reads one page of hits, filtering titles folded.
fn read_page(
    conn: &Connection,
    f: &Filter,
    title: Option<&str>,
    limit: usize,
) -> Result<SearchPage, ProjectionError> {
    let mut stmt = conn.prepare_cached(&f.sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(f.args.iter()))?;
    let mut items = Vec::new();
    let mut last = None;
    while let Some(r) = rows.next()? {
        let rank_name: Option<String> = r.get(9)?;
        // Titles are matched folded, which SQL cannot do on its own.
        if let Some(t) = title
            && !rank_name
                .as_deref()
                .map(fold)
                .is_some_and(|n| n.contains(t))
        {
            continue;
        }
        let hit = SearchHit {
            id: r.get(0)?,
            // Never stored in clear: the API fills it in for a caller who
            // searched by the number.
            person_id: String::new(),
            full_name: r.get(2)?,
            category: r.get(3)?,
            managing_unit: r.get(4)?,
            employing_unit: r.get(5)?,
            status: r.get(6)?,
            workflow: crate::schema::review_state_column(r, 7)?,
            rank_code: r.get(8)?,
            rank_name,
            job_position: r.get(10)?,
            birth_year: r.get(11)?,
        };
        last = Some(cursor(&r.get::<_, String>(12)?, &hit.id));
        items.push(hit);
        if items.len() == limit {
            break;
        }
    }
    let next = if items.len() == limit { last } else { None };
    Ok(SearchPage { items, next })
}

impl ReadModel {
    /// Runs a search.
    pub fn search(&self, q: &SearchQuery) -> Result<SearchPage, ProjectionError> {
        let limit = q.limit.unwrap_or(50).clamp(1, MAX_LIMIT);
        let today = self.today();
        let mut f = Filter {
            sql: String::from(
                "SELECT id, person_key, full_name, category, managing_unit, employing_unit, status,
                    workflow, rank_code, rank_name, job_position, birth_year, name_folded
             FROM dossiers WHERE archived = ?",
            ),
            args: vec![Value::Integer(i64::from(q.archived))],
        };
        f.columns(q, today)?;
        if let Some(unit) = &q.unit {
            let units = self.subtree(unit, today)?;
            if units.is_empty() {
                return Err(ProjectionError::BadQuery(format!(
                    "unit {unit} does not exist on {today}"
                )));
            }
            let marks = vec!["?"; units.len()].join(",");
            f.sql.push_str(&format!(
                " AND (managing_unit IN ({marks}) OR employing_unit IN ({marks}))"
            ));
            for _ in 0..2 {
                f.args.extend(units.iter().cloned().map(Value::Text));
            }
        }
        let title = q.title.as_deref().map(fold);
        f.sql.push_str(" ORDER BY name_folded, id");
        let mut page = self.with_reader(|conn| read_page(conn, &f, title.as_deref(), limit))?;
        // A hit shows the unit that holds the person today (DL 5.5), as the
        // dossier itself does.
        self.with_org(|org| {
            for hit in &mut page.items {
                hit.managing_unit = org.holder_at(&hit.managing_unit, today);
                hit.employing_unit = org.holder_at(&hit.employing_unit, today);
            }
        })?;
        Ok(page)
    }
}
