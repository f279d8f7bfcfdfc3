//! OpenStack releases stackprov knows, in order, and what each one still has.

use std::fmt;

/// Every named release from Havana on, oldest first.
pub const RELEASES: &[&str] = &[
    "havana",
    "icehouse",
    "juno",
    "kilo",
    "liberty",
    "mitaka",
    "newton",
    "ocata",
    "pike",
    "queens",
    "rocky",
    "stein",
    "train",
    "ussuri",
    "victoria",
    "wallaby",
    "xena",
    "yoga",
    "zed",
    "antelope",
    "bobcat",
    "caracal",
    "dalmatian",
    "epoxy",
    "flamingo",
];

/// Dated names (2023.1 ...) that stand for the named releases above.
const DATED: &[(&str, &str)] = &[
    ("2023.1", "antelope"),
    ("2023.2", "bobcat"),
    ("2024.1", "caracal"),
    ("2024.2", "dalmatian"),
    ("2025.1", "epoxy"),
    ("2025.2", "flamingo"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Release(usize);

/// Why a release does not have something a site asks for (naming the release
/// that added or removed it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub &'static str);

impl Release {
    pub fn parse(name: &str) -> Option<Release> {
        let lower = name.to_ascii_lowercase();
        let name = DATED
            .iter()
            .find(|(d, _)| *d == lower)
            .map(|(_, n)| *n)
            .unwrap_or(&lower);
        RELEASES.iter().position(|r| *r == name).map(Release)
    }

    pub fn named(name: &str) -> Release {
        Release::parse(name).expect("a release from RELEASES")
    }

    pub fn name(self) -> &'static str {
        RELEASES[self.0]
    }

    /// The guide's era: Keystone v2.0 with admin_token, PKI tokens, glance-registry, SysV.
    /// Newton is the last release that still had PKI tokens and admin_token auth.
    pub fn family(self) -> Family {
        if self <= Release::named("newton") {
            Family::Legacy
        } else {
            Family::Modern
        }
    }

    /// glance-registry was removed in Ussuri (last shipped in Train).
    pub fn has_glance_registry(self) -> bool {
        self <= Release::named("train")
    }

    /// Whether this release has a token provider, or why not (naming the
    /// release that added or removed it).
    pub fn check_token_provider(self, p: TokenProvider) -> Result<(), Unavailable> {
        match p {
            TokenProvider::Pki if self > Release::named("newton") => Err(Unavailable(
                "PKI tokens and `keystone-manage pki_setup` were removed in Ocata; newton is the last release that has them",
            )),
            TokenProvider::Uuid if self >= Release::named("rocky") => Err(Unavailable(
                "UUID tokens were removed in Rocky; queens is the last release that has them",
            )),
            TokenProvider::Fernet if self < Release::named("kilo") => {
                Err(Unavailable("fernet tokens first appeared in Kilo"))
            }
            _ => Ok(()),
        }
    }

    /// Whether this release has the Identity API stackprov would use, or why not.
    /// The v2.0 path authenticates with `admin_token` (as the guide does); the v3
    /// path bootstraps with `keystone-manage bootstrap` and `credential_setup`.
    pub fn check_identity_api(self, api: IdentityApi) -> Result<(), Unavailable> {
        match api {
            IdentityApi::V2 if self >= Release::named("queens") => Err(Unavailable(
                "the Identity v2.0 admin API was removed in Queens; pike is the last release that has it",
            )),
            IdentityApi::V2 if self > Release::named("newton") => Err(Unavailable(
                "admin_token authentication (the v2.0 path's bootstrap) was removed in Ocata; newton is the last release that has it",
            )),
            IdentityApi::V3 if self.family() == Family::Legacy => Err(Unavailable(
                "stackprov's v3 path needs `keystone-manage credential_setup`, which first appeared in Ocata",
            )),
            _ => Ok(()),
        }
    }

    /// Whether glance-registry can be asked for.
    pub fn check_glance_registry(self, wanted: bool) -> Result<(), Unavailable> {
        if wanted && !self.has_glance_registry() {
            return Err(Unavailable(
                "glance-registry was removed in Ussuri; train is the last release that has it",
            ));
        }
        Ok(())
    }

    /// The guide's choices for this release's family: PKI, v2.0 and glance-registry
    /// up to Newton; fernet, v3 and no registry after.
    pub fn default_choices(self) -> Choices {
        match self.family() {
            Family::Legacy => Choices {
                token_provider: TokenProvider::Pki,
                identity_api: IdentityApi::V2,
                glance_registry: true,
            },
            Family::Modern => Choices {
                token_provider: TokenProvider::Fernet,
                identity_api: IdentityApi::V3,
                glance_registry: false,
            },
        }
    }
}

/// Keystone's token format (`[token] provider`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenProvider {
    Pki,
    Uuid,
    Fernet,
}

impl TokenProvider {
    pub const NAMES: &[&str] = &["pki", "uuid", "fernet"];
    pub fn parse(s: &str) -> Option<TokenProvider> {
        match s {
            "pki" => Some(TokenProvider::Pki),
            "uuid" => Some(TokenProvider::Uuid),
            "fernet" => Some(TokenProvider::Fernet),
            _ => None,
        }
    }
}

/// The Identity API stackprov builds the catalog through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum IdentityApi {
    #[serde(rename = "v2.0")]
    V2,
    #[serde(rename = "v3")]
    V3,
}

impl IdentityApi {
    pub const NAMES: &[&str] = &["v2.0", "v3"];
    pub fn parse(s: &str) -> Option<IdentityApi> {
        match s {
            "v2.0" => Some(IdentityApi::V2),
            "v3" => Some(IdentityApi::V3),
            _ => None,
        }
    }
}

/// What a site chose (or the release's defaults): checked against the release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Choices {
    pub token_provider: TokenProvider,
    pub identity_api: IdentityApi,
    pub glance_registry: bool,
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Legacy,
    Modern,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_order_and_aliases() {
        assert!(Release::named("havana") < Release::named("zed"));
        assert_eq!(Release::parse("2023.1"), Release::parse("Antelope"));
        assert_eq!(Release::parse("zed").unwrap().family(), Family::Modern);
        assert_eq!(Release::parse("icehouse").unwrap().family(), Family::Legacy);
        assert!(Release::named("train").has_glance_registry());
        assert!(!Release::named("ussuri").has_glance_registry());
        assert_eq!(Release::parse("bogus"), None);
    }

    #[test]
    fn release_checks_name_the_release_that_removed_a_feature() {
        let r = Release::named;
        assert!(r("newton").check_token_provider(TokenProvider::Pki).is_ok());
        let e = r("ocata")
            .check_token_provider(TokenProvider::Pki)
            .unwrap_err();
        assert!(e.0.contains("Ocata"), "{e}");
        assert!(
            r("havana")
                .check_token_provider(TokenProvider::Fernet)
                .is_err()
        );
        assert!(
            r("queens")
                .check_token_provider(TokenProvider::Uuid)
                .is_ok()
        );
        assert!(
            r("rocky")
                .check_token_provider(TokenProvider::Uuid)
                .is_err()
        );
        assert!(
            r("pike")
                .check_identity_api(IdentityApi::V2)
                .unwrap_err()
                .0
                .contains("Ocata")
        );
        assert!(
            r("queens")
                .check_identity_api(IdentityApi::V2)
                .unwrap_err()
                .0
                .contains("Queens")
        );
        assert!(r("icehouse").check_identity_api(IdentityApi::V3).is_err());
        assert!(r("train").check_glance_registry(true).is_ok());
        assert!(
            r("ussuri")
                .check_glance_registry(true)
                .unwrap_err()
                .0
                .contains("Ussuri")
        );
        for name in RELEASES {
            let rel = r(name);
            let c = rel.default_choices();
            assert!(rel.check_token_provider(c.token_provider).is_ok(), "{name}");
            assert!(rel.check_identity_api(c.identity_api).is_ok(), "{name}");
            assert!(
                rel.check_glance_registry(c.glance_registry).is_ok(),
                "{name}"
            );
        }
    }
}
