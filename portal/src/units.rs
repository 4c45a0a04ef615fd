//! Organisational units by their names: people know "Bệnh viện Đa khoa tỉnh",
//! not `000.04.00.H33`. A page that shows units asks the API once for the
//! whole tree of the day and the units that had ceased by then (two calls in
//! process, still one browser round trip) and shows each unit by name, its
//! code in small text beside it.
//!
//! The tree is for staff accounts (`GET /org-units`); for anyone the API
//! refuses it to (a personal account) the names are empty and units show by
//! code, as before. A code the tree does not know shows as the code.

use std::collections::HashMap;

use chrono::NaiveDate;
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
    /// The names of the units that exist on `on` and of those that had
    /// ceased by then (a merged unit's old dossiers still name it).
    pub(crate) async fn on(p: &Portal, v: &Viewer, on: NaiveDate) -> Self {
        let mut units = Self::default();
        // Ceased first, so a code reused by a living unit shows its name now.
        for uri in [
            format!("/org-units/ceased?date={on}"),
            format!("/org-units?date={on}"),
        ] {
            if let Ok(list) = p.api.get(&v.who, &uri).await {
                units.add(&list);
            }
        }
        units
    }

    /// Today's names (Vietnam's date).
    pub(crate) async fn today(p: &Portal, v: &Viewer) -> Self {
        Self::on(p, v, p.state.today()).await
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
