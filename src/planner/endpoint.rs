//! Endpoints: `keystone_endpoint` (v3, one record per interface) and
//! `keystone_endpoints` (v2.0, one record with the three URLs).

use super::keystone_api::catalog;
use super::{Cx, Decision, PlanError, change, noop};
use crate::openstack::keystone::{Call, EndpointFact};
use crate::plan::Action;
use crate::resource::{Kind, Resource};

pub(super) fn v3(cx: &mut Cx<'_>, r: &Resource) -> Result<Decision, PlanError> {
    let Kind::KeystoneEndpoint {
        service_type,
        interface,
        region,
        url,
    } = &r.kind
    else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    let cat = catalog(cx, r)?;
    let found = cat.facts.endpoints.iter().find(|e| {
        e.service_type == *service_type && e.interface == *interface && e.region == *region
    });
    Ok(match found {
        None => change(
            r,
            Action::Create,
            cat.missing("does not exist"),
            cat.op(Call::CreateEndpoint {
                service_type: service_type.clone(),
                interface: interface.clone(),
                region: region.clone(),
                url: url.clone(),
            }),
        )
        .into(),
        Some(e) if e.url != *url => change(
            r,
            Action::Update,
            format!("url {} → {url}", e.url),
            cat.op(Call::UpdateEndpoint {
                id: e.id.clone(),
                url: url.clone(),
            }),
        )
        .into(),
        Some(_) => noop("url matches"),
    })
}

pub(super) fn v2(cx: &mut Cx<'_>, r: &Resource) -> Result<Decision, PlanError> {
    let Kind::KeystoneEndpoints {
        service_type,
        region,
        publicurl,
        internalurl,
        adminurl,
    } = &r.kind
    else {
        unreachable!("planner::plan_one dispatches by kind")
    };
    let cat = catalog(cx, r)?;
    let mine: Vec<&EndpointFact> = cat
        .facts
        .endpoints
        .iter()
        .filter(|e| e.service_type == *service_type && e.region == *region)
        .collect();
    let want = [
        ("admin", adminurl),
        ("internal", internalurl),
        ("public", publicurl),
    ];
    let differs: Vec<String> = want
        .iter()
        .filter_map(
            |(iface, url)| match mine.iter().find(|e| e.interface == *iface) {
                Some(e) if e.url == **url => None,
                Some(e) => Some(format!("{iface}url {} → {url}", e.url)),
                None => Some(format!("no {iface}url")),
            },
        )
        .collect();
    Ok(match mine.first() {
        None => change(
            r,
            Action::Create,
            cat.missing("does not exist"),
            cat.op(Call::CreateEndpointV2 {
                service_type: service_type.clone(),
                region: region.clone(),
                publicurl: publicurl.clone(),
                internalurl: internalurl.clone(),
                adminurl: adminurl.clone(),
            }),
        )
        .into(),
        Some(e) if !differs.is_empty() => change(
            r,
            Action::Update,
            differs.join("; "),
            cat.op(Call::ReplaceEndpointV2 {
                id: e.id.clone(),
                service_type: service_type.clone(),
                region: region.clone(),
                publicurl: publicurl.clone(),
                internalurl: internalurl.clone(),
                adminurl: adminurl.clone(),
            }),
        )
        .into(),
        Some(_) => noop("the three URLs match"),
    })
}
