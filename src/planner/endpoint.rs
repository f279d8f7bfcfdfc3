//! Endpoints: `keystone_endpoint` (v3, one record per interface) and
//! `keystone_endpoints` (v2.0, one record with the three URLs).

use super::keystone_api::{Needs, catalog};
use super::{Cx, Decision, PlanError, change, noop};
use crate::desired::resource::{KeystoneEndpointSpec, KeystoneEndpointsSpec, Resource};
use crate::facts::catalog::EndpointFact;
use crate::plan::Action;
use crate::plan::catalog::Call;

pub(super) fn v3(
    cx: &mut Cx<'_>,
    r: &Resource,
    s: &KeystoneEndpointSpec,
) -> Result<Decision, PlanError> {
    let KeystoneEndpointSpec {
        service_type,
        interface,
        region,
        url,
    } = s;
    let cat = catalog(cx, r, Needs::V3)?;
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

pub(super) fn v2(
    cx: &mut Cx<'_>,
    r: &Resource,
    s: &KeystoneEndpointsSpec,
) -> Result<Decision, PlanError> {
    let KeystoneEndpointsSpec {
        service_type,
        region,
        publicurl,
        internalurl,
        adminurl,
    } = s;
    let cat = catalog(cx, r, Needs::V2)?;
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

#[cfg(test)]
mod tests {
    use crate::desired::resource::{KeystoneEndpointSpec, KeystoneEndpointsSpec, Kind, Resource};
    use crate::facts::catalog::EndpointFact;
    use crate::plan::Action::{Create, Update};
    use crate::planner::testkit::*;

    const URL: &str = "http://controller:9292";

    fn endpoint(interface: &str) -> Resource {
        res(Kind::KeystoneEndpoint(KeystoneEndpointSpec {
            service_type: "image".into(),
            interface: interface.into(),
            region: "RegionOne".into(),
            url: URL.into(),
        }))
    }

    fn endpoints() -> Resource {
        res(Kind::KeystoneEndpoints(KeystoneEndpointsSpec {
            service_type: "image".into(),
            region: "RegionOne".into(),
            publicurl: URL.into(),
            internalurl: URL.into(),
            adminurl: "http://controller:9191".into(),
        }))
    }

    fn fact(id: &str, interface: &str, region: &str, url: &str) -> EndpointFact {
        EndpointFact {
            id: id.into(),
            service_type: "image".into(),
            interface: interface.into(),
            region: region.into(),
            url: url.into(),
        }
    }

    fn with(endpoints: Vec<EndpointFact>) -> crate::facts::Facts {
        facts(|f| f.catalog = catalog(|c| c.endpoints = endpoints))
    }

    #[test]
    fn v3_endpoint_table() {
        check(
            &[api(v3())],
            vec![
                (
                    "missing (only another interface and another region exist)",
                    endpoint("public"),
                    with(vec![
                        fact("e1", "internal", "RegionOne", URL),
                        fact("e2", "public", "RegionTwo", URL),
                    ]),
                    change(
                        Create,
                        "does not exist",
                        &["POST /v3/endpoints image public RegionOne http://controller:9292"],
                    ),
                ),
                (
                    "missing, as far as can be seen",
                    endpoint("public"),
                    facts(|f| {
                        f.catalog = catalog(|c| c.unavailable = Some("connection refused".into()))
                    }),
                    change(
                        Create,
                        "does not exist (Keystone is not answering yet)",
                        &["POST /v3/endpoints image public RegionOne http://controller:9292"],
                    ),
                ),
                (
                    "another url",
                    endpoint("public"),
                    with(vec![fact("e1", "public", "RegionOne", "http://old:9292")]),
                    change(
                        Update,
                        "url http://old:9292 → http://controller:9292",
                        &["PATCH /v3/endpoints/e1 url=http://controller:9292"],
                    ),
                ),
                (
                    "as desired",
                    endpoint("public"),
                    with(vec![fact("e1", "public", "RegionOne", URL)]),
                    noop("url matches"),
                ),
            ],
        );
    }

    #[test]
    fn v2_endpoints_table() {
        let all_three = |public: &str| {
            with(vec![
                fact("e1", "admin", "RegionOne", "http://controller:9191"),
                fact("e1", "internal", "RegionOne", URL),
                fact("e1", "public", "RegionOne", public),
            ])
        };
        let replace = "DELETE /v2.0/endpoints/e1, POST /v2.0/endpoints image RegionOne publicurl=http://controller:9292 internalurl=http://controller:9292 adminurl=http://controller:9191";
        check(
            &[api(v2())],
            vec![
                (
                    "missing (one exists in another region)",
                    endpoints(),
                    with(vec![fact("e9", "public", "RegionTwo", URL)]),
                    change(
                        Create,
                        "does not exist",
                        &[
                            "POST /v2.0/endpoints image RegionOne publicurl=http://controller:9292 internalurl=http://controller:9292 adminurl=http://controller:9191",
                        ],
                    ),
                ),
                (
                    "one url differs: the record is replaced",
                    endpoints(),
                    all_three("http://old:9292"),
                    change(
                        Update,
                        "publicurl http://old:9292 → http://controller:9292",
                        &[replace],
                    ),
                ),
                (
                    "an interface missing from the record",
                    endpoints(),
                    with(vec![
                        fact("e1", "admin", "RegionOne", "http://old:9191"),
                        fact("e1", "public", "RegionOne", URL),
                    ]),
                    change(
                        Update,
                        "adminurl http://old:9191 → http://controller:9191; no internalurl",
                        &[replace],
                    ),
                ),
                (
                    "as desired",
                    endpoints(),
                    all_three(URL),
                    noop("the three URLs match"),
                ),
            ],
        );
    }
}
