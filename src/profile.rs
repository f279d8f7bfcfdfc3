//! Profiles: what a release family × OS family means concretely (package,
//! service, path and user names), as data in `playbooks/profiles.yaml`.
//! Layers are merged in order: `common`, the OS family (`debian`, `rhel`),
//! then `<os>-<family>` (`rhel-legacy`), then `<os><major>` (`rhel6`).

use crate::facts::OsFacts;
use crate::release::Family;
use crate::site::yaml::{self, Node, Value};
use serde_json::{Map, Value as Json};

pub const PROFILES_FILE: &str = "playbooks/profiles.yaml";

/// The merged profile for a host, as a JSON object for the templates.
pub fn for_host(os: &OsFacts, family: Family) -> Result<Json, String> {
    let text = crate::assets::text(PROFILES_FILE)?;
    let root = yaml::parse(text).map_err(|e| {
        format!(
            "{PROFILES_FILE}:{}:{}: {}",
            e.mark.line, e.mark.col, e.message
        )
    })?;
    let Value::Map(layers) = &root.value else {
        return Err(format!("{PROFILES_FILE}: expected a mapping of layers"));
    };
    let os_name = match os.family {
        crate::facts::OsFamily::Debian => "debian",
        crate::facts::OsFamily::Rhel => "rhel",
    };
    let fam = match family {
        Family::Legacy => "legacy",
        Family::Modern => "modern",
    };
    let names = [
        "common".to_string(),
        os_name.to_string(),
        format!("{os_name}-{fam}"),
        format!("{os_name}{}", os.major()),
    ];
    let mut merged = Json::Object(Map::new());
    for name in &names {
        if let Some((_, layer)) = layers
            .iter()
            .find(|(k, _)| k.as_str() == Some(name.as_str()))
        {
            merge(&mut merged, to_json(layer));
        }
    }
    Ok(merged)
}

/// YAML node to JSON; plain `true`/`false` become booleans, all other scalars strings.
pub fn to_json(node: &Node) -> Json {
    match &node.value {
        Value::Null => Json::Null,
        Value::Scalar {
            text,
            quoted: false,
        } if text == "true" => Json::Bool(true),
        Value::Scalar {
            text,
            quoted: false,
        } if text == "false" => Json::Bool(false),
        Value::Scalar { text, .. } => Json::String(text.clone()),
        Value::Seq(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), to_json(v)))
                .collect(),
        ),
    }
}

/// Deep merge: mappings merge key by key, anything else is replaced.
fn merge(into: &mut Json, from: Json) {
    match (into, from) {
        (Json::Object(a), Json::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_layers_win_and_maps_merge() {
        let mut a = serde_json::json!({"packages": {"a": "1", "b": "2"}, "init": "sysv"});
        merge(
            &mut a,
            serde_json::json!({"packages": {"b": "3"}, "init": "systemd"}),
        );
        assert_eq!(
            a,
            serde_json::json!({"packages": {"a": "1", "b": "3"}, "init": "systemd"})
        );
    }
}
