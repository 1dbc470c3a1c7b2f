//! Admission, under one lock of the world: classify, authenticate, throttle, then let the
//! fault injector have its say. A refused request is answered (or dropped) and logged here.

use std::ops::ControlFlow;
use std::time::Instant;

use axum::body::Body;
use axum::http::Response;
use serde_json::json;

use super::Shared;
use super::answer::Accepted;
use super::classify::{Classified, classify, product_name};
use super::request::Incoming;
use super::respond::{Outcome, dropped, error_outcome, finish};
use crate::sim::auth::{Principal, SignedRequest};
use crate::sim::clock::{fmt_iso, wall_millis};
use crate::sim::echo;
use crate::sim::faults::{Echo, Injected};
use crate::sim::reqlog::RequestRecord;
use crate::sim::sts;
use crate::sim::wire::{ApiError, Product};
use crate::sim::world::World;

/// What an injected fault changes about an admitted call.
#[derive(Default)]
pub(super) struct FaultEffects {
    /// Text an `echoSecrets` fault appends to the answer's free text.
    echo: Option<String>,
    /// Real milliseconds to wait before handling the call.
    pub delay: Option<u64>,
    /// Real milliseconds to wait after handling the call, before answering.
    pub answer_delay: Option<u64>,
    /// Handle the call, then close the connection without answering.
    pub lose_response: bool,
}

/// Why a request never reaches the world.
enum Refusal {
    Answer(Product, Outcome),
    /// An injected `drop` fault: close the connection without answering.
    Drop,
}

impl Refusal {
    fn error(product: Product, e: &ApiError, request_id: &str) -> Self {
        Refusal::Answer(product, error_outcome(product, e, request_id))
    }
}

/// Admits a request, or breaks off with the answer to its refusal.
pub(super) fn admit(
    shared: &Shared,
    incoming: &Incoming,
    body: &[u8],
    mut record: RequestRecord,
    started: Instant,
) -> ControlFlow<Response<Body>, (Accepted, FaultEffects)> {
    let mut world = shared.lock();
    let request_id = world.ids.request_id();
    record.sim_time = fmt_iso(world.clock.now());
    match screen(&mut world, incoming, body, &mut record, &request_id) {
        Ok((classified, principal, mut effects)) => {
            let accepted = Accepted {
                record,
                classified,
                principal,
                request_id,
                echo: effects.echo.take(),
                started,
            };
            ControlFlow::Continue((accepted, effects))
        }
        Err(Refusal::Answer(product, outcome)) => ControlFlow::Break(finish(
            &mut world,
            record,
            product,
            outcome,
            &request_id,
            started,
        )),
        Err(Refusal::Drop) => ControlFlow::Break(dropped(&mut world, record, request_id, started)),
    }
}

/// The checks in order; the record learns each finding as it is made, so a refusal is
/// logged with everything known up to it.
fn screen(
    world: &mut World,
    incoming: &Incoming,
    body: &[u8],
    record: &mut RequestRecord,
    request_id: &str,
) -> Result<(Classified, Option<Principal>, FaultEffects), Refusal> {
    let classified =
        classify(incoming, body).map_err(|(product, e)| Refusal::error(product, &e, request_id))?;
    let product = classified.product;
    record.product = Some(product_name(product).into());
    record.action = Some(classified.action.clone());
    record.version = Some(classified.version.clone());
    let principal = authenticate(world, incoming, body, &classified)
        .map_err(|e| Refusal::error(product, &e, request_id))?;
    if let Some(p) = &principal {
        record.access_key_id = Some(p.access_key_id.clone());
        record.account_id = Some(p.account_id.clone());
    }
    throttle(world, &classified, principal.as_ref())
        .map_err(|e| Refusal::error(product, &e, request_id))?;
    let effects = inject_fault(
        world,
        &classified,
        principal.as_ref(),
        incoming,
        body,
        record,
        request_id,
    )?;
    Ok((classified, principal, effects))
}

/// The signer of the request; `None` only for the STS actions that may be called unsigned.
fn authenticate(
    world: &mut World,
    incoming: &Incoming,
    body: &[u8],
    classified: &Classified,
) -> Result<Option<Principal>, ApiError> {
    let signed = SignedRequest {
        method: &incoming.method,
        raw_path: &incoming.path,
        query: classified.query.pairs(),
        headers: &incoming.headers,
        body,
    };
    match world
        .creds
        .verify(&signed, classified.rpc_params.as_ref(), wall_millis())
    {
        Ok(Some(p)) => Ok(Some(p)),
        Ok(None)
            if classified.product == Product::Sts
                && sts::ANONYMOUS.contains(&classified.action.as_str()) =>
        {
            Ok(None)
        }
        refused => Err(refused.err().unwrap_or_else(|| {
            ApiError::missing(if classified.product == Product::Mms {
                "Authorization"
            } else {
                "AccessKeyId"
            })
        })),
    }
}

/// Rate limits are per account; unsigned calls share one `anonymous` budget.
fn throttle(
    world: &mut World,
    classified: &Classified,
    principal: Option<&Principal>,
) -> Result<(), ApiError> {
    let account = principal
        .map(|p| p.account_id.as_str())
        .unwrap_or("anonymous");
    world.limits.check(account, &classified.action)
}

/// Rolls the fault injector; faults that replace the answer come back as refusals.
fn inject_fault(
    world: &mut World,
    classified: &Classified,
    principal: Option<&Principal>,
    incoming: &Incoming,
    body: &[u8],
    record: &mut RequestRecord,
    request_id: &str,
) -> Result<FaultEffects, Refusal> {
    let ak = principal.map(|p| p.access_key_id.clone());
    // Remembered on every call, echoed or not, so a later echo to the account can repeat them.
    let secrets = request_secrets(world, classified, principal, incoming, body);
    let World { faults, ids, .. } = world;
    let fault = faults.decide(&classified.action, ak.as_deref(), ids);
    if let Some(injected) = &fault {
        record.fault = Some(injected.label());
    }
    let product = classified.product;
    let mut effects = FaultEffects::default();
    match fault {
        None => {}
        Some(Injected::EchoSecrets(Echo::FreeText)) => {
            effects.echo = Some(echo::echo_text(&secrets));
        }
        Some(Injected::EchoSecrets(how)) => {
            let outcome = echo_error(product, &how, &secrets, request_id);
            return Err(Refusal::Answer(product, outcome));
        }
        Some(Injected::Fail(e)) => return Err(Refusal::error(product, &e, request_id)),
        Some(Injected::Drop) => return Err(Refusal::Drop),
        Some(Injected::Delay(ms)) => effects.delay = Some(ms),
        Some(Injected::DelayAnswer(ms)) => effects.answer_delay = Some(ms),
        Some(Injected::LoseResponse) => effects.lose_response = true,
    }
    Ok(effects)
}

/// The secrets `classified` carries (see [`echo`]); remembers its password parameters for
/// later echoes to the same account.
fn request_secrets(
    world: &mut World,
    classified: &Classified,
    principal: Option<&Principal>,
    incoming: &Incoming,
    body: &[u8],
) -> Vec<String> {
    let mut sent: Vec<String> = match &classified.rpc_params {
        Some(p) => echo::secret_params(p.pairs().iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        None => echo::secret_fields(body),
    };
    sent.extend(
        incoming
            .headers
            .iter()
            .filter(|(k, v)| k == "x-acs-security-token" && !v.is_empty())
            .map(|(_, v)| v.clone()),
    );
    let Some(p) = principal else {
        return sent;
    };
    world.seen_secrets.remember(&p.account_id, &sent);
    let mut all: Vec<String> = world.seen_secrets.of(&p.account_id).to_vec();
    all.extend(world.creds.signing_secret(&p.access_key_id));
    all
}

/// The error answer of an `echoSecrets` fault with a status.
fn echo_error(product: Product, how: &Echo, secrets: &[String], request_id: &str) -> Outcome {
    let text = echo::echo_text(secrets);
    match how {
        Echo::Business { code } if product == Product::Mms => Outcome {
            status: 200,
            body: json!({"requestId": request_id, "success": false, "httpCode": 400,
                "errorCode": code, "errorMsg": format!("the job could not be read: {text}"),
                "data": null}),
            retry_after_ms: None,
            code: Some(code.clone()),
        },
        Echo::Business { code } => error_outcome(
            product,
            &ApiError::business(code, "The operation failed: %s", &text, 400),
            request_id,
        ),
        Echo::Error { status, code } => error_outcome(
            product,
            &ApiError::new(*status, code, format!("cannot connect with {text}")),
            request_id,
        ),
        Echo::FreeText => unreachable!("free-text echoes are added to the normal answer"),
    }
}
