//! MmsJob controller: create the job, follow its tasks, suspend, resume, retry, delete.
//! fetch (DataSource, MMS) → decide (pure, `decide.rs`) → act → report.

pub mod decide;

use std::collections::BTreeMap;
use std::sync::Arc;

use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::{Resource, ResourceExt};

use super::context::Context;
use super::credentials;
use super::error::{Error, Result};
use super::managed::{
    is_paused, paused, publish, reconcile_requested_at, rejected, report, validate,
};
use super::runner;
use crate::aliyun::MmsClient;
use crate::aliyun::mms::{CreateMmsJobRequest, ListJobsRequest, ListTasksRequest, TaskStatus};
use crate::api::common::{DeletionPolicy, FINALIZER};
use crate::api::conditions::{self, READY};
use crate::api::data_source::DataSource;
use crate::api::mms_job::{FailedTask, MmsJob, MmsJobPhase, MmsJobStatus};
use decide::{Act, AsyncTaskView, JobView, Observed, SourceState};

/// Log lines kept per failed task.
const LOG_LINES: usize = 3;

/// Runs the MmsJob controller until `shutdown`.
pub async fn run(
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let controller = runner::controller::<MmsJob>(&ctx);
    let jobs = controller.store();
    // DataSources come from a cache, not a read per reconcile; a DataSource turning Ready (or
    // changing) wakes the jobs that use it.
    let (sources, writer) = reflector::store::<DataSource>();
    let controller = controller.watches_stream(
        runner::cached(&ctx, writer).touched_objects(),
        move |source| {
            jobs.state()
                .into_iter()
                .filter(|job| {
                    job.namespace() == source.namespace()
                        && job.spec.data_source_ref.name == source.name_any()
                })
                .map(|job| ObjectRef::from_obj(job.as_ref()))
                .collect::<Vec<_>>()
        },
    );
    runner::drive(controller, ctx, shutdown, move |job, ctx| {
        reconcile(job, ctx, sources.clone())
    })
    .await;
}

async fn reconcile(
    job: Arc<MmsJob>,
    ctx: Arc<Context>,
    sources: Store<DataSource>,
) -> Result<Action> {
    // Until the first list has arrived, every DataSource would look missing.
    sources
        .wait_until_ready()
        .await
        .map_err(|_| Error::Dependency("the DataSource cache has stopped".into()))?;
    let api: Api<MmsJob> =
        Api::namespaced(ctx.client.clone(), &job.namespace().unwrap_or_default());
    finalizer(&api, FINALIZER, job, |event| async {
        match event {
            Finalizer::Apply(job) => apply(job, ctx.clone(), &sources).await,
            Finalizer::Cleanup(job) => cleanup(job, ctx.clone(), &sources).await,
        }
    })
    .await
    .map_err(super::finalizer_error)
}

/// Where the job's DataSource stands, and a client for its region and credentials.
async fn source(
    ctx: &Context,
    job: &MmsJob,
    sources: &Store<DataSource>,
) -> Result<(SourceState, Option<MmsClient>)> {
    let ns = job.namespace().unwrap_or_default();
    let name = &job.spec.data_source_ref.name;
    let Some(ds) = sources.get(&ObjectRef::new(name).within(&ns)) else {
        return Ok((
            SourceState {
                ready: false,
                source_id: None,
                message: format!("DataSource {ns}/{name} does not exist"),
            },
            None,
        ));
    };
    let status = ds.status.clone().unwrap_or_default();
    let ready = conditions::is_true(&status.conditions, READY, ds.meta().generation)
        && status.source_id.is_some();
    let message = conditions::find(&status.conditions, READY)
        .map(|c| format!("{}: {}", c.reason, c.message))
        .unwrap_or_else(|| "not reconciled yet".into());
    if !ready {
        return Ok((
            SourceState {
                ready,
                source_id: status.source_id,
                message,
            },
            None,
        ));
    }
    let creds = credentials::resolve(&ctx.client, &ns, ds.spec.credentials.as_ref()).await?;
    Ok((
        SourceState {
            ready,
            source_id: status.source_id,
            message,
        },
        Some(ctx.cloud.mms(ds.spec.region.clone(), creds)),
    ))
}

async fn apply(job: Arc<MmsJob>, ctx: Arc<Context>, sources: &Store<DataSource>) -> Result<Action> {
    let prev = job.status.clone().unwrap_or_default();
    let generation = job.meta().generation;
    let now = jiff::Timestamp::now();
    let ns = job.namespace().unwrap_or_default();
    let name = job.name_any();
    let job_name = decide::job_name(&job.spec, &ns, &name);
    if is_paused(job.as_ref()) {
        return paused(&ctx, job.as_ref(), |s| s.phase = Some(MmsJobPhase::Paused)).await;
    }
    if let Err(e) = validate(job.as_ref()) {
        return rejected(&ctx, job.as_ref(), e, |s| {
            s.phase = Some(MmsJobPhase::Invalid)
        })
        .await;
    }
    let requested = reconcile_requested_at(job.as_ref());
    let forced = requested.is_some() && requested != prev.last_handled_reconcile_at;
    // The DataSource is read from the API server (cheap) before deciding whether MMS must be
    // polled: a source that became ready (or stopped being) is worth acting on at once.
    let (source, client) = source(&ctx, &job, sources).await?;
    let waiting = prev.phase == Some(MmsJobPhase::WaitingForDataSource);
    let source_changed = waiting == source.ready;
    let wait = decide::until_poll(&job.spec, &prev, generation, now, ctx.poll_scale());
    if !forced && !source_changed && !wait.is_zero() {
        return Ok(ctx.requeue_after(wait));
    }

    let observed = match (&client, source.ready, source.source_id) {
        (Some(mms), true, Some(source_id)) => fetch(mms, source_id, &prev, &job_name).await?,
        _ => Observed::SourceNotReady,
    };
    let decision = decide::decide(
        &job.spec, &prev, generation, &job_name, &source, &observed, now,
    );
    let mut status = decision.status;
    status.last_handled_reconcile_at = requested.or(prev.last_handled_reconcile_at.clone());

    if let (Some(act), Some(mms), Some(source_id)) = (&decision.act, &client, source.source_id) {
        match act {
            Act::Create { request, .. } => {
                // Record the attempt before sending it: a restart then looks for the job by name
                // instead of creating a second one.
                report(&ctx, job.as_ref(), &status).await?;
                let async_task = mms.create_job(source_id, &create_request(request)).await?;
                status.async_task_id = Some(async_task);
                publish(
                    &ctx,
                    job.as_ref(),
                    EventType::Normal,
                    "JobCreateRequested",
                    &format!("CreateMmsJob sent for {job_name:?} (async task {async_task})"),
                )
                .await;
            }
            Act::Stop { job_id } => {
                ignore_gone(mms.stop_job(source_id, *job_id).await)?;
                publish(
                    &ctx,
                    job.as_ref(),
                    EventType::Normal,
                    "JobStopped",
                    &format!("StopMmsJob sent for job {job_id} (spec.suspend)"),
                )
                .await;
            }
            Act::Start { job_id } => {
                ignore_gone(mms.start_job(source_id, *job_id).await)?;
                publish(
                    &ctx,
                    job.as_ref(),
                    EventType::Normal,
                    "JobStarted",
                    &format!("StartMmsJob sent for job {job_id}"),
                )
                .await;
            }
            Act::Retry { job_id } => {
                ignore_gone(mms.retry_job(source_id, *job_id).await)?;
                publish(
                    &ctx,
                    job.as_ref(),
                    EventType::Normal,
                    "JobRetried",
                    &format!("RetryMmsJob sent for job {job_id} (spec.retryRequestedAt)"),
                )
                .await;
            }
        }
    }
    report(&ctx, job.as_ref(), &status).await?;
    if let (Some(done), Some(num)) = (status.task_done, status.task_num)
        && num > 0
    {
        ctx.metrics
            .set_progress("MmsJob", &ns, &name, done as f64 / num as f64);
    }
    Ok(Action::requeue(ctx.poll(decision.requeue)))
}

fn ignore_gone<T>(result: Result<T, crate::aliyun::Error>) -> Result<()> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn create_request(r: &decide::JobRequest) -> CreateMmsJobRequest {
    CreateMmsJobRequest {
        name: r.name.clone(),
        src_db_name: r.src_db_name.clone(),
        src_schema_name: r.src_schema_name.clone(),
        dst_db_name: r.dst_db_name.clone(),
        dst_schema_name: r.dst_schema_name.clone(),
        tables: r.tables.clone(),
        partitions: r.partitions.clone(),
        partition_filters: r.partition_filters.clone(),
        table_black_list: r.table_black_list.clone(),
        table_white_list: r.table_white_list.clone(),
        table_mapping: r.table_mapping.clone(),
        column_mapping: r.column_mapping.clone(),
        enable_schema_migration: Some(r.enable_schema_migration),
        enable_data_migration: Some(r.enable_data_migration),
        enable_verification: Some(r.enable_verification),
        increment: Some(r.increment),
        ..CreateMmsJobRequest::default()
    }
}

/// Reads what MMS shows for this job.
async fn fetch(
    mms: &MmsClient,
    source_id: i64,
    prev: &MmsJobStatus,
    job_name: &str,
) -> Result<Observed> {
    let Some(job_id) = prev.job_id else {
        if let Some(task_id) = prev.async_task_id {
            match mms.get_async_task(source_id, task_id).await {
                Ok(task) => {
                    return Ok(Observed::Creating(AsyncTaskView {
                        id: task.id,
                        status: task
                            .status
                            .as_ref()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                        running: task.running,
                        object_id: task.created_job_id(),
                        error: task.error_msg.clone(),
                    }));
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
        return Ok(match find_by_name(mms, source_id, job_name).await? {
            Some(id) => Observed::Adoptable(id),
            None => Observed::NoJob,
        });
    };
    let job = match mms.get_job(source_id, job_id).await {
        Ok(job) => job,
        Err(e) if e.is_not_found() => return Ok(Observed::Gone(job_id)),
        Err(e) => return Err(e.into()),
    };
    let counts: BTreeMap<String, i64> = mms
        .count_tasks_by_status(source_id, job_id)
        .await?
        .into_iter()
        .map(|(s, n)| (s.as_str().to_string(), n as i64))
        .filter(|(_, n)| *n > 0)
        .collect();
    let mut failed_tasks = Vec::new();
    let mut mismatches = Vec::new();
    for state in [
        TaskStatus::SchemaFailed,
        TaskStatus::DataFailed,
        TaskStatus::VerificationFailed,
    ] {
        if counts.get(state.as_str()).copied().unwrap_or(0) == 0
            || failed_tasks.len() >= decide::MAX_FAILED_TASKS
        {
            continue;
        }
        let page = mms
            .list_tasks(
                source_id,
                &ListTasksRequest {
                    job_id: Some(job_id),
                    status: Some(state.clone()),
                    page_num: Some(1),
                    page_size: Some(decide::MAX_FAILED_TASKS as u32),
                    ..ListTasksRequest::default()
                },
            )
            .await?;
        for task in page
            .items
            .into_iter()
            .take(decide::MAX_FAILED_TASKS - failed_tasks.len())
        {
            let logs = mms
                .list_task_logs(source_id, task.id)
                .await
                .unwrap_or_default();
            let lines: Vec<String> = logs
                .iter()
                .filter_map(|l| {
                    let text = [l.action.as_deref(), l.msg.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(": ");
                    (!text.is_empty()).then(|| conditions::truncate(&text, 300))
                })
                .collect();
            let table = format!("{}.{}", task.src_db_name, task.src_table_name);
            if state == TaskStatus::VerificationFailed {
                mismatches.extend(decide::mismatches_in_log(&table, &lines));
            }
            failed_tasks.push(FailedTask {
                id: task.id,
                table,
                status: task
                    .status
                    .as_ref()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_else(|| state.as_str().to_string()),
                retried_times: task.retried_times,
                last_log: lines[lines.len().saturating_sub(LOG_LINES)..].to_vec(),
            });
        }
    }
    Ok(Observed::Job(JobView {
        id: job.id,
        name: job.name.clone(),
        status: job
            .status
            .as_ref()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        stopped: job.stopped,
        task_num: job.task_num,
        task_done: job.task_done,
        task_counts: counts,
        failed_tasks,
        mismatches,
    }))
}

/// A job with exactly our name (the name filter matches substrings).
async fn find_by_name(mms: &MmsClient, source_id: i64, job_name: &str) -> Result<Option<i64>> {
    let filter = ListJobsRequest {
        name: Some(job_name.to_string()),
        ..ListJobsRequest::default()
    };
    let listed = mms.list_all_jobs(source_id, &filter, 200).await?;
    Ok(listed
        .items
        .iter()
        .find(|j| j.name == job_name)
        .map(|j| j.id))
}

/// Deletion: `Delete` removes the MMS job, `Retain` leaves it; the finalizer goes only after.
async fn cleanup(
    job: Arc<MmsJob>,
    ctx: Arc<Context>,
    sources: &Store<DataSource>,
) -> Result<Action> {
    let status = job.status.clone().unwrap_or_default();
    let ns = job.namespace().unwrap_or_default();
    let name = job.name_any();
    ctx.metrics.forget("MmsJob", &ns, &name);
    if job.spec.deletion_policy == DeletionPolicy::Retain {
        publish(
            &ctx,
            job.as_ref(),
            EventType::Normal,
            "Retained",
            &format!(
                "deletionPolicy Retain: MMS job {:?} left in place",
                status.job_id
            ),
        )
        .await;
        return Ok(Action::await_change());
    }
    let (source, client) = source(&ctx, &job, sources).await?;
    let (Some(mms), Some(source_id)) = (client, source.source_id.or(status.source_id)) else {
        return Err(Error::Dependency(format!(
            "cannot delete the MMS job: DataSource {} is gone or unresolved; set deletionPolicy Retain (or remove the finalizer) to let go",
            job.spec.data_source_ref.name
        )));
    };
    let mut job_id = status.job_id;
    if job_id.is_none() {
        let job_name = decide::job_name(&job.spec, &ns, &name);
        job_id = find_by_name(&mms, source_id, &job_name).await?;
    }
    if let Some(id) = job_id {
        ignore_gone(mms.delete_job(source_id, id).await)?;
        publish(
            &ctx,
            job.as_ref(),
            EventType::Normal,
            "Deleted",
            &format!("deletionPolicy Delete: MMS job {id} deleted"),
        )
        .await;
    }
    Ok(Action::await_change())
}
