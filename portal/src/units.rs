//! Organisational units by their names: people know "Bệnh viện Đa khoa tỉnh",
//! not `000.04.00.H33`. A page that shows units gathers the codes it shows
//! and asks the API for their names in one call (`GET /org-units/names`, in
//! process: still one browser round trip), then shows each unit by name with
//! its code in small text beside it. A code the API does not name (or a
//! refused call) shows as the code, as before.

use std::collections::HashMap;

use maud::{Markup, html};
use serde_json::Value;

use crate::Portal;
use crate::session::Viewer;

/// Unit names by code, as the API gave them for one page.
#[derive(Debug, Default, Clone)]
pub(crate) struct Units {
    names: HashMap<String, String>,
}

impl Units {
    /// Today's names (Vietnam's date) of the units `codes`, in one call.
    pub(crate) async fn of(p: &Portal, v: &Viewer, codes: &[&str]) -> Self {
        Self::on(p, v, codes, None).await
    }

    /// [`Self::of`] on `date` (a page that shows the tree as it stood then
    /// names a unit since merged away).
    pub(crate) async fn on(
        p: &Portal,
        v: &Viewer,
        codes: &[&str],
        date: Option<chrono::NaiveDate>,
    ) -> Self {
        let mut units = Self::default();
        let mut asked: Vec<&str> = Vec::new();
        for c in codes.iter().map(|c| c.trim()) {
            if !c.is_empty() && !asked.contains(&c) {
                asked.push(c);
            }
        }
        // The API names this many per call; a page shows far fewer units.
        for chunk in asked.chunks(hoso_api::routes::org::NAMES_LIMIT) {
            let mut query = vec![("codes", chunk.join(","))];
            if let Some(d) = date {
                query.push(("date", d.to_string()));
            }
            let qs = serde_urlencoded::to_string(&query).unwrap_or_default();
            if let Ok(list) = p.api.get(&v.who, &format!("/org-units/names?{qs}")).await {
                units.add(&list);
            }
        }
        units
    }

    /// [`Self::of`] for the codes held in `field` of each of `items`.
    pub(crate) async fn of_field(p: &Portal, v: &Viewer, items: &[Value], field: &str) -> Self {
        let codes: Vec<&str> = items.iter().filter_map(|i| i[field].as_str()).collect();
        Self::of(p, v, &codes).await
    }

    /// Adds the `code`/`name` pairs of a list of units.
    pub(crate) fn add(&mut self, list: &Value) {
        self.add_nodes(list.as_array().into_iter().flatten());
    }

    /// Adds the `code`/`name` pairs of the units `nodes`.
    pub(crate) fn add_nodes<'a>(&mut self, nodes: impl IntoIterator<Item = &'a Value>) {
        for n in nodes {
            if let (Some(code), Some(name)) = (n["code"].as_str(), n["name"].as_str())
                && !name.is_empty()
            {
                self.names.insert(code.to_owned(), name.to_owned());
            }
        }
    }

    /// Takes in the names another lookup found.
    pub(crate) fn add_all(&mut self, other: Units) {
        self.names.extend(other.names);
    }

    /// A unit's name, when the API gave it.
    pub(crate) fn name(&self, code: &str) -> Option<&str> {
        self.names.get(code).map(String::as_str)
    }

    /// A unit as a page shows it: its name with the code in small text (the
    /// code stays searchable and copyable), or the code alone.
    pub(crate) fn show(&self, code: &str) -> Markup {
        html! {
            @match self.name(code) {
                Some(name) => { span.unit { (name) " " small.code { (code) } } },
                None => { code { (code) } },
            }
        }
    }

    /// A unit in plain text: "name (code)", or the code alone.
    pub(crate) fn words(&self, code: &str) -> String {
        match self.name(code) {
            Some(name) => format!("{name} ({code})"),
            None => code.to_owned(),
        }
    }

    /// [`Self::show`] for a JSON field that should hold a code.
    pub(crate) fn show_value(&self, code: &Value) -> Markup {
        self.show(code.as_str().unwrap_or(""))
    }
}

/// Deepest a unit sits under the province's root (a guard against a cycle).
const DEPTH_MAX: usize = 64;

/// The province's units today as the API lists them (`GET /org-units`,
/// staff only), for the fields that take a unit's code to offer units by
/// name. Empty when the API refuses: the fields then take a typed code alone.
#[derive(Debug, Default)]
pub(crate) struct Tree {
    nodes: Vec<Value>,
    parents: HashMap<String, String>,
    agencies: HashMap<String, String>,
}

impl Tree {
    /// Today's tree, in one call.
    pub(crate) async fn of(p: &Portal, v: &Viewer) -> Self {
        match p.api.get(&v.who, "/org-units").await {
            Ok(t) => Self::from_nodes(t.as_array().cloned().unwrap_or_default()),
            Err(_) => Self::default(),
        }
    }

    pub(crate) fn from_nodes(nodes: Vec<Value>) -> Self {
        // Each node's code to the unit its member `key` names, where it names one.
        let by_code = |key: &str| -> HashMap<String, String> {
            nodes
                .iter()
                .filter_map(|n| Some((n["code"].as_str()?.to_owned(), n[key].as_str()?.to_owned())))
                .collect()
        };
        let (parents, agencies) = (by_code("parent"), by_code("agency"));
        Self {
            nodes,
            parents,
            agencies,
        }
    }

    /// The agency `code` belongs to, as the API said.
    pub(crate) fn agency_of(&self, code: &str) -> Option<&str> {
        self.agencies.get(code).map(String::as_str)
    }

    /// The units of the agency `agency` (`inside`), or of any other.
    pub(crate) fn of_agency(&self, agency: Option<&str>, inside: bool) -> Vec<&Value> {
        self.nodes
            .iter()
            .filter(|n| {
                let theirs = n["code"].as_str().and_then(|c| self.agency_of(c));
                (agency.is_some() && theirs == agency) == inside
            })
            .collect()
    }

    /// Whether `code` is `root` or under it.
    pub(crate) fn under(&self, code: &str, root: &str) -> bool {
        let mut at = code;
        for _ in 0..DEPTH_MAX {
            if at == root {
                return true;
            }
            match self.parents.get(at) {
                Some(up) => at = up,
                None => return false,
            }
        }
        false
    }

    /// The units under any of `roots` (`inside`), or under none of them.
    pub(crate) fn part(&self, roots: &[&str], inside: bool) -> Vec<&Value> {
        self.nodes
            .iter()
            .filter(|n| {
                n["code"]
                    .as_str()
                    .is_some_and(|c| roots.iter().any(|r| self.under(c, r)) == inside)
            })
            .collect()
    }

    /// Every unit.
    pub(crate) fn all(&self) -> Vec<&Value> {
        self.nodes.iter().collect()
    }

    /// The units under the rights the viewer holds (every unit for an
    /// account holding none: the API decides what it may do there).
    pub(crate) fn in_scope(&self, v: &Viewer) -> Vec<&Value> {
        let roots: Vec<&str> = v.me["grants"]
            .as_object()
            .map(|g| g.keys().map(String::as_str).collect())
            .unwrap_or_default();
        if roots.is_empty() {
            self.all()
        } else {
            self.part(&roots, true)
        }
    }

    /// The tree's names, to show its codes by.
    pub(crate) fn names(&self) -> Units {
        let mut units = Units::default();
        units.add_nodes(&self.nodes);
        units
    }
}

/// A `datalist` of `nodes` by name (each option's value its code) with the id
/// `id`, and the `list` attribute a field names it by: nothing and `None`
/// when there are no units to offer.
pub(crate) fn offer(id: &'static str, nodes: &[&Value]) -> (Markup, Option<&'static str>) {
    if nodes.is_empty() {
        return (Markup::default(), None);
    }
    let list = html! {
        datalist id=(id) {
            @for n in nodes {
                @if let Some(code) = n["code"].as_str() {
                    option value=(code) { (n["name"].as_str().unwrap_or(code)) }
                }
            }
        }
    };
    (list, Some(id))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tree() -> Tree {
        Tree::from_nodes(
            json!([
                {"code": "000.00.00.H33", "name": "UBND tỉnh", "parent": null, "agency": "000.00.00.H33"},
                {"code": "000.04.00.H33", "name": "Sở Y tế", "parent": "000.00.00.H33", "agency": "000.04.00.H33"},
                {"code": "001.04.00.H33", "name": "Văn phòng Sở Y tế", "parent": "000.04.00.H33", "agency": "000.04.00.H33"},
                {"code": "901.04.00.H33", "name": "Bệnh viện Đa khoa tỉnh", "parent": "000.04.00.H33", "agency": "901.04.00.H33"},
                {"code": "000.03.00.H33", "name": "Sở Giáo dục và Đào tạo", "parent": "000.00.00.H33", "agency": "000.03.00.H33"},
            ])
            .as_array()
            .cloned()
            .unwrap_or_default(),
        )
    }

    #[test]
    fn a_unit_shows_by_name_with_its_code_and_by_code_when_unknown() {
        let mut u = Units::default();
        u.add(&json!([{"code": "000.04.00.H33", "name": "Sở Y tế", "parent": null}]));
        assert_eq!(
            u.show("000.04.00.H33").into_string(),
            r#"<span class="unit">Sở Y tế <small class="code">000.04.00.H33</small></span>"#
        );
        assert_eq!(
            u.show("000.09.00.H33").into_string(),
            "<code>000.09.00.H33</code>"
        );
        assert_eq!(Units::default().name("000.04.00.H33"), None);
    }

    #[test]
    fn a_tree_is_parted_by_the_subtrees_of_its_roots() {
        let t = tree();
        let codes = |nodes: Vec<&Value>| -> Vec<String> {
            nodes
                .iter()
                .filter_map(|n| n["code"].as_str().map(str::to_owned))
                .collect()
        };
        assert_eq!(
            codes(t.part(&["000.04.00.H33"], true)),
            ["000.04.00.H33", "001.04.00.H33", "901.04.00.H33"]
        );
        assert_eq!(
            codes(t.part(&["000.04.00.H33"], false)),
            ["000.00.00.H33", "000.03.00.H33"]
        );
        // An agency under another (a hospital under its Sở) is its own.
        assert_eq!(
            codes(t.of_agency(Some("000.04.00.H33"), true)),
            ["000.04.00.H33", "001.04.00.H33"]
        );
        assert_eq!(
            codes(t.of_agency(Some("000.04.00.H33"), false)),
            ["000.00.00.H33", "901.04.00.H33", "000.03.00.H33"]
        );
        assert_eq!(t.agency_of("001.04.00.H33"), Some("000.04.00.H33"));
        assert!(t.under("001.04.00.H33", "000.00.00.H33"));
        assert!(!t.under("000.03.00.H33", "000.04.00.H33"));
        assert_eq!(t.names().name("001.04.00.H33"), Some("Văn phòng Sở Y tế"));
    }

    #[test]
    fn a_datalist_offers_units_by_name_with_their_codes_as_values() {
        let t = tree();
        let (list, id) = offer("units", &t.of_agency(Some("000.04.00.H33"), true));
        assert_eq!(id, Some("units"));
        assert_eq!(
            list.into_string(),
            r#"<datalist id="units"><option value="000.04.00.H33">Sở Y tế</option><option value="001.04.00.H33">Văn phòng Sở Y tế</option></datalist>"#
        );
        let (none, id) = offer("units", &[]);
        assert_eq!((none.into_string(), id), (String::new(), None));
    }
}
