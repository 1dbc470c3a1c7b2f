//! DataWorksMigration decisions: a pure function of (spec, previous status, what DataWorks
//! showed, the object's identity, now) returning the next status, at most one finished cloud
//! request, and when to look again. `record` is the pure half of acting: what an answer changes.
//!
//! The sequence: export (create, start, wait) → upload the package → import (create, start,
//! wait) → Succeeded / PartiallySucceeded / Failed. A failed import is re-imported when
//! `spec.retryRequestedAt` changes: StartMigration on the same task while its settings are
//! unchanged (the console's Re-import), else — or when DataWorks refuses it, or accepts it and
//! the task does not move within [`REIMPORT_GRACE`] — a new task.

mod requests;
#[cfg(test)]
mod tests;

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

pub use requests::{Identity, import_request, report_url, settings_digest};

use crate::aliyun::dataworks::{CreateExportMigrationRequest, CreateImportMigrationRequest};
use crate::api::conditions::{self, Desired, READY};
use crate::api::dataworks_migration::{
    DataWorksMigrationPhase as Phase, DataWorksMigrationSpec, DataWorksMigrationStatus,
    MigrationState as State, MigrationStep, MigrationTask, Reimport, ReimportMethod,
};
use crate::controllers::poll::{elapsed, remaining};

pub const EXPORTED: &str = "Exported";
pub const IMPORTED: &str = "Imported";

/// After an action: read the answer's effect soon.
pub const POLL_AFTER_ACT: Duration = Duration::from_secs(2);
/// A running task (the official MigrationX tool polls every 5 s; DataWorks allows 5 calls a
/// second per account on most editions, and a poll costs two).
pub const POLL_RUNNING: Duration = Duration::from_secs(10);
/// How long a task may stay `INIT`/`EDITING` after an accepted StartMigration before the
/// operator calls the start lost.
pub const START_GRACE: Duration = Duration::from_secs(120);
/// How long a task may stay `IMPORT_ERROR` after an accepted StartMigration before the
/// operator concludes the re-import did not happen and creates a new task.
pub const REIMPORT_GRACE: Duration = Duration::from_secs(120);

/// A task as DataWorks showed it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskView {
    pub status: Option<State>,
    /// The status text when it is none the operator knows.
    pub unknown_status: Option<String>,
    pub steps: Vec<MigrationStep>,
    pub message: Option<String>,
    pub created_at: Option<Time>,
    pub modified_at: Option<Time>,
    pub create_user: Option<String>,
    pub op_user: Option<String>,
}

/// Reading a recorded task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskRead {
    Seen(TaskView),
    /// DataWorks says the task does not exist (deleted in the console).
    Gone,
}

/// Looking up, by name, a task whose create was sent but whose answer was not recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Found; `owned` when its description carries this object's marker.
    Found {
        id: i64,
        owned: bool,
    },
    Absent,
}

/// What DataWorks showed this time (None: not read, because there is nothing to read).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    pub export: Option<TaskRead>,
    pub import: Option<TaskRead>,
    pub export_lookup: Option<Lookup>,
    pub import_lookup: Option<Lookup>,
}

/// Where the bytes of an upload come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PackageOrigin {
    /// The export task's pre-signed download URL, read when uploading (never stored).
    Export { project_id: i64, migration_id: i64 },
    /// A ConfigMap key.
    ConfigMap { name: String, key: String },
    /// An http(s) URL kept in a Secret key.
    SecretUrl { name: String, key: String },
}

/// The one cloud action a reconcile takes, finished: act only sends it.
#[derive(Clone, Debug, PartialEq)]
pub enum Act {
    CreateExport(CreateExportMigrationRequest),
    StartExport {
        project_id: i64,
        migration_id: i64,
    },
    Upload(PackageOrigin),
    CreateImport(CreateImportMigrationRequest),
    StartImport {
        project_id: i64,
        migration_id: i64,
        /// A re-import of a failed task (spec.retryRequestedAt).
        reimport: bool,
    },
}

/// How an action ended, as far as status cares (other failures are errors of the reconcile).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Created(i64),
    Started,
    /// StartMigration answered `Data: false` or refused a re-import.
    StartRefused(String),
    Uploaded {
        package_file: String,
        bytes: i64,
    },
    /// The create was refused for good: the spec (or the cloud side) must change.
    CreateRefused(String),
}

pub type Decision = crate::controllers::decision::Decision<DataWorksMigrationStatus, Act>;

/// Everything a decision depends on.
pub struct Inputs<'a> {
    pub spec: &'a DataWorksMigrationSpec,
    pub prev: &'a DataWorksMigrationStatus,
    pub generation: Option<i64>,
    pub observed: &'a Observed,
    pub identity: &'a Identity,
    pub now: jiff::Timestamp,
}

/// The named parts of a decision, filled by the steps below.
struct Outcome {
    phase: Phase,
    ready: Desired,
    exported: Option<Desired>,
    imported: Option<Desired>,
    act: Option<Act>,
    requeue: Option<Duration>,
}

impl Outcome {
    fn new(phase: Phase, ready: Desired) -> Self {
        Self {
            phase,
            ready,
            exported: None,
            imported: None,
            act: None,
            requeue: Some(POLL_RUNNING),
        }
    }

    fn acting(mut self, act: Act) -> Self {
        self.act = Some(act);
        self.requeue = Some(POLL_AFTER_ACT);
        self
    }

    /// Nothing more happens until the object changes.
    fn settled(mut self) -> Self {
        self.requeue = None;
        self
    }
}

fn is_terminal(phase: Option<Phase>) -> bool {
    matches!(
        phase,
        Some(Phase::Succeeded | Phase::PartiallySucceeded | Phase::Failed | Phase::Invalid)
    )
}

fn retry_requested(spec: &DataWorksMigrationSpec, status: &DataWorksMigrationStatus) -> bool {
    spec.retry_requested_at.is_some() && spec.retry_requested_at != status.last_retry_requested_at
}

/// How long until DataWorks must be read again: zero now, None never (a terminal phase waits
/// for a change of the object: no polling).
pub fn until_poll(
    spec: &DataWorksMigrationSpec,
    status: &DataWorksMigrationStatus,
    generation: Option<i64>,
    now: jiff::Timestamp,
    scale: f64,
) -> Option<Duration> {
    if status.observed_generation != generation || retry_requested(spec, status) {
        return Some(Duration::ZERO);
    }
    if is_terminal(status.phase) {
        return None;
    }
    let interval = if action_due(status) {
        POLL_AFTER_ACT
    } else {
        POLL_RUNNING
    };
    Some(remaining(
        status.last_polled_at.as_ref(),
        interval,
        now,
        scale,
    ))
}

/// The next reconcile most likely acts (a created task to start, a package to upload): it need
/// not wait a whole poll interval.
fn action_due(status: &DataWorksMigrationStatus) -> bool {
    let to_start = |t: &Option<MigrationTask>| {
        t.as_ref().is_some_and(|t| {
            t.id.is_some()
                && t.started_at.is_none()
                && matches!(t.status, None | Some(State::Init | State::Editing))
        })
    };
    status.phase == Some(Phase::Uploading) || to_start(&status.export) || to_start(&status.import)
}

/// Derives the next status, action and requeue.
pub fn decide(inputs: &Inputs<'_>) -> Decision {
    derive(inputs)
        .keeping_stamp(inputs.prev, |s| &mut s.last_polled_at)
        .checked("DataWorksMigration")
}

fn derive(inputs: &Inputs<'_>) -> Decision {
    let Inputs {
        prev,
        generation,
        now,
        ..
    } = *inputs;
    // Carried over whole, then changed field by field: a new status field is kept by default.
    let mut status = DataWorksMigrationStatus {
        observed_generation: generation,
        last_polled_at: Some(Time(now)),
        ..prev.clone()
    };
    let out = sequence(inputs, &mut status);
    status.phase = Some(out.phase);
    let mut desired = vec![out.ready];
    desired.extend(out.exported);
    desired.extend(out.imported);
    status.conditions = conditions::merge(&prev.conditions, &desired, generation, now);
    Decision {
        status,
        act: out.act,
        requeue: out.requeue,
    }
}

fn sequence(inputs: &Inputs<'_>, status: &mut DataWorksMigrationStatus) -> Outcome {
    let spec = inputs.spec;
    if let Some(export) = &spec.source.export {
        if let Err(why) = requests::incremental_since_ms(export) {
            return Outcome::new(
                Phase::Invalid,
                Desired::false_(READY, "InvalidSpec", format!("{why}; fix the spec")),
            )
            .settled();
        }
        if let Some(out) = export_step(inputs, status, export) {
            return out;
        }
    }
    if status.package_file.is_none() {
        if let Some(url) = &spec.source.oss_url {
            status.package_file = Some(url.clone());
        } else {
            let origin = match (&spec.source.upload, &status.export) {
                (Some(u), _) => match (&u.config_map_ref, &u.url_secret_ref) {
                    (Some(c), _) => PackageOrigin::ConfigMap {
                        name: c.name.clone(),
                        key: c.key.clone(),
                    },
                    (None, Some(s)) => PackageOrigin::SecretUrl {
                        name: s.name.clone(),
                        key: s.key.clone(),
                    },
                    (None, None) => {
                        return Outcome::new(
                            Phase::Invalid,
                            Desired::false_(
                                READY,
                                "InvalidSpec",
                                "source.upload needs configMapRef or urlSecretRef",
                            ),
                        )
                        .settled();
                    }
                },
                (
                    None,
                    Some(MigrationTask {
                        id: Some(id),
                        workspace_id,
                        ..
                    }),
                ) => PackageOrigin::Export {
                    project_id: *workspace_id,
                    migration_id: *id,
                },
                (None, _) => {
                    return Outcome::new(
                        Phase::Invalid,
                        Desired::false_(
                            READY,
                            "InvalidSpec",
                            "set exactly one of source.export, source.ossUrl and source.upload",
                        ),
                    )
                    .settled();
                }
            };
            status.started_at.get_or_insert(Time(inputs.now));
            let exported = spec
                .source
                .export
                .is_some()
                .then(|| Desired::true_(EXPORTED, "Exported", "the export succeeded"));
            return Outcome {
                exported,
                ..Outcome::new(
                Phase::Uploading,
                Desired::false_(
                    READY,
                    "Uploading",
                    "uploading the package to DataWorks (OpenPlatform AuthorizeFileUpload, then an OSS form POST)",
                ),
            )
            .acting(Act::Upload(origin))
            };
        }
    }
    import_step(inputs, status)
}

/// The export; Some when the sequence stops here this time.
fn export_step(
    inputs: &Inputs<'_>,
    status: &mut DataWorksMigrationStatus,
    export: &crate::api::dataworks_migration::ExportSource,
) -> Option<Outcome> {
    let Inputs {
        spec,
        prev,
        observed,
        identity,
        now,
        ..
    } = *inputs;
    let task = status.export.get_or_insert_with(|| MigrationTask {
        name: identity.task_name(true, 1),
        workspace_id: export.source_workspace_id,
        attempt: 1,
        ..MigrationTask::default()
    });
    let exporting = |message: String| {
        Outcome::new(
            Phase::Exporting,
            Desired::false_(READY, "Exporting", message),
        )
    };
    let create = |task: &mut MigrationTask, started_at: &mut Option<Time>| {
        task.create_requested_at = Some(Time(now));
        started_at.get_or_insert(Time(now));
        let request =
            requests::export_request(spec, export, identity, task.attempt).expect("checked before");
        exporting(format!(
            "creating export task {} in workspace {}",
            task.name, task.workspace_id
        ))
        .acting(Act::CreateExport(request))
    };
    let Some(id) = task.id else {
        if task.create_requested_at.is_none() {
            let mut started_at = status.started_at.clone();
            let task = status.export.as_mut().expect("set above");
            let out = create(task, &mut started_at);
            status.started_at = started_at;
            return Some(out);
        }
        return Some(match &observed.export_lookup {
            Some(Lookup::Found { id, owned: true }) => {
                task.id = Some(*id);
                exporting(format!(
                    "adopted export task {id} ({}): created before its answer was lost",
                    task.name
                ))
                .acting(Act::StartExport {
                    project_id: task.workspace_id,
                    migration_id: *id,
                })
            }
            Some(Lookup::Found { id, owned: false }) => {
                name_taken(&task.name, *id, task.workspace_id)
            }
            Some(Lookup::Absent) | None => {
                let mut started_at = status.started_at.clone();
                let task = status.export.as_mut().expect("set above");
                let out = create(task, &mut started_at);
                status.started_at = started_at;
                out
            }
        });
    };
    let project = task.workspace_id;
    let view = match &observed.export {
        Some(TaskRead::Seen(v)) => v.clone(),
        Some(TaskRead::Gone) => {
            return Some(failed_or_retry(
                inputs,
                status,
                true,
                "TaskGone",
                format!(
                    "export task {id} no longer exists in workspace {project} (deleted in the console); set spec.retryRequestedAt to export again"
                ),
            ));
        }
        None => return Some(exporting(format!("waiting to read export task {id}"))),
    };
    apply_view(task, &view);
    let state = view.status.unwrap_or(State::Unknown);
    let out = match state {
        State::Init | State::Editing if task.started_at.is_none() => {
            exporting(format!("starting export task {id}")).acting(Act::StartExport {
                project_id: project,
                migration_id: id,
            })
        }
        State::Init | State::Editing if start_lost(task, now) => {
            let why = format!(
                "export task {id} did not start: {}; set spec.retryRequestedAt to create a new export task",
                task.message.clone().unwrap_or_else(|| format!(
                    "still {} {}s after StartMigration was accepted",
                    state_text(task),
                    START_GRACE.as_secs()
                ))
            );
            return Some(failed_or_retry(inputs, status, true, "StartFailed", why));
        }
        State::Init | State::Editing | State::Exporting | State::Running => {
            exporting(format!("export task {id}: {}", steps_text(&task.steps)))
        }
        State::ExportSuccess | State::Success => {
            let _ = prev;
            return None;
        }
        State::ExportError | State::Failure | State::Revoked => {
            let why = format!(
                "export task {id} ended {}: {}; fix the cause, then set spec.retryRequestedAt to export again",
                state_text(task),
                view.message
                    .as_deref()
                    .unwrap_or("DataWorks gave no reason")
            );
            let mut out = failed_or_retry(inputs, status, true, "ExportFailed", why);
            if out.phase == Phase::Failed {
                out.exported = Some(Desired::false_(
                    EXPORTED,
                    "ExportFailed",
                    out.ready.message.clone(),
                ));
            }
            return Some(out);
        }
        other => Outcome::new(
            Phase::Exporting,
            Desired::unknown(
                READY,
                "UnknownStatus",
                format!(
                    "export task {id} reports {}, a status the operator does not know; waiting",
                    task.unknown_status
                        .clone()
                        .unwrap_or_else(|| format!("{other:?}"))
                ),
            ),
        ),
    };
    Some(Outcome {
        exported: Some(Desired::unknown(
            EXPORTED,
            "Exporting",
            "the export has not finished",
        )),
        ..out
    })
}

fn name_taken(name: &str, id: i64, workspace: i64) -> Outcome {
    Outcome::new(
        Phase::Failed,
        Desired::false_(
            READY,
            "NameTaken",
            format!(
                "workspace {workspace} already holds task {id} named {name} that this object did not create (its description lacks the ownership marker); rename or delete it in the DataWorks console, or recreate this DataWorksMigration (the name derives from its uid)"
            ),
        ),
    )
    .settled()
}

/// A failed task: Failed until spec.retryRequestedAt changes, then a new task.
fn failed_or_retry(
    inputs: &Inputs<'_>,
    status: &mut DataWorksMigrationStatus,
    export: bool,
    reason: &str,
    why: String,
) -> Outcome {
    if retry_requested(inputs.spec, status) {
        status.last_retry_requested_at = inputs.spec.retry_requested_at.clone();
        return new_task(
            inputs,
            status,
            export,
            "retry requested (spec.retryRequestedAt)",
        );
    }
    Outcome::new(Phase::Failed, Desired::false_(READY, reason, why)).settled()
}

/// Replaces the export or import task with a fresh one of the next attempt and creates it.
fn new_task(
    inputs: &Inputs<'_>,
    status: &mut DataWorksMigrationStatus,
    export: bool,
    why: &str,
) -> Outcome {
    let Inputs {
        spec,
        identity,
        now,
        ..
    } = *inputs;
    let previous = if export {
        status.export.take()
    } else {
        status.import.take()
    }
    .unwrap_or_default();
    let attempt = previous.attempt + 1;
    let mut task = MigrationTask {
        name: identity.task_name(export, attempt),
        workspace_id: previous.workspace_id,
        attempt,
        create_requested_at: Some(Time(now)),
        ..MigrationTask::default()
    };
    let act = if export {
        let source = spec.source.export.as_ref().expect("an export task exists");
        task.workspace_id = source.source_workspace_id;
        status.package_file = None;
        status.package_bytes = None;
        status.import = None;
        Act::CreateExport(
            requests::export_request(spec, source, identity, attempt).expect("checked before"),
        )
    } else {
        task.workspace_id = spec.target_workspace_id;
        task.settings_digest = Some(settings_digest(spec));
        Act::CreateImport(import_request(
            spec,
            status.package_file.as_deref().unwrap_or_default(),
            identity,
            attempt,
        ))
    };
    let message = format!(
        "{why}: creating {} task {} (attempt {attempt}){}",
        if export { "export" } else { "import" },
        task.name,
        previous
            .id
            .map(|id| format!(" in place of task {id}"))
            .unwrap_or_default()
    );
    if export {
        status.export = Some(task);
    } else {
        status.import = Some(task);
    }
    let phase = if export {
        Phase::Exporting
    } else {
        Phase::Importing
    };
    Outcome::new(
        phase,
        Desired::false_(
            READY,
            if export { "Exporting" } else { "Importing" },
            message,
        ),
    )
    .acting(act)
}

fn import_step(inputs: &Inputs<'_>, status: &mut DataWorksMigrationStatus) -> Outcome {
    let Inputs {
        spec,
        observed,
        identity,
        now,
        ..
    } = *inputs;
    let package_file = status.package_file.clone().unwrap_or_default();
    status.started_at.get_or_insert(Time(now));
    let task = status.import.get_or_insert_with(|| MigrationTask {
        name: identity.task_name(false, 1),
        workspace_id: spec.target_workspace_id,
        attempt: 1,
        ..MigrationTask::default()
    });
    let importing = |message: String| {
        Outcome::new(
            Phase::Importing,
            Desired::false_(READY, "Importing", message),
        )
    };
    let Some(id) = task.id else {
        let create_now = match &observed.import_lookup {
            _ if task.create_requested_at.is_none() => true,
            Some(Lookup::Found { id, owned: true }) => {
                task.id = Some(*id);
                return importing(format!(
                    "adopted import task {id} ({}): created before its answer was lost",
                    task.name
                ))
                .acting(Act::StartImport {
                    project_id: task.workspace_id,
                    migration_id: *id,
                    reimport: false,
                });
            }
            Some(Lookup::Found { id, owned: false }) => {
                return name_taken(&task.name, *id, task.workspace_id);
            }
            Some(Lookup::Absent) | None => true,
        };
        debug_assert!(create_now);
        task.create_requested_at = Some(Time(now));
        task.settings_digest = Some(settings_digest(spec));
        let request = import_request(spec, &package_file, identity, task.attempt);
        return importing(format!(
            "creating import task {} in workspace {}",
            task.name, task.workspace_id
        ))
        .acting(Act::CreateImport(request));
    };
    let project = task.workspace_id;
    let view = match &observed.import {
        Some(TaskRead::Seen(v)) => v.clone(),
        Some(TaskRead::Gone) => {
            return failed_or_retry(
                inputs,
                status,
                false,
                "TaskGone",
                format!(
                    "import task {id} no longer exists in workspace {project} (deleted in the console); set spec.retryRequestedAt to import again"
                ),
            );
        }
        None => return importing(format!("waiting to read import task {id}")),
    };
    apply_view(task, &view);
    let state = view.status.unwrap_or(State::Unknown);
    let report = report_url(&spec.region, project, id);
    let mut out = match state {
        State::Init | State::Editing if task.started_at.is_none() => {
            importing(format!("starting import task {id}")).acting(Act::StartImport {
                project_id: project,
                migration_id: id,
                reimport: false,
            })
        }
        State::Init | State::Editing if start_lost(task, now) => {
            let why = format!(
                "import task {id} did not start: {}; set spec.retryRequestedAt to create a new import task",
                task.message.clone().unwrap_or_else(|| format!(
                    "still {} {}s after StartMigration was accepted",
                    state_text(task),
                    START_GRACE.as_secs()
                ))
            );
            return failed_or_retry(inputs, status, false, "StartFailed", why);
        }
        State::Init | State::Editing | State::Importing | State::Running => {
            importing(format!("import task {id}: {}", steps_text(&task.steps)))
        }
        State::ImportSuccess | State::Success => {
            let mut out = Outcome::new(
                Phase::Succeeded,
                Desired::true_(
                    READY,
                    "Imported",
                    format!("import task {id} succeeded in workspace {project}; details (console only): {report}"),
                ),
            )
            .settled();
            out.imported = Some(Desired::true_(
                IMPORTED,
                "ImportSucceeded",
                "every object was imported",
            ));
            out
        }
        State::PartialSuccess => {
            let message = format!(
                "import task {id} partly succeeded: {}; which objects failed is only in the console's report: {report}. A Cutover gate fails on this unless its migration entry sets acceptPartialSuccess",
                view.message
                    .as_deref()
                    .unwrap_or("DataWorks gave no detail")
            );
            let mut out = Outcome::new(
                Phase::PartiallySucceeded,
                Desired::false_(READY, "PartiallySucceeded", message.clone()),
            )
            .settled();
            out.imported = Some(Desired::false_(IMPORTED, "PartiallySucceeded", message));
            out
        }
        State::ImportError | State::Failure | State::Revoked => {
            return import_failed(inputs, status, id, &view, &report);
        }
        other => Outcome::new(
            Phase::Importing,
            Desired::unknown(
                READY,
                "UnknownStatus",
                format!(
                    "import task {id} reports {}, a status the operator does not know; waiting",
                    task.unknown_status
                        .clone()
                        .unwrap_or_else(|| format!("{other:?}"))
                ),
            ),
        ),
    };
    if out.imported.is_none() {
        out.imported = Some(Desired::unknown(
            IMPORTED,
            "Importing",
            "the import has not finished",
        ));
    }
    if inputs.spec.source.export.is_some() {
        out.exported = Some(Desired::true_(
            EXPORTED,
            "Exported",
            "the export succeeded and its package was uploaded",
        ));
    }
    out
}

/// An import task ended IMPORT_ERROR (or REVOKED): wait for a re-import to show, fall back
/// to a new task, start a re-import, or stop Failed.
fn import_failed(
    inputs: &Inputs<'_>,
    status: &mut DataWorksMigrationStatus,
    id: i64,
    view: &TaskView,
    report: &str,
) -> Outcome {
    let Inputs { spec, now, .. } = *inputs;
    let task = status.import.clone().unwrap_or_default();
    let cause = view
        .message
        .as_deref()
        .unwrap_or("DataWorks gave no reason");
    // 1. A re-import by StartMigration in flight.
    if let Some(r) = status.reimport.clone()
        && r.method == ReimportMethod::StartMigration
    {
        if let Some(why) = r.fallback_reason.clone() {
            let mut r2 = r.clone();
            r2.method = ReimportMethod::NewTask;
            status.reimport = Some(r2);
            return new_task(
                inputs,
                status,
                false,
                &format!("StartMigration did not re-import ({why})"),
            );
        }
        let moved = task.modified_at > r.failed_modified_at;
        if let Some(sent) = r.sent_at.as_ref().filter(|_| !moved) {
            if elapsed(sent.0, now) < REIMPORT_GRACE {
                return Outcome::new(
                    Phase::Importing,
                    Desired::false_(
                        READY,
                        "Reimporting",
                        format!(
                            "re-import of task {id} requested (StartMigration); waiting for it to start"
                        ),
                    ),
                );
            }
            let mut r2 = r.clone();
            r2.fallback_reason = Some(format!(
                "StartMigration was accepted but task {id} stayed IMPORT_ERROR for {}s",
                REIMPORT_GRACE.as_secs()
            ));
            r2.method = ReimportMethod::NewTask;
            status.reimport = Some(r2);
            return new_task(inputs, status, false, "StartMigration did not re-import");
        }
    }
    // 2. A new retry request.
    if retry_requested(spec, status) {
        let requested = spec.retry_requested_at.clone().unwrap_or_default();
        status.last_retry_requested_at = Some(requested.clone());
        if task.settings_digest.as_deref() != Some(settings_digest(spec).as_str()) {
            status.reimport = Some(Reimport {
                requested_at: requested,
                method: ReimportMethod::NewTask,
                sent_at: Some(Time(now)),
                failed_modified_at: task.modified_at.clone(),
                fallback_reason: None,
            });
            return new_task(
                inputs,
                status,
                false,
                "the import settings changed since the failed task was created",
            );
        }
        status.reimport = Some(Reimport {
            requested_at: requested,
            method: ReimportMethod::StartMigration,
            sent_at: Some(Time(now)),
            failed_modified_at: task.modified_at.clone(),
            fallback_reason: None,
        });
        return Outcome::new(
            Phase::Importing,
            Desired::false_(
                READY,
                "Reimporting",
                format!("re-importing task {id} (StartMigration, the console's Re-import)"),
            ),
        )
        .acting(Act::StartImport {
            project_id: task.workspace_id,
            migration_id: id,
            reimport: true,
        });
    }
    // 3. Failed for now.
    let mapping = cause.contains("CalculateEngineMap")
        || (cause.to_ascii_lowercase().contains("engine")
            && (cause.contains("mapping") || cause.contains("not bound")));
    let (reason, what) = if mapping {
        (
            "EngineMappingMissing",
            format!(
                "map every compute-engine instance of the package in spec.engineMapping (source instance → an instance bound to workspace {}), then set spec.retryRequestedAt: the changed mapping goes into a new import task",
                spec.target_workspace_id
            ),
        )
    } else {
        (
            "ImportFailed",
            format!(
                "fix the cause, then set spec.retryRequestedAt to re-import; details (console only): {report}"
            ),
        )
    };
    let message = format!(
        "import task {id} ended {}: {cause}; {what}",
        state_text(&task)
    );
    let mut out = Outcome::new(
        Phase::Failed,
        Desired::false_(READY, reason, message.clone()),
    )
    .settled();
    out.imported = Some(Desired::false_(IMPORTED, reason, message));
    out
}

/// StartMigration was refused (`Data: false`), or accepted long ago without effect.
fn start_lost(task: &MigrationTask, now: jiff::Timestamp) -> bool {
    task.started_at.as_ref().is_some_and(|at| {
        task.message
            .as_deref()
            .is_some_and(|m| m.starts_with(START_REFUSED))
            || elapsed(at.0, now) >= START_GRACE
    })
}

const START_REFUSED: &str = "StartMigration refused: ";

fn apply_view(task: &mut MigrationTask, view: &TaskView) {
    task.status = view.status;
    task.unknown_status = view.unknown_status.clone();
    task.steps = view.steps.clone();
    // A refused start is the operator's own finding; DataWorks' message otherwise.
    if view.message.is_some()
        || !task
            .message
            .as_deref()
            .is_some_and(|m| m.starts_with(START_REFUSED))
    {
        task.message = view.message.clone();
    }
    task.created_at = view.created_at.clone().or(task.created_at.take());
    task.modified_at = view.modified_at.clone().or(task.modified_at.take());
    task.create_user = view.create_user.clone();
    task.op_user = view.op_user.clone();
}

fn state_text(task: &MigrationTask) -> String {
    match (task.status, &task.unknown_status) {
        (_, Some(raw)) => raw.clone(),
        (Some(s), None) => serde_json::to_value(s)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        (None, None) => "unknown".into(),
    }
}

fn steps_text(steps: &[MigrationStep]) -> String {
    if steps.is_empty() {
        return "no step reported yet".into();
    }
    steps
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s.name,
                serde_json::to_value(s.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What an action's answer changes in status.
pub fn record(
    status: &mut DataWorksMigrationStatus,
    act: &Act,
    answer: &Answer,
    now: jiff::Timestamp,
) {
    let task = match act {
        Act::CreateExport(_) | Act::StartExport { .. } => status.export.as_mut(),
        Act::CreateImport(_) | Act::StartImport { .. } => status.import.as_mut(),
        Act::Upload(_) => None,
    };
    match (answer, task) {
        (Answer::Created(id), Some(task)) => task.id = Some(*id),
        (Answer::Started, Some(task)) => {
            task.started_at = Some(Time(now));
        }
        (Answer::StartRefused(why), Some(task)) => {
            if let Act::StartImport { reimport: true, .. } = act
                && let Some(r) = status.reimport.as_mut()
            {
                r.fallback_reason = Some(why.clone());
            } else {
                task.started_at = Some(Time(now));
                task.message = Some(format!("{START_REFUSED}{why}"));
            }
        }
        (Answer::CreateRefused(why), Some(task)) => {
            task.create_requested_at = None;
            task.message = Some(why.clone());
            status.phase = Some(Phase::Failed);
            status.conditions = conditions::merge(
                &status.conditions,
                &[Desired::false_(
                    READY,
                    "CreateRefused",
                    format!(
                        "DataWorks refused to create task {}: {why}; change the spec (or the workspace), or set spec.retryRequestedAt to try again",
                        task.name
                    ),
                )],
                status.observed_generation,
                now,
            );
        }
        (
            Answer::Uploaded {
                package_file,
                bytes,
            },
            _,
        ) => {
            status.package_file = Some(package_file.clone());
            status.package_bytes = Some(*bytes);
        }
        _ => {}
    }
}
