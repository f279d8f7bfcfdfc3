//! `keystone_api`: the Keystone API the catalog resources after it talk to,
//! waited for when it does not answer; and the view of the catalog those
//! resources are planned against.

use super::{Cx, Decision, PlanError, change, noop};
use crate::openstack::keystone::{Admin, Call, CatalogFacts};
use crate::plan::{Action, Op};
use crate::resource::{Kind, Resource};
use std::borrow::Cow;

pub(super) fn plan(cx: &mut Cx<'_>, r: &Resource) -> Result<Decision, PlanError> {
    let Kind::KeystoneApi { admin } = &r.kind else {
        unreachable!("planner::plan_one dispatches by kind")
    };
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
    Ok(
        match facts.catalog.as_ref().and_then(|c| c.unavailable.as_ref()) {
            None if facts.catalog.is_some() => noop("the API answers"),
            why => change(
                r,
                Action::Run,
                match why {
                    Some(w) if w.starts_with("Keystone refuses") => {
                        format!("{w}; apply fails unless a step above fixes that")
                    }
                    w => format!(
                        "the API does not answer yet ({})",
                        w.map_or("not asked", String::as_str)
                    ),
                },
                vec![Op::Keystone {
                    admin: admin.clone(),
                    call: Call::Wait { timeout_secs: 180 },
                }],
            )
            .into(),
        },
    )
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

pub(super) fn catalog<'a>(cx: &Cx<'a>, r: &Resource) -> Result<Catalog<'a>, PlanError> {
    let Some(admin) = cx.api.clone() else {
        return Err(PlanError::NoKeystoneApi {
            at: r.source.clone(),
        });
    };
    match (&r.kind, admin.is_v2()) {
        (Kind::KeystoneEndpoint { .. }, true) => {
            return Err(PlanError::EndpointNeedsV3 {
                at: r.source.clone(),
            });
        }
        (Kind::KeystoneEndpoints { .. }, false) => {
            return Err(PlanError::EndpointsNeedV2 {
                at: r.source.clone(),
            });
        }
        _ => {}
    }
    let (facts, down) = match cx.facts.catalog.as_ref() {
        Some(c) if c.unavailable.is_none() => (Cow::Borrowed(c), false),
        _ => (Cow::Owned(CatalogFacts::default()), true),
    };
    Ok(Catalog { facts, down, admin })
}
