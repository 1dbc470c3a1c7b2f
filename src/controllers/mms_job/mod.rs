//! MmsJob controller: create the job, follow its tasks, suspend, resume, retry, delete.
//! fetch (DataSource, MMS) → decide (pure, `decide.rs`) → act → report.

pub mod decide;

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::{Resource, ResourceExt};

use super::cleanup_credentials;
use super::context::Context;
use super::credentials::{self, Captured};
use super::error::{Error, Result};
use super::managed::{
    Intent, is_paused, paused, publish, reconcile_requested_at, rejected, report, report_intent,
    validate,
};
use super::ownership::{self, Owner};
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
    // DataSources come from a cache, not a read per reconcile; a DataSource turning Ready (or
    // changing) wakes the jobs that use it. The cache is filled by its own task and waited for
    // once, here, before any job is reconciled: until its first list every DataSource would
    // look missing, and kube's readiness wait wakes only the last of many waiters (one start
    // left 3 of 4 jobs, and after a restart 24 of 25, hanging until the next restart).
    let (sources, writer) = reflector::store::<DataSource>();
    let (changed_tx, changed) = futures::channel::mpsc::unbounded();
    let feeder = AbortOnDrop(tokio::spawn(
        runner::cached(&ctx, writer)
            .touched_objects()
            .for_each(move |event| {
                if let Ok(source) = event {
                    let _ = changed_tx.unbounded_send(source);
                }
                futures::future::ready(())
            }),
    ));
    let mut shutdown = Box::pin(shutdown);
    tokio::select! {
        ready = sources.wait_until_ready() => {
            if ready.is_err() {
                tracing::error!("the DataSource cache stopped before it was filled");
                return;
            }
        }
        _ = &mut shutdown => return,
    }
    let controller = runner::controller::<MmsJob>(&ctx);
    let jobs = controller.store();
    let controller = controller.watches_stream(
        changed.map(Ok::<_, kube::runtime::watcher::Error>),
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
    drop(feeder);
}

/// Aborts the task when dropped (the DataSource cache lives as long as the controller).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn reconcile(
    job: Arc<MmsJob>,
    ctx: Arc<Context>,
    sources: Store<DataSource>,
) -> Result<Action> {
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

/// What deleting the job needs if the DataSource or its Secret is gone by then.
struct Keep {
    region: String,
    captured: Captured,
    fingerprint: u128,
}

/// Where the job's DataSource stands, a client for its region and credentials, and what to
/// keep for deleting the job later.
async fn source(
    ctx: &Context,
    job: &MmsJob,
    sources: &Store<DataSource>,
) -> Result<(SourceState, Option<MmsClient>, Option<Keep>)> {
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
            None,
        ));
    }
    let (creds, captured) =
        credentials::resolve_captured(&ctx.client, &ns, ds.spec.credentials.as_ref()).await?;
    let keep = Keep {
        region: ds.spec.region.clone(),
        captured,
        fingerprint: creds.fingerprint(),
    };
    Ok((
        SourceState {
            ready,
            source_id: status.source_id,
            message,
        },
        Some(ctx.cloud.mms(ds.spec.region.clone(), creds)),
        Some(keep),
    ))
}

/// Keeps (or drops) the credentials for deleting the job once it exists, by the policy.
async fn keep_for_deletion(ctx: &Context, job: &MmsJob, status: &MmsJobStatus, keep: Option<Keep>) {
    let uid = job.uid().unwrap_or_default();
    let may_exist = status.job_id.is_some()
        || status.async_task_id.is_some()
        || status.create_requested_at.is_some();
    if job.spec.deletion_policy == DeletionPolicy::Delete && may_exist {
        if let Some(keep) = keep {
            let owner = cleanup_credentials::Owner {
                kind: "MmsJob",
                namespace: &job.namespace().unwrap_or_default(),
                name: &job.name_any(),
                uid: &uid,
            };
            cleanup_credentials::remember(
                ctx,
                &owner,
                &keep.region,
                &keep.captured,
                keep.fingerprint,
            )
            .await;
        }
    } else if ctx.captured(&uid).is_some() {
        cleanup_credentials::forget(ctx, &uid).await;
    }
}

async fn apply(job: Arc<MmsJob>, ctx: Arc<Context>, sources: &Store<DataSource>) -> Result<Action> {
    let prev = job.status.clone().unwrap_or_default();
    let generation = job.meta().generation;
    let now = jiff::Timestamp::now();
    let ns = job.namespace().unwrap_or_default();
    let name = job.name_any();
    let uid = job.uid().unwrap_or_default();
    let job_name = decide::job_name(&job.spec, &prev, &ns, &name, &uid);
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
    let (source, client, keep) = source(&ctx, &job, sources).await?;
    let waiting = prev.phase == Some(MmsJobPhase::WaitingForDataSource);
    let source_changed = waiting == source.ready;
    let wait = decide::until_poll(&job.spec, &prev, generation, now, ctx.poll_scale());
    if !forced && !source_changed && !wait.is_zero() {
        return Ok(ctx.requeue_after(wait));
    }

    let observed = match (&client, source.ready, source.source_id) {
        (Some(mms), true, Some(source_id)) => fetch(mms, source_id, &prev, &job_name, &uid).await?,
        _ => Observed::SourceNotReady,
    };
    let decision = decide::decide(
        &job.spec, &prev, generation, &job_name, &source, &observed, now,
    );
    let mut status = decision.status;
    status.last_handled_reconcile_at = requested.or(prev.last_handled_reconcile_at.clone());
    // At intent time at the latest: the credentials for deleting what is about to be created.
    keep_for_deletion(&ctx, &job, &status, keep).await;

    if let (Some(act), Some(mms), Some(source_id)) = (&decision.act, &client, source.source_id) {
        match act {
            Act::Create { request, .. } => {
                // Record the attempt before sending it, and only on the version of the object
                // this decision was made on: a restart, or another operator, then looks for the
                // job by name instead of creating a second one.
                if report_intent(&ctx, job.as_ref(), &status).await? == Intent::Conflict {
                    return Ok(Action::requeue(INTENT_CONFLICT_RETRY));
                }
                let async_task = match mms
                    .create_job(source_id, &create_request(request, &uid))
                    .await
                {
                    Ok(id) => id,
                    // Created meanwhile under this name (another operator, or our own earlier
                    // attempt still in MMS's queue): the next reconcile finds it by name and
                    // adopts it only if it carries our marker.
                    Err(e) if is_duplicate_name(&e) => {
                        tracing::debug!(job = %job_name, error = %e, "the job name exists already");
                        return Ok(Action::requeue(ctx.poll(decide::POLL_CREATING)));
                    }
                    Err(e) if e.request_not_sent() => {
                        // Nothing reached MMS: no job can be on its way, so no need to wait
                        // for one before the next attempt.
                        status.create_requested_at = prev.create_requested_at.clone();
                        report(&ctx, job.as_ref(), &status).await?;
                        return Err(e.into());
                    }
                    Err(e) => return Err(e.into()),
                };
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

/// How soon a reconcile whose intent write conflicted reads the object again.
const INTENT_CONFLICT_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// MMS refuses a second job of the same name in a data source (the code is not documented:
/// anything that says duplicate or already exists).
fn is_duplicate_name(e: &crate::aliyun::Error) -> bool {
    let code = e.code().unwrap_or_default().to_ascii_lowercase();
    code.contains("duplicate") || code.contains("alreadyexist")
}

fn create_request(r: &decide::JobRequest, uid: &str) -> CreateMmsJobRequest {
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
        // The ownership marker: what lets a later search by name tell our job from another's.
        others: Some(serde_json::json!({ ownership::OWNER_KEY: uid })),
        ..CreateMmsJobRequest::default()
    }
}

/// Reads what MMS shows for this job.
async fn fetch(
    mms: &MmsClient,
    source_id: i64,
    prev: &MmsJobStatus,
    job_name: &str,
    uid: &str,
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
        return Ok(match find_by_name(mms, source_id, job_name, uid).await? {
            Some((id, Owner::Us)) => Observed::Adoptable(id),
            Some((id, Owner::Other(owner))) => Observed::NameTaken {
                id,
                owner: Some(owner),
            },
            Some((id, Owner::Unmarked)) => Observed::NameTaken { id, owner: None },
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

/// The job with exactly our name (the name filter matches substrings; MMS keeps names unique
/// per data source) and whose it is, by its ownership marker.
async fn find_by_name(
    mms: &MmsClient,
    source_id: i64,
    job_name: &str,
    uid: &str,
) -> Result<Option<(i64, Owner)>> {
    let filter = ListJobsRequest {
        name: Some(job_name.to_string()),
        ..ListJobsRequest::default()
    };
    let listed = mms.list_all_jobs(source_id, &filter, 200).await?;
    let Some(found) = listed.items.into_iter().find(|j| j.name == job_name) else {
        return Ok(None);
    };
    // List items may come without their configuration: read the job for its marker.
    let config = match found.config {
        Some(config) => Some(config),
        None => mms.get_job(source_id, found.id).await?.config,
    };
    let owner = ownership::owner(config.as_ref().and_then(|c| c.others.as_ref()), uid);
    Ok(Some((found.id, owner)))
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
        cleanup_credentials::forget(&ctx, &job.uid().unwrap_or_default()).await;
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
    let uid = job.uid().unwrap_or_default();
    if status.job_id.is_none()
        && status.async_task_id.is_none()
        && status.create_requested_at.is_none()
    {
        // No create was ever sent: there is nothing in MMS to delete.
        return Ok(Action::await_change());
    }
    // The DataSource or its Secret may be gone already (a namespace being deleted): then the
    // credentials kept when the job was created are used.
    let client = match source(&ctx, &job, sources).await {
        Ok((_, Some(client), _)) => Some(client),
        Ok(_) | Err(Error::Credentials(_)) => cleanup_credentials::recall(&ctx, &uid)
            .await?
            .map(|(region, creds)| ctx.cloud.mms(region, creds)),
        Err(e) => return Err(e),
    };
    let source_id = status.source_id.or_else(|| {
        sources
            .get(&ObjectRef::new(&job.spec.data_source_ref.name).within(&ns))
            .and_then(|ds| ds.status.as_ref().and_then(|s| s.source_id))
    });
    let (Some(mms), Some(source_id)) = (client, source_id) else {
        let what = format!(
            "MMS job {:?}: neither DataSource {} (or its Secret) nor kept credentials are available",
            status.job_id, job.spec.data_source_ref.name
        );
        return cleanup_credentials::let_go_or_wait(&ctx, job.as_ref(), &what).await;
    };
    let mut job_id = status.job_id;
    if job_id.is_none() {
        // Only a job that carries our marker is ours to delete.
        let uid = job.uid().unwrap_or_default();
        let job_name = decide::job_name(&job.spec, &status, &ns, &name, &uid);
        job_id = match find_by_name(&mms, source_id, &job_name, &uid).await? {
            Some((id, Owner::Us)) => Some(id),
            _ => None,
        };
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
    cleanup_credentials::forget(&ctx, &uid).await;
    Ok(Action::await_change())
}
