//! The admin API under `/_sim/` (JSON, unauthenticated, loopback peers only): inspect state and
//! the request log, steer DTS jobs (lag, failure, precheck items), plan MMS failures, grow MMS
//! sources, inject faults, move the clock, reset. [`AdminClient`] is its typed Rust client.

mod client;
pub mod types;

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

pub use client::AdminClient;
use types::*;

use super::clock::{fmt_iso, parse_time};
use super::dts::job::{DdlEvent, DtsJob, ItemConfig, Phase};
use super::faults::OneShotFault;
use super::mms::engine::{InventoryError, NewPartitions};
use super::reqlog::RequestRecord;
use super::scenario::{LagCurve, MmsFailureSpec, PrecheckItemSpec};
use super::server::{PeerAddr, Shared};
use super::world::World;

type St = State<Arc<Shared>>;
type Reply = Result<Json<Value>, (StatusCode, Json<Value>)>;

fn fail(status: StatusCode, msg: impl Into<String>) -> (StatusCode, Json<Value>) {
    (status, Json(json!({"error": msg.into()})))
}

/// The admin routes (to be nested under `/_sim`).
pub fn router() -> axum::Router<Arc<Shared>> {
    axum::Router::new()
        .route("/health", get(health))
        .route("/state", get(state))
        .route("/accounts", get(accounts))
        .route("/requests", get(requests).delete(clear_requests))
        .route("/clock", get(clock))
        .route("/clock/advance", post(advance))
        .route("/clock/set", post(set_time))
        .route("/clock/scale", post(set_scale))
        .route("/reset", post(reset))
        .route(
            "/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/dts/jobs", get(dts_jobs))
        .route("/dts/jobs/{id}", get(dts_job))
        .route("/dts/jobs/{id}/lag", post(dts_lag))
        .route("/dts/jobs/{id}/fail", post(dts_fail))
        .route("/dts/jobs/{id}/recover", post(dts_recover))
        .route("/dts/jobs/{id}/precheck", post(dts_precheck))
        .route("/dts/jobs/{id}/check-diff", post(dts_check_diff))
        .route("/dts/jobs/{id}/writes", post(dts_writes))
        .route("/dts/jobs/{id}/ddl", post(dts_ddl))
        .route("/mms/jobs", get(mms_jobs))
        .route("/mms/sources/{source}/partitions", post(add_mms_partitions))
        .route(
            "/mms/failures",
            get(mms_failures)
                .post(add_mms_failure)
                .delete(clear_mms_failures),
        )
        .route("/dataworks/migrations", get(dataworks_migrations))
        .route(
            "/dataworks/failures",
            post(add_dataworks_failure).delete(clear_dataworks_failures),
        )
        .route("/sts/expire", post(sts_expire))
        .layer(axum::middleware::from_fn(loopback_only))
}

async fn loopback_only(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let local = req
        .extensions()
        .get::<PeerAddr>()
        .is_some_and(|p| p.0.ip().is_loopback());
    if !local {
        return axum::response::IntoResponse::into_response(fail(
            StatusCode::FORBIDDEN,
            "the admin API only answers loopback clients",
        ));
    }
    next.run(req).await
}

async fn health(State(s): St) -> Json<Value> {
    let w = s.lock();
    Json(json!({"ok": true, "now": fmt_iso(w.clock.now()), "scale": w.clock.scale()}))
}

fn clock_view(w: &World) -> ClockView {
    let now = w.clock.now();
    ClockView {
        now: fmt_iso(now),
        now_millis: now,
        scale: w.clock.scale(),
    }
}

async fn state(State(s): St) -> Json<Value> {
    let mut w = s.lock();
    let now = w.advance();
    let accounts: Vec<Value> = w
        .creds
        .account_summaries()
        .into_iter()
        .map(|(id, uid, active)| json!({"accessKeyId": id, "accountId": uid, "active": active}))
        .collect();
    Json(json!({
        "scenario": w.config.scenario.name,
        "clock": clock_view(&w),
        "seed": w.config.seed,
        "accounts": accounts,
        "temporaryCredentials": w.creds.temporary_count(),
        "dts": w.dts.summary(now),
        "mms": w.mms.summary(),
        "dataworks": w.dataworks.summary(),
        "faults": w.faults.one_shots,
    }))
}

async fn accounts(State(s): St) -> Json<Value> {
    let w = s.lock();
    Json(json!(
        w.creds
            .account_summaries()
            .into_iter()
            .map(|(id, uid, active)| json!({"accessKeyId": id, "accountId": uid, "active": active}))
            .collect::<Vec<_>>()
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestsQuery {
    since: Option<u64>,
    action: Option<String>,
}

async fn requests(State(s): St, Query(q): Query<RequestsQuery>) -> Json<Vec<RequestRecord>> {
    let w = s.lock();
    let mut records = w.log.since(q.since.unwrap_or(0));
    if let Some(a) = q.action {
        records.retain(|r| r.action.as_deref() == Some(a.as_str()));
    }
    Json(records)
}

async fn clear_requests(State(s): St) -> Json<Value> {
    s.lock().log.clear();
    Json(json!({"ok": true}))
}

async fn clock(State(s): St) -> Json<ClockView> {
    Json(clock_view(&s.lock()))
}

async fn advance(
    State(s): St,
    Json(r): Json<AdvanceRequest>,
) -> Result<Json<ClockView>, (StatusCode, Json<Value>)> {
    if !r.seconds.is_finite() || r.seconds < 0.0 {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "seconds must be a non-negative number",
        ));
    }
    let mut w = s.lock();
    w.clock.advance((r.seconds * 1000.0) as i64);
    w.advance();
    Ok(Json(clock_view(&w)))
}

async fn set_time(
    State(s): St,
    Json(r): Json<SetTimeRequest>,
) -> Result<Json<ClockView>, (StatusCode, Json<Value>)> {
    let target = parse_time(&r.time)
        .ok_or_else(|| fail(StatusCode::BAD_REQUEST, "time must be RFC 3339"))?;
    let mut w = s.lock();
    w.clock
        .set(target)
        .map_err(|e| fail(StatusCode::BAD_REQUEST, e))?;
    w.advance();
    Ok(Json(clock_view(&w)))
}

async fn set_scale(
    State(s): St,
    Json(r): Json<ScaleRequest>,
) -> Result<Json<ClockView>, (StatusCode, Json<Value>)> {
    if !r.scale.is_finite() || r.scale < 0.0 {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "scale must be a non-negative number",
        ));
    }
    let mut w = s.lock();
    w.advance();
    w.clock.set_scale(r.scale);
    Ok(Json(clock_view(&w)))
}

async fn reset(State(s): St) -> Reply {
    let mut w = s.lock();
    w.reset()
        .map_err(|e| fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(json!({"ok": true})))
}

async fn list_faults(State(s): St) -> Json<Vec<OneShotFault>> {
    Json(s.lock().faults.one_shots.clone())
}

async fn add_fault(State(s): St, Json(f): Json<OneShotFault>) -> Json<IdResponse> {
    Json(IdResponse {
        id: s.lock().faults.arm(f),
    })
}

async fn clear_faults(State(s): St) -> Json<Value> {
    s.lock().faults.one_shots.clear();
    Json(json!({"ok": true}))
}

fn job_view(w: &World, job: &DtsJob, now: i64) -> DtsJobView {
    let ctx = w.dts.ctx();
    let timings = &w.dts.spec.timings;
    let (pre, _) = job.precheck_status(now, timings);
    DtsJobView {
        dts_job_id: job.id.clone(),
        dts_instance_id: job.instance_id.clone(),
        account_id: job.account_id.clone(),
        status: job.status().to_string(),
        legacy: job.legacy,
        name: job.config.as_ref().map(|c| c.name.clone()),
        phase: format!("{:?}", job.phase),
        precheck_status: pre.to_string(),
        precheck_runs: job.precheck_runs,
        precheck_items: job
            .precheck_items(now, timings)
            .into_iter()
            .map(|i| PrecheckItemView {
                item: i.item,
                state: i.state.to_string(),
                message: i.message,
            })
            .collect(),
        structure_status: job.stage_status(Phase::Structure, timings).0.to_string(),
        full_status: job.stage_status(Phase::Full, timings).0.to_string(),
        incremental_status: job.sync_status(now, ctx).to_string(),
        lag_ms: job.lag_ms(now, ctx),
        checkpoint: job.checkpoint(now, ctx),
        retry_count: job.retry_count,
        error_message: job.error_message.clone(),
        lag_overridden: job.lag_override.is_some(),
        writes: job
            .writes
            .view(job.checkpoint_ms(now, ctx), job.stop_checkpoint.is_some()),
        monitor_rules: job
            .monitor_rules
            .iter()
            .map(|r| {
                (
                    r.kind.clone(),
                    r.state.clone(),
                    r.delay_rule_time,
                    r.phone.clone(),
                )
            })
            .collect(),
        db_list: job.config.as_ref().map(|c| c.db_list.clone()),
        reserve: job.config.as_ref().map(|c| c.reserve.clone()),
    }
}

/// Finds a job by job id or instance id, in any account.
fn find_job(w: &World, id: &str) -> Result<String, (StatusCode, Json<Value>)> {
    w.dts
        .jobs
        .values()
        .find(|j| j.id == id || j.instance_id.as_deref() == Some(id))
        .map(|j| j.id.clone())
        .ok_or_else(|| {
            fail(
                StatusCode::NOT_FOUND,
                format!("no DTS job or instance {id}"),
            )
        })
}

async fn dts_jobs(State(s): St) -> Json<Vec<DtsJobView>> {
    let mut w = s.lock();
    let now = w.advance();
    Json(w.dts.jobs.values().map(|j| job_view(&w, j, now)).collect())
}

async fn dts_job(
    State(s): St,
    Path(id): Path<String>,
) -> Result<Json<DtsJobView>, (StatusCode, Json<Value>)> {
    let mut w = s.lock();
    let now = w.advance();
    let id = find_job(&w, &id)?;
    Ok(Json(job_view(&w, &w.dts.jobs[&id], now)))
}

/// Runs `f` on a job with the state-machine context, then returns the job's view.
fn with_job(
    s: &Shared,
    id: &str,
    f: impl FnOnce(&mut DtsJob, i64, super::dts::job::Ctx<'_>) -> Result<(), String>,
) -> Result<Json<DtsJobView>, (StatusCode, Json<Value>)> {
    let mut w = s.lock();
    let now = w.advance();
    let id = find_job(&w, id)?;
    let (job, ctx) = w.dts.job_mut(&id).expect("found");
    f(job, now, ctx).map_err(|e| fail(StatusCode::CONFLICT, e))?;
    Ok(Json(job_view(&w, &w.dts.jobs[&id], now)))
}

async fn dts_lag(
    State(s): St,
    Path(id): Path<String>,
    Json(r): Json<LagRequest>,
) -> Result<Json<DtsJobView>, (StatusCode, Json<Value>)> {
    let curve = if r.clear {
        None
    } else if let Some(c) = r.curve {
        Some(c)
    } else if let Some(secs) = r.seconds {
        if !secs.is_finite() || secs < 0.0 {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                "seconds must be non-negative",
            ));
        }
        Some(LagCurve::constant(super::scenario::Dur::millis(
            (secs * 1000.0) as i64,
        )))
    } else {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "give seconds, curve or clear",
        ));
    };
    with_job(&s, &id, |job, now, ctx| {
        job.set_lag(curve, now, ctx);
        Ok(())
    })
}

async fn dts_fail(
    State(s): St,
    Path(id): Path<String>,
    Json(r): Json<DtsFailRequest>,
) -> Result<Json<DtsJobView>, (StatusCode, Json<Value>)> {
    with_job(&s, &id, |job, now, ctx| {
        let message = r.message.unwrap_or_else(|| {
            if r.retrying {
                "DTS-070211: Connect Source DB failed. cause by [com.mysql.jdbc.exceptions.jdbc4.CommunicationsException: Communications link failure]".into()
            } else {
                "DTS-1020042: Execute sql error on the destination: ODPS-0420061: Invalid parameter in HTTP request".into()
            }
        });
        let recover_at = r.recover_after_seconds.map(|s| now + (s * 1000.0) as i64);
        job.inject_failure(message, r.retrying, recover_at, now, ctx)
    })
}

async fn dts_recover(
    State(s): St,
    Path(id): Path<String>,
) -> Result<Json<DtsJobView>, (StatusCode, Json<Value>)> {
    with_job(&s, &id, |job, now, ctx| job.recover(now, ctx))
}

async fn dts_precheck(
    State(s): St,
    Path(id): Path<String>,
    Json(r): Json<PrecheckItemRequest>,
) -> Result<Json<DtsJobView>, (StatusCode, Json<Value>)> {
    with_job(&s, &id, |job, _, _| {
        match job.items.iter_mut().find(|i| i.spec.item == r.item) {
            Some(item) => {
                item.spec.result = r.result;
                item.spec.message = r.message;
                item.spec.repair = r.repair;
                if let Some(can_skip) = r.can_skip {
                    item.spec.can_skip = can_skip;
                }
                item.skipped = false;
            }
            None => job.items.push(ItemConfig {
                spec: PrecheckItemSpec {
                    item: r.item.clone(),
                    description: r.item,
                    incremental_only: false,
                    result: r.result,
                    message: r.message,
                    repair: r.repair,
                    can_skip: r.can_skip.unwrap_or(false),
                },
                skipped: false,
            }),
        }
        Ok(())
    })
}

async fn dts_check_diff(
    State(s): St,
    Path(id): Path<String>,
    Json(r): Json<CheckDiffRequest>,
) -> Result<Json<DtsJobView>, (StatusCode, Json<Value>)> {
    with_job(&s, &id, |job, _, _| {
        let diffs = match r.check_type.unwrap_or(1) {
            1 => &mut job.check_diffs,
            2 => &mut job.inc_check_diffs,
            other => {
                return Err(format!(
                    "checkType {other}: expected 1 (full) or 2 (incremental)"
                ));
            }
        };
        diffs.insert(r.table, r.diff_count.max(0));
        Ok(())
    })
}

async fn dts_writes(
    State(s): St,
    Path(id): Path<String>,
    Json(r): Json<WritesRequest>,
) -> Result<Json<DtsJobView>, (StatusCode, Json<Value>)> {
    with_job(&s, &id, |job, now, _| {
        job.writes.commit(r.count, now);
        Ok(())
    })
}

async fn dts_ddl(
    State(s): St,
    Path(id): Path<String>,
    Json(r): Json<DdlRequest>,
) -> Result<Json<DtsJobView>, (StatusCode, Json<Value>)> {
    with_job(&s, &id, |job, now, _| {
        if job.phase != Phase::Incremental {
            return Err("DDL is met only by a job in its incremental stage".into());
        }
        // The configured destination; a task configured before its purchase has no engine
        // from the purchase.
        let engine = job
            .config
            .as_ref()
            .map(|c| c.dest.engine_name.clone())
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| job.dest_engine.clone());
        let event = DdlEvent::applied(&r.table, &r.sql, now, &engine);
        job.ddl_events.push(event);
        Ok(())
    })
}

async fn mms_jobs(State(s): St) -> Json<Vec<MmsJobView>> {
    let mut w = s.lock();
    w.advance();
    let mms = &w.mms;
    Json(
        mms.jobs
            .values()
            .map(|j| MmsJobView {
                id: j.id,
                source_id: j.source_id,
                source_name: mms
                    .sources
                    .get(&j.source_id)
                    .map(|s| s.name.clone())
                    .unwrap_or_default(),
                name: j.name.clone(),
                src_db_name: j.src_db_name.clone(),
                status: j.status.as_str().to_string(),
                stopped: j.stopped,
                tasks: mms
                    .tasks_of(j.id)
                    .map(|t| MmsTaskView {
                        id: t.id,
                        table: t.src_table_name.clone(),
                        partitions: t.partition_ids.len(),
                        status: t.status.as_str().to_string(),
                        running: t.running(),
                        stopped: t.stopped,
                        retried_times: t.retried_times,
                    })
                    .collect(),
            })
            .collect(),
    )
}

/// Grows a data source (id or name): 404 for an unknown source, database or table, 400 for a
/// non-partitioned table or a malformed value.
async fn add_mms_partitions(
    State(s): St,
    Path(source): Path<String>,
    Json(r): Json<AddPartitionsRequest>,
) -> Result<Json<AddedResponse>, (StatusCode, Json<Value>)> {
    let mut w = s.lock();
    w.advance();
    let source_id = w.mms.resolve_source(&source).ok_or_else(|| {
        fail(
            StatusCode::NOT_FOUND,
            format!("no MMS data source {source}"),
        )
    })?;
    let new = NewPartitions {
        db: &r.db,
        table: &r.table,
        values: &r.values,
        rows: r.rows,
    };
    let added = w
        .mms
        .add_source_partitions(source_id, &new)
        .map_err(|e| match e {
            InventoryError::NotFound(m) => fail(StatusCode::NOT_FOUND, m),
            InventoryError::Invalid(m) => fail(StatusCode::BAD_REQUEST, m),
        })?;
    Ok(Json(AddedResponse { added }))
}

async fn mms_failures(State(s): St) -> Json<Value> {
    Json(json!(s.lock().mms.failures))
}

async fn add_mms_failure(
    State(s): St,
    Json(f): Json<MmsFailureSpec>,
) -> Result<Json<IdResponse>, (StatusCode, Json<Value>)> {
    let mut w = s.lock();
    w.advance();
    let id = w
        .mms
        .add_failure(&f)
        .map_err(|e| fail(StatusCode::NOT_FOUND, e.to_string()))?;
    Ok(Json(IdResponse { id }))
}

async fn clear_mms_failures(State(s): St) -> Json<Value> {
    s.lock().mms.failures.clear();
    Json(json!({"ok": true}))
}

async fn dataworks_migrations(State(s): St) -> Json<Vec<crate::sim::dataworks::TaskView>> {
    let mut w = s.lock();
    w.advance();
    Json(w.dataworks.views())
}

async fn add_dataworks_failure(
    State(s): St,
    Json(f): Json<crate::sim::dataworks::PlannedFailure>,
) -> Json<Value> {
    let mut w = s.lock();
    w.advance();
    w.dataworks.failures.push(f);
    Json(json!({"ok": true}))
}

async fn clear_dataworks_failures(State(s): St) -> Json<Value> {
    s.lock().dataworks.failures.clear();
    Json(json!({"ok": true}))
}

async fn sts_expire(State(s): St, Json(r): Json<ExpireRequest>) -> Json<Value> {
    let n = s
        .lock()
        .creds
        .expire_temporary(r.access_key_id.as_deref(), super::clock::wall_millis());
    Json(json!({"expired": n}))
}
