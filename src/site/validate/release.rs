//! The release and the choices that depend on it: `token_provider`,
//! `identity_api`, `glance_registry`.

use super::{Ctx, Fields};
use crate::model::diagnostic::{did_you_mean, short};
use crate::model::release::{Choices, IdentityApi, RELEASES, Release, TokenProvider};
use crate::yaml::Node;

/// The keys [`Ctx::choices`] reads: what they may hold depends on the release.
pub(super) const RELEASE_CHOICE_KEYS: [&str; 3] =
    ["token_provider", "identity_api", "glance_registry"];

impl Ctx<'_> {
    pub(super) fn release(&mut self, n: &Node) -> Option<Release> {
        let s = self.string(n, "release")?;
        let r = Release::parse(&s);
        if r.is_none() {
            let hint = match did_you_mean(&s, RELEASES.iter().copied()) {
                Some(m) => format!("did you mean `{m}`?"),
                None => format!("one of: {} (or 2023.1, 2024.1, ...)", RELEASES.join(", ")),
            };
            self.error(
                n.mark,
                "release",
                format!("unknown OpenStack release `{}`", short(&s)),
                Some(hint),
            );
        }
        r
    }

    /// `token_provider`, `identity_api` and `glance_registry`: the release's
    /// defaults unless given, and refused when the release does not have them.
    pub(super) fn choices(&mut self, f: &mut Fields<'_>, release: Release) -> Option<Choices> {
        let mut c = release.default_choices();
        let mut ok = true;
        let d = release.default_choices();
        let hint_for = |key: &str| {
            let default = match key {
                "token_provider" => serde_json::to_value(d.token_provider),
                "identity_api" => serde_json::to_value(d.identity_api),
                _ => serde_json::to_value(d.glance_registry),
            }
            .map(|v| v.as_str().map_or(v.to_string(), str::to_string))
            .unwrap_or_default();
            format!(
                "remove the key ({release} defaults to `{key}: {default}`), or choose another release"
            )
        };
        if let Some(n) = f.get("token_provider") {
            match n.as_str().and_then(TokenProvider::parse) {
                None => {
                    self.error(
                        n.mark,
                        "token_provider",
                        format!(
                            "unknown token provider `{}`",
                            short(n.as_str().unwrap_or(n.kind()))
                        ),
                        Some(format!("one of: {}", TokenProvider::NAMES.join(", "))),
                    );
                    ok = false;
                }
                Some(p) => match release.check_token_provider(p) {
                    Ok(()) => c.token_provider = p,
                    Err(why) => {
                        self.error(
                            n.mark,
                            "token_provider",
                            format!(
                                "`{}` is not available in {release}: {why}",
                                n.as_str().unwrap_or_default()
                            ),
                            Some(hint_for("token_provider")),
                        );
                        ok = false;
                    }
                },
            }
        }
        if let Some(n) = f.get("identity_api") {
            match n.as_str().and_then(IdentityApi::parse) {
                None => {
                    self.error(
                        n.mark,
                        "identity_api",
                        format!(
                            "unknown Identity API `{}`",
                            short(n.as_str().unwrap_or(n.kind()))
                        ),
                        Some(format!(
                            "one of: {} (quote `\"v2.0\"` if you like)",
                            IdentityApi::NAMES.join(", ")
                        )),
                    );
                    ok = false;
                }
                Some(api) => match release.check_identity_api(api) {
                    Ok(()) => c.identity_api = api,
                    Err(why) => {
                        self.error(
                            n.mark,
                            "identity_api",
                            format!(
                                "`{}` is not available in {release}: {why}",
                                n.as_str().unwrap_or_default()
                            ),
                            Some(hint_for("identity_api")),
                        );
                        ok = false;
                    }
                },
            }
        }
        if let Some(n) = f.get("glance_registry") {
            match self.boolean(n, "glance_registry") {
                None => ok = false,
                Some(wanted) => match release.check_glance_registry(wanted) {
                    Ok(()) => c.glance_registry = wanted,
                    Err(why) => {
                        self.error(
                            n.mark,
                            "glance_registry",
                            format!("glance-registry is not available in {release}: {why}"),
                            Some(hint_for("glance_registry")),
                        );
                        ok = false;
                    }
                },
            }
        }
        ok.then_some(c)
    }
}
