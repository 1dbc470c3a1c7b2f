//! An admitted call acts on the world at the current simulated time; its answer is built in
//! the product's response shape.

use std::time::Instant;

use axum::body::Body;
use axum::http::Response;
use serde_json::{Value, json};

use super::Shared;
use super::classify::Classified;
use super::respond::{Outcome, error_outcome, finish};
use crate::sim::auth::Principal;
use crate::sim::clock::{fmt_iso, wall_millis};
use crate::sim::dataworks;
use crate::sim::dts::{actions, legacy};
use crate::sim::echo;
use crate::sim::mms::routes as mms_routes;
use crate::sim::sts;
use crate::sim::wire::{ApiError, Params, Product};
use crate::sim::world::World;

/// A request that passed authentication, rate limits and faults.
pub(super) struct Accepted {
    pub record: crate::sim::reqlog::RequestRecord,
    pub classified: Classified,
    pub principal: Option<Principal>,
    pub request_id: String,
    /// Text an `echoSecrets` fault appends to the answer's free text.
    pub echo: Option<String>,
    pub started: Instant,
}

/// Acts on the world and builds the answer (and its request-log record).
pub(super) fn answer(shared: &Shared, accepted: Accepted, body: &[u8]) -> Response<Body> {
    let Accepted {
        mut record,
        classified,
        principal,
        request_id,
        echo,
        started,
    } = accepted;
    let mut world = shared.lock();
    let now = world.advance();
    record.sim_time = fmt_iso(now);
    let product = classified.product;
    let account = principal
        .as_ref()
        .map(|p| p.account_id.clone())
        .unwrap_or_default();
    let purchases_before = world.dts.purchases;
    let result = dispatch(
        &mut world,
        &classified,
        principal.as_ref(),
        &account,
        body,
        now,
    );
    if result.is_ok() && replayed_purchase(&world, &classified, purchases_before) {
        record.note = Some("idempotent replay (ClientToken)".into());
    }
    let mut outcome = match result {
        Ok(data) => success(product, data, &request_id),
        Err(e) => failure(&classified, &e, &request_id),
    };
    if let Some(text) = &echo
        && outcome.status == 200
    {
        echo::append_to_free_text(&mut outcome.body, text);
    }
    finish(&mut world, record, product, outcome, &request_id, started)
}

/// Whether a successful purchase bought nothing because its `ClientToken` was seen before.
fn replayed_purchase(world: &World, classified: &Classified, purchases_before: u64) -> bool {
    matches!(
        classified.action.as_str(),
        "CreateDtsInstance" | "CreateMigrationJob"
    ) && world.dts.purchases == purchases_before
        && classified
            .rpc_params
            .as_ref()
            .and_then(|p| p.get("ClientToken"))
            .is_some()
}

/// MMS wraps the data in `{requestId, data}`; the RPC products add `RequestId` to theirs.
fn success(product: Product, data: Value, request_id: &str) -> Outcome {
    let body = match product {
        Product::Mms => json!({"requestId": request_id, "data": data}),
        _ => {
            let mut body = data;
            body["RequestId"] = json!(request_id);
            body
        }
    };
    Outcome {
        status: 200,
        body,
        retry_after_ms: None,
        code: None,
    }
}

fn failure(classified: &Classified, e: &ApiError, request_id: &str) -> Outcome {
    let mut outcome = error_outcome(classified.product, e, request_id);
    if e.business.is_some()
        && legacy::ACTIONS.contains(&classified.action.as_str())
        && let Some(body) = outcome.body.as_object_mut()
    {
        // Legacy responses carry no Dynamic*/HttpStatusCode members.
        for key in ["DynamicMessage", "DynamicCode", "HttpStatusCode"] {
            body.remove(key);
        }
    }
    outcome
}

/// Hands the call to its product.
fn dispatch(
    world: &mut World,
    c: &Classified,
    principal: Option<&Principal>,
    account: &str,
    body: &[u8],
    now: i64,
) -> Result<Value, ApiError> {
    let region = world.config.scenario.region.clone();
    match c.product {
        Product::Mms => {
            let route = c.mms_route.as_ref().expect("MMS requests carry a route");
            mms_routes::handle(&mut world.mms, route, &c.query, body, now, &region)
        }
        Product::Dts => dispatch_dts(world, c, rpc_params(c), account, now, &region),
        Product::DataWorks => {
            dataworks::handle(&mut world.dataworks, &c.action, rpc_params(c), account, now)
        }
        Product::OpenPlatform => {
            dataworks::handle_openplatform(&mut world.dataworks, &c.action, rpc_params(c), account)
        }
        Product::Sts => {
            let spec = world.config.scenario.sts.clone();
            let World { creds, ids, .. } = world;
            sts::handle(
                &c.action,
                rpc_params(c),
                principal,
                creds,
                ids,
                &spec,
                wall_millis(),
            )
        }
    }
}

fn rpc_params(c: &Classified) -> &Params {
    c.rpc_params.as_ref().expect("RPC requests carry params")
}

/// DTS serves the 2020-01-01 actions and the legacy migration-job ones; the call's own
/// `RegionId` wins over the scenario's region.
fn dispatch_dts(
    world: &mut World,
    c: &Classified,
    params: &Params,
    account: &str,
    now: i64,
    region: &str,
) -> Result<Value, ApiError> {
    let call = actions::Call {
        params,
        account,
        now,
        region: params.get_any(&["RegionId", "Region"]).unwrap_or(region),
    };
    let World { dts, ids, .. } = world;
    if legacy::ACTIONS.contains(&c.action.as_str()) {
        legacy::handle(dts, ids, &c.action, call)
    } else {
        actions::handle(dts, ids, &c.action, call)
    }
}
