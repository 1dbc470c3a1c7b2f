//! DataWorks Migration Assistant (`dataworks-public` 2020-05-18) and the package path around
//! it: OpenPlatform `AuthorizeFileUpload` (2019-12-19) and the OSS form POST and pre-signed
//! GET of packages. Workspaces come from the scenario (`dataworks.workspaces`).
//!
//! Tasks: CreateExportMigration → `INIT`, CreateImportMigration → `EDITING` (which of the two
//! the real service reports right after creation is unverified; clients must take either);
//! StartMigration runs the steps one after the other (`dataworks.timings.step` each), ending
//! `EXPORT_SUCCESS` (with a pre-signed `DownloadUrl` of the package) or `IMPORT_SUCCESS` /
//! `PARTIAL_SUCCESS`, or `*_ERROR` with `Message`. StartMigration on `IMPORT_ERROR` re-imports
//! (the console's Re-import; whether the API does so is unverified, `reimportByStart: false`
//! refuses it instead).

mod actions;
pub mod oss;
pub mod package;

pub use actions::{ACTIONS, OPENPLATFORM_ACTIONS, handle, handle_openplatform};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::clock::SimMillis;
use super::scenario::Dur;
use package::{Engine, Workflow};

/// API version of the Migration Assistant actions.
pub const VERSION: &str = "2020-05-18";
/// API version of OpenPlatform.
pub const OPENPLATFORM_VERSION: &str = "2019-12-19";

/// Import steps (`IMPORE_PREPARE` is DataWorks' own spelling; the rest of the list is the
/// simulator's choice: the real list is not documented).
pub const IMPORT_STEPS: &[&str] = &[
    "IMPORE_PREPARE",
    "IMPORT_CHECK",
    "IMPORT_OBJECTS",
    "IMPORT_COMMIT",
];
/// Export steps (the simulator's choice).
pub const EXPORT_STEPS: &[&str] = &["EXPORT_PREPARE", "EXPORT_OBJECTS", "EXPORT_PACKAGE"];

/// The scenario's `dataworks:` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataWorksSpec {
    #[serde(default)]
    pub timings: DataWorksTimings,
    #[serde(default)]
    pub workspaces: Vec<WorkspaceSpec>,
    /// StartMigration on an `IMPORT_ERROR` task re-imports (default); false refuses it.
    #[serde(default = "yes")]
    pub reimport_by_start: bool,
}

impl Default for DataWorksSpec {
    fn default() -> Self {
        Self {
            timings: DataWorksTimings::default(),
            workspaces: Vec::new(),
            reimport_by_start: true,
        }
    }
}

fn yes() -> bool {
    true
}

/// Cloud time of each task step.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct DataWorksTimings {
    pub step: Dur,
}

impl Default for DataWorksTimings {
    fn default() -> Self {
        Self {
            step: Dur::secs(20),
        }
    }
}

/// A workspace (project).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkspaceSpec {
    pub id: i64,
    pub name: String,
    /// Default: the scenario's region.
    #[serde(default)]
    pub region: Option<String>,
    /// Compute-engine instances bound to it.
    #[serde(default)]
    pub engines: Vec<EngineSpec>,
    /// Accounts (uids) that are Workspace Administrators; empty: every account.
    #[serde(default)]
    pub admins: Vec<String>,
    /// What an export of it holds.
    #[serde(default)]
    pub workflows: Vec<WorkflowSpec>,
}

/// A compute-engine instance.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EngineSpec {
    /// `ODPS`, `EMR`, `HADOOP_CDH`, `HOLOGRES`.
    #[serde(rename = "type")]
    pub type_: String,
    pub instance: String,
}

/// A workflow of a workspace.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkflowSpec {
    pub name: String,
    #[serde(default)]
    pub nodes: Vec<NodeSpec>,
}

/// A node.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeSpec {
    pub name: String,
    #[serde(rename = "type", default = "odps_sql")]
    pub type_: String,
}

fn odps_sql() -> String {
    "ODPS_SQL".into()
}

/// Export or import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Kind {
    Import,
    Export,
}

/// How a started task will end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Partial(String),
    /// Fails at this step with this message.
    Fail(usize, String),
}

/// A migration task.
#[derive(Debug, Clone)]
pub struct Task {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub description: String,
    pub kind: Kind,
    pub package_type: String,
    pub package_file: Option<String>,
    pub engine_map: Value,
    pub status: &'static str,
    pub message: Option<String>,
    pub steps: Vec<(&'static str, &'static str)>,
    pub created: SimMillis,
    pub modified: SimMillis,
    pub started: Option<SimMillis>,
    pub outcome: Outcome,
    pub create_user: String,
    pub op_user: String,
    /// The package's object key once an export succeeded.
    pub download_key: Option<String>,
    /// Its pre-signed URL (valid an hour of real time from the export's end).
    pub download_url: Option<String>,
    /// Full export or incremental since (ms).
    pub export_mode: String,
    pub runs: u32,
}

/// An import planned to fail (admin API).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PlannedFailure {
    /// Only imports into this workspace; any when absent.
    #[serde(default)]
    pub workspace_id: Option<i64>,
    /// The task's Message.
    #[serde(default)]
    pub message: Option<String>,
    /// End `PARTIAL_SUCCESS` instead of `IMPORT_ERROR`.
    #[serde(default)]
    pub partial: bool,
    /// How many imports it still affects.
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

/// A workspace as the simulator keeps it.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub spec: WorkspaceSpec,
    pub region: String,
    /// Workflows imported into it, by name.
    pub imported: Vec<String>,
}

/// The DataWorks side of the world.
#[derive(Debug)]
pub struct DataWorks {
    pub spec: DataWorksSpec,
    pub workspaces: BTreeMap<i64, Workspace>,
    pub tasks: BTreeMap<i64, Task>,
    pub oss: oss::Store,
    pub failures: Vec<PlannedFailure>,
    next_id: i64,
}

impl DataWorks {
    pub fn new(spec: &DataWorksSpec, region: &str, seed: u64) -> Self {
        let workspaces = spec
            .workspaces
            .iter()
            .map(|w| {
                (
                    w.id,
                    Workspace {
                        region: w.region.clone().unwrap_or_else(|| region.to_string()),
                        spec: w.clone(),
                        imported: Vec::new(),
                    },
                )
            })
            .collect();
        Self {
            spec: spec.clone(),
            workspaces,
            tasks: BTreeMap::new(),
            oss: oss::Store::new(region, seed),
            failures: Vec::new(),
            next_id: 300_001,
        }
    }

    fn next_id(&mut self) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn step_millis(&self) -> i64 {
        self.spec.timings.step.ms().max(1)
    }

    /// Applies every step due up to `now`.
    pub fn advance(&mut self, now: SimMillis) {
        let step = self.step_millis();
        let ids: Vec<i64> = self.tasks.keys().copied().collect();
        for id in ids {
            let Some(task) = self.tasks.get(&id) else {
                continue;
            };
            let Some(started) = task.started else {
                continue;
            };
            if !matches!(task.status, "IMPORTING" | "EXPORTING") {
                continue;
            }
            let total = task.steps.len();
            let done = (((now - started) / step).max(0) as usize).min(total);
            let mut task = task.clone();
            let failed_at = match &task.outcome {
                Outcome::Fail(i, _) => Some((*i).min(total - 1)),
                _ => None,
            };
            for (i, s) in task.steps.iter_mut().enumerate() {
                s.1 = match failed_at {
                    Some(f) if i == f && done > f => "FAILURE",
                    Some(f) if i > f && done > f => "INIT",
                    _ if i < done => "SUCCESS",
                    _ if i == done => "RUNNING",
                    _ => "INIT",
                };
            }
            let end = |k: usize| started + step * k as i64;
            match (&task.outcome, failed_at) {
                (Outcome::Fail(_, message), Some(f)) if done > f => {
                    task.status = if task.kind == Kind::Import {
                        "IMPORT_ERROR"
                    } else {
                        "EXPORT_ERROR"
                    };
                    task.message = Some(message.clone());
                    task.modified = end(f + 1);
                }
                (outcome, _) if done >= total => {
                    task.modified = end(total);
                    match (task.kind, outcome) {
                        (Kind::Export, _) => {
                            task.status = "EXPORT_SUCCESS";
                            let key = self.export_package(&task);
                            let now_secs = super::clock::wall_millis() / 1000;
                            task.download_url = Some(self.oss.presign(&key, now_secs));
                            task.download_key = Some(key);
                        }
                        (Kind::Import, Outcome::Partial(m)) => {
                            task.status = "PARTIAL_SUCCESS";
                            task.message = Some(m.clone());
                        }
                        (Kind::Import, _) => {
                            task.status = "IMPORT_SUCCESS";
                            self.record_import(&task);
                        }
                    }
                }
                _ => {}
            }
            self.tasks.insert(id, task);
        }
    }

    /// Writes the package of a finished export into OSS; returns its key.
    fn export_package(&mut self, task: &Task) -> String {
        let bytes = match self.workspaces.get(&task.project_id) {
            Some(w) => package::build(
                &w.spec.name,
                &w.spec
                    .engines
                    .iter()
                    .map(|e| (e.type_.clone(), e.instance.clone()))
                    .collect::<Vec<Engine>>(),
                &w.spec
                    .workflows
                    .iter()
                    .map(|wf| Workflow {
                        name: wf.name.clone(),
                        nodes: wf
                            .nodes
                            .iter()
                            .map(|n| (n.name.clone(), n.type_.clone()))
                            .collect(),
                    })
                    .collect::<Vec<_>>(),
            ),
            None => package::build("unknown", &[], &[]),
        };
        let key = format!("dataworks-migration/export/{}/{}.zip", task.id, task.name);
        self.oss.put(&key, bytes);
        key
    }

    fn record_import(&mut self, task: &Task) {
        let Some(bytes) = task
            .package_file
            .as_deref()
            .and_then(|f| self.oss.get_by_url(f))
        else {
            return;
        };
        let Ok(info) = package::inspect(&bytes) else {
            return;
        };
        if let Some(w) = self.workspaces.get_mut(&task.project_id) {
            for wf in info.workflows {
                if !w.imported.contains(&wf) {
                    w.imported.push(wf);
                }
            }
        }
    }

    /// Decides at start how an import will end: package checks, then planned failures.
    fn plan_import(&mut self, task: &Task) -> Outcome {
        let Some(bytes) = task
            .package_file
            .as_deref()
            .and_then(|f| self.oss.get_by_url(f))
        else {
            return Outcome::Fail(0, "the package file could not be read from OSS".into());
        };
        if bytes.len() > oss::MAX_OBJECT_BYTES {
            return Outcome::Fail(0, "the package is larger than 30 MB".into());
        }
        let info = match package::inspect(&bytes) {
            Ok(i) => i,
            Err(e) => return Outcome::Fail(0, e),
        };
        if info.project.is_none() && !info.spec_format {
            return Outcome::Fail(
                0,
                "the package has neither project.xml nor a SPEC.FORMAT marker".into(),
            );
        }
        if let Some(message) = self.engine_mapping_problem(task, &info) {
            return Outcome::Fail(1, message);
        }
        let target = task.project_id;
        if let Some(f) = self
            .failures
            .iter_mut()
            .find(|f| f.times > 0 && f.workspace_id.is_none_or(|w| w == target))
        {
            f.times -= 1;
            let partial = f.partial;
            let message = f.message.clone().unwrap_or_else(|| {
                if partial {
                    "1 object was not imported: node ods_orders could not be committed (an object of that name exists in the target workspace)".into()
                } else {
                    "commit failed: node ods_orders is locked by another user in the target workspace".into()
                }
            });
            self.failures.retain(|f| f.times > 0);
            return if partial {
                Outcome::Partial(message)
            } else {
                Outcome::Fail(3, message)
            };
        }
        Outcome::Success
    }

    /// The documented failure of an import whose engine instances are not all mapped (or mapped
    /// to an instance the target workspace does not have).
    fn engine_mapping_problem(&self, task: &Task, info: &package::PackageInfo) -> Option<String> {
        let map = task.engine_map.as_object();
        let mapped = |t: &str, i: Option<&str>| -> Option<String> {
            let per_type = map?.get(t)?.as_object()?;
            match i {
                Some(i) => per_type.get(i)?.as_str().map(str::to_string),
                None => per_type.values().next()?.as_str().map(str::to_string),
            }
        };
        let mut needed: Vec<(String, Option<String>)> = info
            .engines
            .iter()
            .map(|(t, i)| (t.clone(), Some(i.clone())))
            .collect();
        if needed.is_empty() {
            for t in info
                .node_types
                .iter()
                .filter_map(|n| package::engine_type_of(n))
            {
                if !needed.iter().any(|(x, _)| x == t) {
                    needed.push((t.to_string(), None));
                }
            }
        }
        let target = self.workspaces.get(&task.project_id)?;
        for (t, i) in needed {
            let shown = format!("{t}:{}", i.as_deref().unwrap_or("*"));
            let Some(to) = mapped(&t, i.as_deref()) else {
                return Some(format!(
                    "compute engine instance {shown} of the package has no mapping in CalculateEngineMap: map it to an engine instance of workspace {}",
                    target.spec.name
                ));
            };
            if !target
                .spec
                .engines
                .iter()
                .any(|e| e.type_ == t && e.instance == to)
            {
                return Some(format!(
                    "compute engine instance {t}:{to} (mapped from {shown}) is not bound to workspace {}",
                    target.spec.name
                ));
            }
        }
        None
    }

    /// `/_sim/state` → `dataworks`.
    pub fn summary(&self) -> Value {
        json!({
            "workspaces": self.workspaces.values().map(|w| json!({
                "id": w.spec.id,
                "name": w.spec.name,
                "region": w.region,
                "engines": w.spec.engines,
                "imported": w.imported,
            })).collect::<Vec<_>>(),
            "tasks": self.tasks.len(),
            "failures": self.failures,
        })
    }

    /// Every task as the admin API shows it (the download URL in full: it is the simulator's).
    pub fn views(&self) -> Vec<TaskView> {
        self.tasks
            .values()
            .map(|t| TaskView {
                id: t.id,
                project_id: t.project_id,
                name: t.name.clone(),
                description: t.description.clone(),
                kind: t.kind,
                status: t.status.to_string(),
                message: t.message.clone(),
                steps: t
                    .steps
                    .iter()
                    .map(|(n, s)| (n.to_string(), s.to_string()))
                    .collect(),
                package_file: t.package_file.clone(),
                engine_map: t.engine_map.clone(),
                download_url: t.download_url.clone(),
                runs: t.runs,
            })
            .collect()
    }
}

/// A task as the admin API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TaskView {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub description: String,
    pub kind: Kind,
    pub status: String,
    pub message: Option<String>,
    pub steps: Vec<(String, String)>,
    pub package_file: Option<String>,
    pub engine_map: Value,
    pub download_url: Option<String>,
    /// How often it was started (a re-import counts).
    pub runs: u32,
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match String::deserialize(d)?.as_str() {
            "EXPORT" => Ok(Kind::Export),
            _ => Ok(Kind::Import),
        }
    }
}
