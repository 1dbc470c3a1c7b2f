//! The path of a cloud API request, phase by phase: parse, read the body, admit (classify,
//! authenticate, throttle, decide faults), act on the world and answer, deliver.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{Request, Response};

use super::admission::{FaultEffects, admit};
use super::answer::answer;
use super::respond::{error_outcome, finish};
use super::{DropConnection, MAX_BODY, Shared, oss};
use crate::sim::clock::{fmt_iso, wall_millis};
use crate::sim::dataworks;
use crate::sim::reqlog::RequestRecord;
use crate::sim::wire::{ApiError, Params, Product};

/// The request line and headers (names lower-cased).
pub(super) struct Incoming {
    pub method: String,
    pub path: String,
    pub raw_query: String,
    pub headers: Vec<(String, String)>,
}

impl Incoming {
    fn parse(parts: &Parts) -> Self {
        Self {
            method: parts.method.as_str().to_string(),
            path: parts.uri.path().to_string(),
            raw_query: parts.uri.query().unwrap_or("").to_string(),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_ascii_lowercase(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
        }
    }

    /// The first value of a header (`name` in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The request-log record as far as the request line tells.
    fn record(&self, received: String) -> RequestRecord {
        RequestRecord {
            seq: 0,
            time: received,
            sim_time: String::new(),
            method: self.method.clone(),
            path: self.path.clone(),
            product: None,
            action: None,
            version: None,
            status: 0,
            code: None,
            access_key_id: None,
            account_id: None,
            request_id: None,
            duration_ms: 0,
            fault: None,
            note: None,
        }
    }
}

/// Serves every request outside `/_sim/`.
pub(super) async fn cloud(State(shared): State<Arc<Shared>>, req: Request<Body>) -> Response<Body> {
    let started = Instant::now();
    let received = fmt_iso(wall_millis());
    let (parts, body) = req.into_parts();
    let incoming = Incoming::parse(&parts);
    let record = incoming.record(received);
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return unreadable_body(&shared, record, started);
    };
    if let Some(action) = dataworks::oss::classify(
        &incoming.method,
        &incoming.path,
        &Params::from_query(&incoming.raw_query),
        incoming.header("content-type"),
    ) {
        return oss::answer(&shared, record, action, &incoming, &body, started);
    }
    let (accepted, effects) = match admit(&shared, &incoming, &body, record, started) {
        ControlFlow::Continue(admitted) => admitted,
        ControlFlow::Break(refused) => return refused,
    };
    if let Some(ms) = effects.delay {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let resp = answer(&shared, accepted, &body);
    deliver(resp, &effects).await
}

fn unreadable_body(shared: &Shared, record: RequestRecord, started: Instant) -> Response<Body> {
    let mut world = shared.lock();
    let rid = world.ids.request_id();
    let e = ApiError::new(
        400,
        "InvalidParameter",
        "The request body is too large or unreadable.",
    );
    let outcome = error_outcome(Product::Dts, &e, &rid);
    finish(&mut world, record, Product::Dts, outcome, &rid, started)
}

/// Hands the answer over, unless a fault loses it or holds it back.
async fn deliver(mut resp: Response<Body>, effects: &FaultEffects) -> Response<Body> {
    if effects.lose_response {
        resp.extensions_mut().insert(DropConnection);
        return resp;
    }
    if let Some(ms) = effects.answer_delay {
        // Committed and logged; the client hears about it only later (or never).
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    resp
}
