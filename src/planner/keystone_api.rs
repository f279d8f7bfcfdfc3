//! `keystone_api`: the Keystone API the catalog resources after it talk to,
//! waited for when it does not answer; and the view of the catalog those
//! resources are planned against.

use super::{Cx, Decision, PlanError, change, noop};
use crate::desired::resource::{KeystoneApiSpec, Resource};
use crate::facts::catalog::CatalogFacts;
use crate::plan::catalog::{Admin, Call};
use crate::plan::{Action, Op};
use std::borrow::Cow;

pub(super) fn plan(
    cx: &mut Cx<'_>,
    r: &Resource,
    s: &KeystoneApiSpec,
) -> Result<Decision, PlanError> {
    let KeystoneApiSpec { admin } = s;
    let facts = cx.facts;
    let answers = facts
        .catalog
        .as_ref()
        .is_some_and(|c| c.unavailable.is_none());
    // a second role using the same API needs no second wait
    if cx.api.as_ref() == Some(admin) {
        return Ok(noop(if answers {
            "the API answers (same API as before)"
        } else {
            "same API as before (its wait is planned above)"
        }));
    }
    cx.api = Some(admin.clone());
    Ok(match facts.catalog.as_ref() {
        Some(c) if c.unavailable.is_none() => noop("the API answers"),
        c => change(
            r,
            Action::Run,
            match (
                c.and_then(|c| c.unavailable.as_deref()),
                c.is_some_and(|c| c.refused),
            ) {
                (Some(w), true) => {
                    format!("{w}; apply fails unless a step above fixes that")
                }
                (w, _) => format!("the API does not answer yet ({})", w.unwrap_or("not asked")),
            },
            vec![Op::Keystone {
                admin: admin.clone(),
                call: Call::Wait { timeout_secs: 180 },
            }],
        )
        .into(),
    })
}

/// The catalog as a catalog resource sees it: through the API of the last
/// `keystone_api` (whose version must suit the resource), empty while
/// Keystone does not answer.
pub(super) struct Catalog<'a> {
    pub facts: Cow<'a, CatalogFacts>,
    /// Keystone did not answer (or refused): everything looks missing.
    pub down: bool,
    admin: Admin,
}

impl Catalog<'_> {
    /// The one API call a change makes.
    pub fn op(&self, call: Call) -> Vec<Op> {
        vec![Op::Keystone {
            admin: self.admin.clone(),
            call,
        }]
    }

    /// Why something is created, noting when it only looks missing.
    pub fn missing(&self, what: &str) -> String {
        if self.down {
            format!("{what} (Keystone is not answering yet)")
        } else {
            what.to_string()
        }
    }
}

/// The API version a catalog resource needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Needs {
    /// Projects, users, roles, assignments and services: either.
    Either,
    /// `keystone_endpoint`.
    V3,
    /// `keystone_endpoints`.
    V2,
}

pub(super) fn catalog<'a>(
    cx: &Cx<'a>,
    r: &Resource,
    needs: Needs,
) -> Result<Catalog<'a>, PlanError> {
    let Some(admin) = cx.api.clone() else {
        return Err(PlanError::NoKeystoneApi {
            at: r.source.clone(),
        });
    };
    let at = || r.source.clone();
    match (needs, admin.is_v2()) {
        (Needs::V3, true) => return Err(PlanError::EndpointNeedsV3 { at: at() }),
        (Needs::V2, false) => return Err(PlanError::EndpointsNeedV2 { at: at() }),
        (Needs::Either, _) | (Needs::V3, false) | (Needs::V2, true) => {}
    }
    let (facts, down) = match cx.facts.catalog.as_ref() {
        Some(c) if c.unavailable.is_none() => (Cow::Borrowed(c), false),
        _ => (Cow::Owned(CatalogFacts::default()), true),
    };
    Ok(Catalog { facts, down, admin })
}

#[cfg(test)]
mod tests {
    use crate::desired::resource::{
        KeystoneEndpointSpec, KeystoneEndpointsSpec, KeystoneRoleSpec, Kind,
    };
    use crate::plan::Action::Run;
    use crate::planner::PlanError;
    use crate::planner::testkit::*;

    fn down(why: &str) -> crate::facts::Facts {
        facts(|f| f.catalog = catalog(|c| c.unavailable = Some(why.into())))
    }

    fn refused(why: &str) -> crate::facts::Facts {
        facts(|f| {
            f.catalog = catalog(|c| {
                c.unavailable = Some(why.into());
                c.refused = true;
            })
        })
    }

    fn answers() -> crate::facts::Facts {
        facts(|f| f.catalog = catalog(|_| {}))
    }

    #[test]
    fn keystone_api_table() {
        check(
            &[],
            vec![
                (
                    "the catalog was not asked for",
                    api(v3()),
                    bare(),
                    change(
                        Run,
                        "the API does not answer yet (not asked)",
                        &["wait up to 180s for the Keystone API"],
                    ),
                ),
                (
                    "not answering",
                    api(v3()),
                    down("connection refused on 127.0.0.1:5000"),
                    change(
                        Run,
                        "the API does not answer yet (connection refused on 127.0.0.1:5000)",
                        &["wait up to 180s for the Keystone API"],
                    ),
                ),
                (
                    "answering, but refusing the admin",
                    api(v3()),
                    refused("Keystone refuses the admin's password"),
                    change(
                        Run,
                        "Keystone refuses the admin's password; apply fails unless a step above fixes that",
                        &["wait up to 180s for the Keystone API"],
                    ),
                ),
                (
                    "v2.0: the admin API, waited for as such",
                    api(v2()),
                    bare(),
                    change(
                        Run,
                        "the API does not answer yet (not asked)",
                        &["wait up to 180s for the Keystone v2.0 admin API"],
                    ),
                ),
                ("answering", api(v3()), answers(), noop("the API answers")),
            ],
        );
    }

    #[test]
    fn a_second_keystone_api_for_the_same_api_waits_no_more() {
        check(
            &[api(v3())],
            vec![
                (
                    "answering",
                    api(v3()),
                    answers(),
                    noop("the API answers (same API as before)"),
                ),
                (
                    "not answering: the first one waits",
                    api(v3()),
                    down("connection refused"),
                    noop("same API as before (its wait is planned above)"),
                ),
                (
                    "another API is planned on its own",
                    api(v2()),
                    bare(),
                    change(
                        Run,
                        "the API does not answer yet (not asked)",
                        &["wait up to 180s for the Keystone v2.0 admin API"],
                    ),
                ),
            ],
        );
    }

    #[test]
    fn catalog_resources_need_a_keystone_api_of_their_version() {
        let endpoint = res(Kind::KeystoneEndpoint(KeystoneEndpointSpec {
            service_type: "image".into(),
            interface: "public".into(),
            region: "RegionOne".into(),
            url: "http://controller:9292".into(),
        }));
        let endpoints = res(Kind::KeystoneEndpoints(KeystoneEndpointsSpec {
            service_type: "image".into(),
            region: "RegionOne".into(),
            publicurl: "http://controller:9292".into(),
            internalurl: "http://controller:9292".into(),
            adminurl: "http://controller:9292".into(),
        }));
        let role = res(Kind::KeystoneRole(KeystoneRoleSpec {
            name: "admin".into(),
        }));
        let at = || AT.to_string();
        let cases = [
            (
                vec![role],
                PlanError::NoKeystoneApi { at: at() },
                "playbooks/test.yaml:7: a catalog resource needs a `keystone_api` before it",
            ),
            (
                vec![api(v2()), endpoint],
                PlanError::EndpointNeedsV3 { at: at() },
                "playbooks/test.yaml:7: `keystone_endpoint` needs the v3 API; after a v2.0 `keystone_api` use `keystone_endpoints`",
            ),
            (
                vec![api(v3()), endpoints.clone()],
                PlanError::EndpointsNeedV2 { at: at() },
                "playbooks/test.yaml:7: `keystone_endpoints` needs a v2.0 `keystone_api` before it",
            ),
            // the last keystone_api decides
            (
                vec![api(v2()), api(v3()), endpoints],
                PlanError::EndpointsNeedV2 { at: at() },
                "playbooks/test.yaml:7: `keystone_endpoints` needs a v2.0 `keystone_api` before it",
            ),
        ];
        for (resources, want, message) in cases {
            let e = plan(&resources, &answers()).unwrap_err();
            assert_eq!(e, want);
            assert_eq!(e.to_string(), message);
        }
    }
}
