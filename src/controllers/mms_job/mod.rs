//! MmsJob controller: create the job, follow its tasks, suspend, resume, retry, delete.
//! fetch (DataSource, MMS) → decide (pure, `decide.rs`) → act → report.

pub mod adopt;
pub mod decide;
mod evidence;
pub mod rounds;

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
use super::decision;
use super::error::{Error, Result};
use super::informer::ObjKey;
use super::informer::mms::{JobMemo, MmsTarget, Target, Track};
use super::managed::{Intent, annotation, publish, rejected, report, report_intent};
use super::ownership::{self, Owner};
use super::prelude::{Phases, Prelude, Request, prelude};
use super::runner;
use crate::aliyun::mms::ListJobsRequest;
use crate::aliyun::{Admission, MmsClient, Pacing, Priority};
use crate::api::common::annotations::ADOPT_ID;
use crate::api::common::{DeletionPolicy, FINALIZER, ManagementPolicy};
use crate::api::conditions::{self, READY};
use crate::api::data_source::DataSource;
use crate::api::mms_job::{MmsJob, MmsJobPhase, MmsJobStatus};
use decide::{Act, Observed, SourceState};

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
    // The informer asks for a reconcile when what it observed of a job changed.
    let controller = controller.reconcile_on(ctx.mms_informer.subscribe());
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

/// The budget ticket of an MmsJob: its place in the account's queue across requeues.
fn ticket(key: &ObjKey) -> Pacing {
    Pacing::Requeue {
        ticket: format!("MmsJob/{}/{}", key.0, key.1).into(),
        priority: Priority::Mutation,
    }
}

/// What the informer must read for this job, from what status recorded.
fn target(status: &MmsJobStatus, job_name: &str, uid: &str) -> Target {
    match (status.job_id, status.async_task_id) {
        (Some(id), _) => Target::Job(id),
        (None, Some(async_task_id)) => Target::Creating {
            name: job_name.to_string(),
            async_task_id,
            since: status
                .create_requested_at
                .as_ref()
                .map_or_else(jiff::Timestamp::now, |t| t.0),
        },
        (None, None) => Target::Name {
            name: job_name.to_string(),
            uid: uid.to_string(),
        },
    }
}

const PHASES: Phases<MmsJobStatus> = Phases {
    paused: |s| s.phase = Some(MmsJobPhase::Paused),
    invalid: |s| s.phase = Some(MmsJobPhase::Invalid),
};

async fn apply(job: Arc<MmsJob>, ctx: Arc<Context>, sources: &Store<DataSource>) -> Result<Action> {
    let prev = job.status.clone().unwrap_or_default();
    let generation = job.meta().generation;
    let now = jiff::Timestamp::now();
    let ns = job.namespace().unwrap_or_default();
    let name = job.name_any();
    let key: ObjKey = (ns.clone(), name.clone());
    let uid = job.uid().unwrap_or_default();
    let job_name = decide::job_name(&job.spec, &prev, &ns, &name, &uid);
    let identity = decide::JobIdentity {
        name: &job_name,
        owner_uid: &uid,
    };
    let last_handled = prev.last_handled_reconcile_at.as_deref();
    let Request { forced, handled } =
        match prelude(&ctx, job.as_ref(), last_handled, &PHASES, || {
            ctx.mms_informer.untrack(&key)
        })
        .await?
        {
            Prelude::Stop(action) => return Ok(action),
            Prelude::Go(request) => request,
        };
    let adoption = match adopt::resolve(
        &job.spec,
        &prev,
        annotation(job.as_ref(), ADOPT_ID).as_deref(),
    ) {
        Ok(adoption) => adoption,
        Err(why) => {
            ctx.mms_informer.untrack(&key);
            return rejected(&ctx, job.as_ref(), Error::InvalidSpec(why), PHASES.invalid).await;
        }
    };
    if decide::settled(prev.phase)
        && !forced
        && !decide::request_pending(&job.spec, &prev, generation)
        && !rounds::in_rounds(&job, &prev)
        && !evidence::due(&job.spec, &prev)
    {
        // Finished: nothing to read (not even its Secret) until the spec asks for something.
        ctx.mms_informer.untrack(&key);
        return Ok(Action::await_change());
    }
    // The DataSource comes from a cache: a source that is not ready costs no cloud call.
    let (source, client, keep) = source(&ctx, &job, sources).await?;
    let (Some(mms), Some(source_id), true) = (client, source.source_id, source.ready) else {
        ctx.mms_informer.untrack(&key);
        let decision = decide::decide(
            &job.spec,
            &prev,
            generation,
            identity,
            &source,
            &Observed::SourceNotReady,
            now,
        );
        let mut status = decision.status;
        status.last_handled_reconcile_at = handled;
        report(&ctx, job.as_ref(), &status).await?;
        return Ok(decision::action(&ctx, decision.requeue));
    };
    let prev = match adoption {
        adopt::Adoption::Keep => prev,
        adopt::Adoption::Check(id) => match mms.get_job(source_id, id).await {
            Ok(found) => match adopt::scope_difference(&job.spec, &found) {
                Some(why) => {
                    ctx.mms_informer.untrack(&key);
                    return rejected(&ctx, job.as_ref(), Error::InvalidSpec(why), PHASES.invalid)
                        .await;
                }
                None => {
                    publish(
                        &ctx,
                        job.as_ref(),
                        EventType::Normal,
                        "Adopted",
                        &format!(
                            "following MMS job {id} ({:?}, {:?}): its scope matches the spec",
                            found.name, job.spec.management_policy
                        ),
                    )
                    .await;
                    adopt::adopted(&prev, id, &found.name)
                }
            },
            Err(e) if e.is_not_found() => {
                let why = format!(
                    "the {ADOPT_ID} annotation names MMS job {id}, which data source {source_id} does not have; name an existing job"
                );
                return rejected(&ctx, job.as_ref(), Error::InvalidSpec(why), PHASES.invalid).await;
            }
            Err(e) => return Err(e.into()),
        },
    };
    // An adopted job keeps its own name.
    let job_name = decide::job_name(&job.spec, &prev, &ns, &name, &uid);
    let identity = decide::JobIdentity {
        name: &job_name,
        owner_uid: &uid,
    };
    let mms = mms.with_pacing(ticket(&key));
    if let Some(schedule) = &job.spec.schedule
        && rounds::in_rounds(&job, &prev)
    {
        // The first job is done: the informer has nothing more to follow for it.
        ctx.mms_informer.untrack(&key);
        keep_for_deletion(&ctx, &job, &prev, keep).await;
        return rounds::apply(
            &ctx, &job, schedule, prev, &mms, source_id, identity, handled,
        )
        .await;
    }
    let observation = ctx.mms_informer.track(
        &key,
        Track {
            client: mms.clone(),
            target: MmsTarget {
                source_id,
                job: target(&prev, &job_name, &uid),
            },
            interval: ctx.poll(decide::interval_for(prev.phase)),
            memo: JobMemo::known(decide::JobView::from_status(&prev)),
            poll_now: forced,
        },
    );
    let Some(observation) = observation else {
        // Not observed yet: a first status at once, without a cloud call; the informer's
        // first read triggers the next reconcile.
        let status = decide::pending(
            &prev,
            generation,
            &job_name,
            &source,
            "Pending",
            format!("waiting for the first read of MMS job {job_name:?}"),
            now,
        );
        report(&ctx, job.as_ref(), &status).await?;
        return Ok(Action::requeue(ctx.poll(decide::POLL_SETTLED)));
    };
    let spec_changed = prev.observed_generation != generation;
    if !observation.worth_deciding(prev.last_polled_at.as_ref(), spec_changed) {
        return Ok(Action::requeue(ctx.poll(decide::POLL_SETTLED)));
    }
    let decision = decide::decide_observed(
        &job.spec,
        &prev,
        generation,
        identity,
        &source,
        &observation,
        now,
    );
    let mut status = decision.status;
    status.last_handled_reconcile_at = handled;
    // At intent time at the latest: the credentials for deleting what is about to be created.
    keep_for_deletion(&ctx, &job, &status, keep).await;

    if let Some(act) = &decision.act {
        if let Admission::Queued { wait, ahead } = mms.admit(act.action()) {
            // The call waits its turn in the account's budget; say so without sending it.
            let queued = decide::pending(
                &prev,
                generation,
                &job_name,
                &source,
                "Queued",
                format!(
                    "{} is queued behind {ahead} call(s) of this account's MMS budget; sent in about {}s",
                    act.action(),
                    wait.as_secs_f64().ceil()
                ),
                now,
            );
            report(&ctx, job.as_ref(), &queued).await?;
            return Ok(ctx.requeue_after(wait));
        }
        let sent = act_on(
            &ctx,
            &job,
            &prev,
            &mms,
            source_id,
            &job_name,
            act,
            &mut status,
        )
        .await?;
        if let Some(early) = sent {
            return Ok(early);
        }
        // Never act twice on what was seen before this act; read its effect soon.
        ctx.mms_informer.acted(&key);
    }
    if evidence::due(&job.spec, &status) {
        evidence::read(&mms, source_id, &mut status).await;
    }
    report(&ctx, job.as_ref(), &status).await?;
    if let (Some(done), Some(num)) = (status.task_done, status.task_num)
        && num > 0
    {
        ctx.metrics
            .set_progress("MmsJob", &ns, &name, done as f64 / num as f64);
    }
    if decide::settled(status.phase) {
        ctx.mms_informer.untrack(&key);
        if rounds::in_rounds(&job, &status) {
            // The first job is done: the schedule's timer comes next.
            return Ok(Action::requeue(std::time::Duration::from_secs(1)));
        }
        if evidence::due(&job.spec, &status) {
            // The row counts could not be read: once more, later.
            return Ok(Action::requeue(ctx.poll(decide::POLL_RUNNING)));
        }
        return Ok(Action::await_change());
    }
    Ok(Action::requeue(ctx.poll(decide::POLL_SETTLED)))
}

/// Sends the decided call (its budget token is taken already). `Some(action)`: the reconcile
/// ends there (the intent write lost a race, or the name exists already).
#[allow(clippy::too_many_arguments)]
async fn act_on(
    ctx: &Context,
    job: &MmsJob,
    prev: &MmsJobStatus,
    mms: &MmsClient,
    source_id: i64,
    job_name: &str,
    act: &Act,
    status: &mut MmsJobStatus,
) -> Result<Option<Action>> {
    match act {
        Act::Create { request, .. } => {
            // Record the attempt before sending it, and only on the version of the object this
            // decision was made on: a restart, or another operator, then looks for the job by
            // name instead of creating a second one.
            if report_intent(ctx, job, status).await? == Intent::Conflict {
                return Ok(Some(Action::requeue(INTENT_CONFLICT_RETRY)));
            }
            let async_task = match mms.create_job(source_id, request).await {
                Ok(id) => id,
                // Created meanwhile under this name (another operator, or our own earlier
                // attempt still in MMS's queue): the next look finds it by name and adopts it
                // only if it carries our marker.
                Err(e) if is_duplicate_name(&e) => {
                    tracing::debug!(job = %job_name, error = %e, "the job name exists already");
                    return Ok(Some(Action::requeue(ctx.poll(decide::POLL_CREATING))));
                }
                Err(e) if e.request_not_sent() => {
                    // Nothing reached MMS: no job can be on its way, so no need to wait for
                    // one before the next attempt.
                    status.create_requested_at = prev.create_requested_at.clone();
                    report(ctx, job, status).await?;
                    return Err(e.into());
                }
                Err(e) => return Err(e.into()),
            };
            status.async_task_id = Some(async_task);
            publish(
                ctx,
                job,
                EventType::Normal,
                "JobCreateRequested",
                &format!("CreateMmsJob sent for {job_name:?} (async task {async_task})"),
            )
            .await;
        }
        Act::Stop { job_id } => {
            ignore_gone(mms.stop_job(source_id, *job_id).await)?;
            publish(
                ctx,
                job,
                EventType::Normal,
                "JobStopped",
                &format!("StopMmsJob sent for job {job_id} (spec.suspend)"),
            )
            .await;
        }
        Act::Start { job_id } => {
            ignore_gone(mms.start_job(source_id, *job_id).await)?;
            publish(
                ctx,
                job,
                EventType::Normal,
                "JobStarted",
                &format!("StartMmsJob sent for job {job_id}"),
            )
            .await;
        }
        Act::Retry { job_id } => {
            ignore_gone(mms.retry_job(source_id, *job_id).await)?;
            publish(
                ctx,
                job,
                EventType::Normal,
                "JobRetried",
                &format!("RetryMmsJob sent for job {job_id} (spec.retryRequestedAt)"),
            )
            .await;
        }
        Act::RetryTask { task_id } => {
            ignore_gone(mms.retry_task(source_id, *task_id).await)?;
            publish(
                ctx,
                job,
                EventType::Normal,
                "TaskRetried",
                &format!("RetryMmsTask sent for task {task_id} (spec.retryTables)"),
            )
            .await;
        }
    }
    Ok(None)
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

/// `deletionPolicy: Delete` with a schedule: the timer goes first, so that no round starts
/// while the job is deleted. A timer whose creation was sent but never answered is found by
/// name, and deleted only when it carries this resource's marker. The rounds' jobs stay.
async fn delete_timer(
    ctx: &Context,
    job: &MmsJob,
    mms: &MmsClient,
    source_id: i64,
    status: &MmsJobStatus,
) -> Result<()> {
    let Some(rounds) = &status.rounds else {
        return Ok(());
    };
    let uid = job.uid().unwrap_or_default();
    let mut timer_id = rounds.timer_id;
    if timer_id.is_none() && rounds.timer_requested_at.is_some() {
        let name = decide::job_name(
            &job.spec,
            status,
            &job.namespace().unwrap_or_default(),
            &job.name_any(),
            &uid,
        );
        let identity = decide::JobIdentity {
            name: &name,
            owner_uid: &uid,
        };
        if let Some((timer, Owner::Us)) = rounds::find_by_name(mms, source_id, identity).await? {
            timer_id = Some(timer.id);
        }
    }
    if let Some(id) = timer_id {
        ignore_gone(mms.delete_timer(source_id, id).await)?;
        publish(
            ctx,
            job,
            EventType::Normal,
            "TimerDeleted",
            &format!("deletionPolicy Delete: MMS timer {id} deleted"),
        )
        .await;
    }
    Ok(())
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
    let key: ObjKey = (ns.clone(), name.clone());
    ctx.mms_informer.untrack(&key);
    ctx.metrics.forget("MmsJob", &ns, &name);
    rounds::forget(&job.uid().unwrap_or_default());
    let observe_only = job.spec.management_policy == ManagementPolicy::ObserveOnly;
    if job.spec.deletion_policy == DeletionPolicy::Retain || observe_only {
        cleanup_credentials::forget(&ctx, &job.uid().unwrap_or_default()).await;
        let why = if observe_only {
            "managementPolicy ObserveOnly"
        } else {
            "deletionPolicy Retain"
        };
        publish(
            &ctx,
            job.as_ref(),
            EventType::Normal,
            "Retained",
            &format!("{why}: MMS job {:?} left in place", status.job_id),
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
        Ok((_, Some(client), _)) => Some(client.with_pacing(ticket(&key))),
        Ok(_) | Err(Error::Credentials(_)) => cleanup_credentials::recall(&ctx, &uid)
            .await?
            .map(|(region, creds)| ctx.cloud.mms(region, creds).with_pacing(ticket(&key))),
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
    delete_timer(&ctx, &job, &mms, source_id, &status).await?;
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
