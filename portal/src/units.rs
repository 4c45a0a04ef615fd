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
        let mut units = Self::default();
        let mut asked: Vec<&str> = Vec::new();
        for c in codes.iter().map(|c| c.trim()) {
            if !c.is_empty() && !asked.contains(&c) {
                asked.push(c);
            }
        }
        // The API names this many per call; a page shows far fewer units.
        for chunk in asked.chunks(hoso_api::routes::org::NAMES_LIMIT) {
            let qs = serde_urlencoded::to_string([("codes", chunk.join(","))]).unwrap_or_default();
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
        for n in list.as_array().into_iter().flatten() {
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

    /// A `datalist` of units by name (the code as each option's value) for
    /// an input that takes a unit's code: `nodes` as the API lists a tree.
    pub(crate) fn datalist(id: &str, nodes: &[&Value]) -> Markup {
        html! {
            datalist id=(id) {
                @for n in nodes {
                    @if let Some(code) = n["code"].as_str() {
                        option value=(code) { (n["name"].as_str().unwrap_or(code)) }
                    }
                }
            }
        }
    }

    /// [`Self::show`] for a JSON field that should hold a code.
    pub(crate) fn show_value(&self, code: &Value) -> Markup {
        self.show(code.as_str().unwrap_or(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
