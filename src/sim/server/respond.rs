//! The last step of every request: log it and write the HTTP response.

use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode};
use serde_json::Value;

use super::DropConnection;
use super::classify::product_name;
use crate::sim::reqlog::RequestRecord;
use crate::sim::wire::{ApiError, Product};
use crate::sim::world::World;

/// An answer before it becomes an HTTP response.
pub(super) struct Outcome {
    pub status: u16,
    pub body: Value,
    pub retry_after_ms: Option<u64>,
    pub code: Option<String>,
}

/// The error answer in the product's shape.
pub(super) fn error_outcome(product: Product, e: &ApiError, request_id: &str) -> Outcome {
    Outcome {
        status: e.http_status(),
        body: e.body(product, request_id),
        retry_after_ms: e.retry_after_ms,
        code: Some(e.code.clone()),
    }
}

/// Logs the request with its outcome and writes the response.
pub(super) fn finish(
    world: &mut World,
    mut record: RequestRecord,
    product: Product,
    outcome: Outcome,
    request_id: &str,
    started: Instant,
) -> Response<Body> {
    record.status = outcome.status;
    record.code = outcome.code;
    record.request_id = Some(request_id.to_string());
    record.duration_ms = started.elapsed().as_millis() as u64;
    if record.product.is_none() && outcome.status != 404 {
        record.product = Some(product_name(product).into());
    }
    tracing::debug!(
        action = record.action.as_deref().unwrap_or("-"),
        status = record.status,
        code = record.code.as_deref().unwrap_or("-"),
        access_key_id = record.access_key_id.as_deref().unwrap_or("-"),
        "request"
    );
    world.log.push(record);
    json_response(
        outcome.status,
        &outcome.body,
        request_id,
        outcome.retry_after_ms,
    )
}

/// Logs a request whose connection an injected fault closes without answering.
pub(super) fn dropped(
    world: &mut World,
    mut record: RequestRecord,
    request_id: String,
    started: Instant,
) -> Response<Body> {
    record.duration_ms = started.elapsed().as_millis() as u64;
    record.request_id = Some(request_id);
    world.log.push(record);
    let mut resp = Response::new(Body::empty());
    resp.extensions_mut().insert(DropConnection);
    resp
}

/// A JSON response with the headers the gateways send.
pub fn json_response(
    status: u16,
    body: &Value,
    request_id: &str,
    retry_after_ms: Option<u64>,
) -> Response<Body> {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-acs-request-id", v);
    }
    if let Some(ms) = retry_after_ms
        && let Ok(v) = HeaderValue::from_str(&ms.to_string())
    {
        h.insert("x-acs-retry-after", v);
    }
    resp
}
