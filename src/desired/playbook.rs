//! Roles as data: `playbooks/<role>.yaml` is a list of resources whose strings
//! are Tera templates, rendered with the site, the host and the profile.
//! Files come from `templates/`. The result is the host's desired state.

use super::templates::{context, tera, tera_error};
use super::{DesiredError, PlaybookError, PlaybookReason as Why};
use crate::desired::resource::{
    CommandSpec, FileSpec, IniEditSpec, KeystoneUserSpec, Kind, Resource,
};
use crate::facts::OsFacts;
use crate::site::{Host, Site};
use crate::yaml::{self, Node, Value};
use std::collections::BTreeSet;

/// Everything a host should look like, in order.
#[derive(Debug, Clone)]
pub struct Desired {
    pub resources: Vec<Resource>,
}

struct Loader<'a> {
    tera: tera::Tera,
    cx: &'a tera::Context,
    file: String,
}

impl Loader<'_> {
    fn at(&self, n: &Node) -> String {
        format!("{}:{}", self.file, n.mark.line)
    }

    fn err(&self, n: &Node, reason: Why) -> DesiredError {
        PlaybookError::new(
            format!("{}:{}:{}", self.file, n.mark.line, n.mark.col),
            reason,
        )
        .into()
    }

    fn render(&mut self, n: &Node) -> Result<String, DesiredError> {
        let Some(s) = n.as_str() else {
            return Err(self.err(n, Why::NotAString(n.kind())));
        };
        if !s.contains("{{") && !s.contains("{%") {
            return Ok(s.to_string());
        }
        let cx = self.cx;
        self.tera
            .render_str(s, cx)
            .map_err(|e| self.err(n, Why::Tera(tera_error(&e))))
    }

    fn words(&mut self, n: &Node) -> Result<Vec<String>, DesiredError> {
        match &n.value {
            Value::Seq(items) => {
                let mut out = Vec::new();
                for i in items {
                    out.extend(self.render(i)?.split_whitespace().map(str::to_string));
                }
                Ok(out)
            }
            Value::Null => Ok(Vec::new()),
            _ => Ok(self
                .render(n)?
                .split_whitespace()
                .map(str::to_string)
                .collect()),
        }
    }

    fn template(&mut self, n: &Node) -> Result<String, DesiredError> {
        let name = self.render(n)?;
        self.tera.render(&name, self.cx).map_err(|e| {
            let message = tera_error(&e);
            self.err(n, Why::Template { name, message })
        })
    }

    fn truthy(&mut self, n: &Node) -> Result<bool, DesiredError> {
        let s = n.as_str().ok_or_else(|| self.err(n, Why::NotACondition))?;
        let cx = self.cx;
        let out = self
            .tera
            .render_str(&format!("{{% if {s} %}}yes{{% endif %}}"), cx)
            .map_err(|e| self.err(n, Why::Tera(tera_error(&e))))?;
        Ok(out == "yes")
    }
}

/// Fields of one playbook entry.
struct Entry<'n> {
    entries: &'n [(Node, Node)],
}

impl<'n> Entry<'n> {
    fn get(&self, k: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(key, _)| key.as_str() == Some(k))
            .map(|(_, v)| v)
    }
}

/// The resources of every role of a host, in role order, with the site's
/// `overrides` set in the INI files among them.
pub fn desired(site: &Site, host: &Host, os: &OsFacts) -> Result<Desired, DesiredError> {
    let (mut resources, ini_files) = roles(site, host, os)?;
    // an `unless_login` guard reads a login the catalog read makes: one of
    // this host's keystone_users, or the guard would never pass
    for r in &resources {
        if let Kind::Command(CommandSpec {
            name,
            unless_login: Some(user),
            ..
        }) = &r.kind
            && !resources
                .iter()
                .any(|k| matches!(&k.kind, Kind::KeystoneUser(KeystoneUserSpec { name, .. }) if name == user))
        {
            return Err(DesiredError::UnknownLoginUser {
                command: name.clone(),
                user: user.clone(),
            });
        }
    }
    super::overrides::apply(site, &ini_files, &mut resources)?;
    Ok(Desired { resources })
}

/// The resources of a host's roles, and the paths of the INI files among them
/// (`file`s marked `format: ini`, and every `ini`), the only ones overrides edit.
pub(super) fn roles(
    site: &Site,
    host: &Host,
    os: &OsFacts,
) -> Result<(Vec<Resource>, BTreeSet<String>), DesiredError> {
    let cx = context(site, host, os)?;
    let ha_built = cx
        .get("p")
        .and_then(|p| p.pointer("/options/ha"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let roles = super::roles::roles()?;
    let needs_ha = |r: &String| roles.get(r).is_some_and(|r| r.needs_ha);
    if site.ha.is_some() && host.roles.iter().any(needs_ha) && !ha_built {
        return Err(DesiredError::NoHa {
            os: os.pretty_name.clone(),
        });
    }
    let mut resources = Vec::new();
    let mut ini_files = BTreeSet::new();
    for role in &host.roles {
        let file = format!("playbooks/{role}.yaml");
        let text = crate::desired::assets::text(&file)?;
        let root = yaml::parse(text).map_err(|e| PlaybookError::yaml(&file, &e))?;
        let mut l = Loader {
            tera: tera()?,
            cx: &cx,
            file: file.clone(),
        };
        let Value::Seq(items) = &root.value else {
            return Err(PlaybookError::new(file, Why::NotAList).into());
        };
        // the first entry is the role's header (see super::roles)
        let items = items
            .iter()
            .skip_while(|i| super::roles::header_of(i).is_some());
        for item in items {
            if let Some((r, ini)) = resource(&mut l, role, item)? {
                if ini
                    && let Kind::File(FileSpec { path, .. })
                    | Kind::IniEdit(IniEditSpec { path, .. }) = &r.kind
                {
                    ini_files.insert(path.clone());
                }
                resources.push(r);
            }
        }
    }
    Ok((resources, ini_files))
}

/// One playbook entry: its resource (none when its `when` is false), and
/// whether it is an INI file (`ini`, or a `file` with `format: ini`).
fn resource(
    l: &mut Loader<'_>,
    role: &str,
    item: &Node,
) -> Result<Option<(Resource, bool)>, DesiredError> {
    let Value::Map(entries) = &item.value else {
        return Err(l.err(item, Why::NotAResource));
    };
    let e = Entry { entries };
    if let Some(w) = e.get("when")
        && !l.truthy(w)?
    {
        return Ok(None);
    }
    let Some((kind_key, body)) = entries
        .iter()
        .find(|(k, _)| k.as_str().is_some_and(|k| kinds::KINDS.contains(&k)))
    else {
        return Err(l.err(item, Why::NoKind(kinds::KINDS)));
    };
    let kind_name = kind_key.as_str().unwrap_or_default();
    let fields = match &body.value {
        Value::Map(be) => Entry { entries: be },
        _ if kind_name == "packages" => Entry { entries: &[] },
        _ => return Err(l.err(body, Why::NotAMapping(kind_name.into()))),
    };
    let b = kinds::Body {
        kind: kind_name,
        node: body,
        fields,
    };
    let ini = kinds::is_ini(l, &b)?;
    let kind = kinds::kind(l, &b)?;
    Ok(Some((
        Resource {
            role: role.to_string(),
            source: l.at(item),
            kind,
            package_source: match e.get("package_source") {
                Some(n) => l.truthy(n)?,
                None => false,
            },
        },
        ini,
    )))
}

mod kinds;

#[cfg(test)]
mod tests;
