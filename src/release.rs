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
}
