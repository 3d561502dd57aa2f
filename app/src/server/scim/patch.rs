//! SCIM PATCH (RFC 7644 §3.5.2) applied to a resource's JSON: `add`, `replace` and `remove`, with
//! a path of an attribute (`active`), a sub-attribute (`name.givenName`), a value filter on a
//! multi-valued attribute (`emails[type eq "work"]`, optionally `.value`), or no path (the value
//! is an object of attributes). Attribute names are matched case-insensitively, as SCIM requires.
//! The Rust SCIM crates found model resources but do not apply PATCH to stored JSON; this is the
//! small part the portal needs.

use serde_json::{Map, Value};

/// Why a PATCH could not be applied: a SCIM `scimType` and words for the provider's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchError {
    pub scim_type: &'static str,
    pub detail: String,
}

fn error(scim_type: &'static str, detail: impl Into<String>) -> PatchError {
    PatchError {
        scim_type,
        detail: detail.into(),
    }
}

/// A parsed path: attribute, optional `sub eq "value"` filter, optional sub-attribute.
#[derive(Debug, Clone, PartialEq)]
struct Path {
    attr: String,
    filter: Option<(String, Value)>,
    sub: Option<String>,
}

/// Removes a leading schema URN (`urn:…:User:name.givenName` → `name.givenName`).
fn strip_urn(path: &str) -> &str {
    if path.to_ascii_lowercase().starts_with("urn:") {
        // The attribute follows the last colon before any filter.
        let head = path.split('[').next().unwrap_or(path);
        match head.rfind(':') {
            Some(i) => &path[i + 1..],
            None => path,
        }
    } else {
        path
    }
}

fn parse_path(path: &str) -> Result<Path, PatchError> {
    let path = strip_urn(path.trim());
    let invalid = || {
        error(
            "invalidPath",
            format!("the path {path:?} is not understood"),
        )
    };
    let (attr, rest) = match path.find(['[', '.']) {
        Some(i) => (&path[..i], &path[i..]),
        None => (path, ""),
    };
    if attr.is_empty() || !attr.chars().all(|c| c.is_ascii_alphanumeric() || c == '$') {
        return Err(invalid());
    }
    let (filter, rest) = if let Some(inner) = rest.strip_prefix('[') {
        let end = inner.find(']').ok_or_else(invalid)?;
        let expr = &inner[..end];
        let mut parts = expr.splitn(3, ' ');
        let (Some(sub), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(invalid());
        };
        if !op.eq_ignore_ascii_case("eq") {
            return Err(error(
                "invalidFilter",
                "only `eq` filters are supported in a path",
            ));
        }
        let value: Value = serde_json::from_str(value.trim()).map_err(|_| invalid())?;
        (Some((sub.to_string(), value)), &inner[end + 1..])
    } else {
        (None, rest)
    };
    let sub = match rest.strip_prefix('.') {
        Some(sub) if !sub.is_empty() && sub.chars().all(|c| c.is_ascii_alphanumeric()) => {
            Some(sub.to_string())
        }
        Some(_) => return Err(invalid()),
        None if rest.is_empty() => None,
        None => return Err(invalid()),
    };
    Ok(Path {
        attr: attr.to_string(),
        filter,
        sub,
    })
}

/// The key of `object` that is `name` ignoring case, or `name` as given.
fn key_of(object: &Map<String, Value>, name: &str) -> String {
    object
        .keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_string())
}

fn matches(element: &Value, (sub, expected): &(String, Value)) -> bool {
    let Some(object) = element.as_object() else {
        return false;
    };
    let actual = object.get(&key_of(object, sub));
    match (actual, expected) {
        (Some(Value::String(a)), Value::String(e)) => a.eq_ignore_ascii_case(e),
        (Some(a), e) => a == e,
        (None, _) => false,
    }
}

/// Merges `value` into `target` for `add` (multi-valued attributes gain elements) or sets it for
/// `replace`.
fn put(target: &mut Map<String, Value>, key: &str, value: Value, add: bool) {
    let key = key_of(target, key);
    match (target.get_mut(&key), value) {
        (Some(Value::Array(existing)), Value::Array(more)) if add => {
            for v in more {
                if !existing.contains(&v) {
                    existing.push(v);
                }
            }
        }
        (Some(Value::Object(existing)), Value::Object(more)) => {
            for (k, v) in more {
                put(existing, &k, v, add);
            }
        }
        (_, value) => {
            target.insert(key, value);
        }
    }
}

/// Applies one operation to `resource` (a JSON object).
pub fn apply(
    resource: &mut Map<String, Value>,
    op: &str,
    path: Option<&str>,
    value: Option<Value>,
) -> Result<(), PatchError> {
    let op = op.to_ascii_lowercase();
    let add = match op.as_str() {
        "add" => true,
        "replace" => false,
        "remove" => return remove(resource, path),
        other => return Err(error("invalidSyntax", format!("unknown op {other:?}"))),
    };
    let value = value.ok_or_else(|| error("invalidValue", "the operation has no value"))?;
    let Some(path) = path.filter(|p| !p.trim().is_empty()) else {
        let Value::Object(attributes) = value else {
            return Err(error(
                "invalidValue",
                "without a path, the value must be an object of attributes",
            ));
        };
        for (k, v) in attributes {
            let k = strip_urn(&k).to_string();
            put(resource, &k, v, add);
        }
        return Ok(());
    };
    let path = parse_path(path)?;
    let key = key_of(resource, &path.attr);
    match (&path.filter, &path.sub) {
        (None, None) => put(resource, &key, value, add),
        (None, Some(sub)) => {
            let entry = resource
                .entry(key)
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(object) = entry else {
                return Err(error("invalidPath", "the attribute has no sub-attributes"));
            };
            put(object, sub, value, add);
        }
        (Some(filter), sub) => {
            let Some(Value::Array(elements)) = resource.get_mut(&key) else {
                return Err(error("noTarget", "no value matches the path's filter"));
            };
            let mut found = false;
            for element in elements.iter_mut().filter(|e| matches(e, filter)) {
                found = true;
                let Value::Object(object) = element else {
                    continue;
                };
                match (sub, &value) {
                    (Some(sub), v) => put(object, sub, v.clone(), add),
                    (None, Value::Object(more)) => {
                        for (k, v) in more {
                            put(object, k, v.clone(), add);
                        }
                    }
                    (None, _) => {
                        return Err(error(
                            "invalidValue",
                            "a filtered path takes an object value",
                        ))
                    }
                }
            }
            if !found {
                return Err(error("noTarget", "no value matches the path's filter"));
            }
        }
    }
    Ok(())
}

fn remove(resource: &mut Map<String, Value>, path: Option<&str>) -> Result<(), PatchError> {
    let path = path
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| error("noTarget", "remove needs a path"))?;
    let path = parse_path(path)?;
    let key = key_of(resource, &path.attr);
    match (&path.filter, &path.sub) {
        (None, None) => {
            resource.remove(&key);
        }
        (None, Some(sub)) => {
            if let Some(Value::Object(object)) = resource.get_mut(&key) {
                let sub = key_of(object, sub);
                object.remove(&sub);
            }
        }
        (Some(filter), sub) => {
            if let Some(Value::Array(elements)) = resource.get_mut(&key) {
                match sub {
                    None => elements.retain(|e| !matches(e, filter)),
                    Some(sub) => {
                        for element in elements.iter_mut().filter(|e| matches(e, filter)) {
                            if let Value::Object(object) = element {
                                let sub = key_of(object, sub);
                                object.remove(&sub);
                            }
                        }
                    }
                }
                if elements.is_empty() {
                    resource.remove(&key);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resource() -> Map<String, Value> {
        json!({
            "userName": "ann",
            "name": { "givenName": "Ann", "familyName": "Lee" },
            "emails": [
                { "value": "ann@acme.example", "type": "work", "primary": true },
                { "value": "ann@home.example", "type": "home" }
            ],
            "active": true
        })
        .as_object()
        .unwrap()
        .clone()
    }

    #[test]
    fn replace_by_path_sub_path_and_without_path() {
        let mut r = resource();
        apply(&mut r, "Replace", Some("active"), Some(json!(false))).unwrap();
        assert_eq!(r["active"], false);
        apply(
            &mut r,
            "replace",
            Some("NAME.givenname"),
            Some(json!("Anne")),
        )
        .unwrap();
        assert_eq!(r["name"]["givenName"], "Anne");
        apply(
            &mut r,
            "replace",
            None,
            Some(json!({ "userName": "anne", "name": { "familyName": "Li" } })),
        )
        .unwrap();
        assert_eq!(r["userName"], "anne");
        assert_eq!(
            r["name"],
            json!({ "givenName": "Anne", "familyName": "Li" })
        );
        apply(
            &mut r,
            "replace",
            Some("urn:ietf:params:scim:schemas:core:2.0:User:userName"),
            Some(json!("a")),
        )
        .unwrap();
        assert_eq!(r["userName"], "a");
    }

    #[test]
    fn filtered_paths_reach_one_element() {
        let mut r = resource();
        apply(
            &mut r,
            "replace",
            Some("emails[type eq \"work\"].value"),
            Some(json!("ann@new.example")),
        )
        .unwrap();
        assert_eq!(r["emails"][0]["value"], "ann@new.example");
        assert_eq!(r["emails"][1]["value"], "ann@home.example");
        remove(&mut r, Some("emails[type eq \"home\"]")).unwrap();
        assert_eq!(r["emails"].as_array().unwrap().len(), 1);
        let missing = apply(
            &mut r,
            "replace",
            Some("emails[type eq \"other\"].value"),
            Some(json!("x")),
        );
        assert_eq!(missing.unwrap_err().scim_type, "noTarget");
    }

    #[test]
    fn add_appends_to_lists_and_remove_takes_away() {
        let mut r = json!({ "members": [{ "value": "1" }] })
            .as_object()
            .unwrap()
            .clone();
        apply(
            &mut r,
            "add",
            Some("members"),
            Some(json!([{ "value": "2" }, { "value": "1" }])),
        )
        .unwrap();
        assert_eq!(r["members"], json!([{ "value": "1" }, { "value": "2" }]));
        apply(&mut r, "remove", Some("members[value eq \"1\"]"), None).unwrap();
        assert_eq!(r["members"], json!([{ "value": "2" }]));
        apply(&mut r, "remove", Some("members"), None).unwrap();
        assert!(r.get("members").is_none());
    }

    #[test]
    fn nonsense_is_refused_with_its_scim_type() {
        let mut r = resource();
        assert_eq!(
            apply(&mut r, "move", Some("a"), Some(json!(1)))
                .unwrap_err()
                .scim_type,
            "invalidSyntax"
        );
        assert_eq!(
            apply(&mut r, "add", Some("a b"), Some(json!(1)))
                .unwrap_err()
                .scim_type,
            "invalidPath"
        );
        assert_eq!(
            apply(&mut r, "add", Some("emails[type gt 1]"), Some(json!(1)))
                .unwrap_err()
                .scim_type,
            "invalidFilter"
        );
        assert_eq!(
            apply(&mut r, "add", None, Some(json!(1)))
                .unwrap_err()
                .scim_type,
            "invalidValue"
        );
        assert_eq!(
            apply(&mut r, "remove", None, None).unwrap_err().scim_type,
            "noTarget"
        );
    }
}
