//! OSS requests of DataWorks packages.

use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode};

use super::Shared;
use super::request::Incoming;
use crate::sim::clock::{fmt_iso, wall_millis};
use crate::sim::reqlog::RequestRecord;
use crate::sim::wire::Params;

/// An OSS request of a DataWorks package (upload form POST or pre-signed GET): OSS checks its
/// own signatures, not the V3 ones, and answers in XML.
pub(super) fn answer(
    shared: &Shared,
    mut record: RequestRecord,
    action: &'static str,
    incoming: &Incoming,
    body: &[u8],
    started: Instant,
) -> Response<Body> {
    let mut world = shared.lock();
    let now = world.advance();
    let rid = world.ids.request_id();
    let now_secs = wall_millis() / 1000;
    let (status, content_type, bytes) = if action == "PostObject" {
        let content_type = incoming.header("content-type").unwrap_or_default();
        let (status, xml) = world
            .dataworks
            .oss
            .post_object(content_type, body, now_secs);
        (status, "application/xml", xml.into_bytes())
    } else {
        world.dataworks.oss.get_object(
            &incoming.path,
            &Params::from_query(&incoming.raw_query),
            now_secs,
        )
    };
    record.sim_time = fmt_iso(now);
    record.product = Some("OSS".into());
    record.action = Some(action.into());
    record.status = status;
    record.request_id = Some(rid.clone());
    record.duration_ms = started.elapsed().as_millis() as u64;
    // The path of a pre-signed GET is logged without its query (the signature).
    world.log.push(record);
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&rid) {
        resp.headers_mut().insert("x-oss-request-id", v);
    }
    resp
}
