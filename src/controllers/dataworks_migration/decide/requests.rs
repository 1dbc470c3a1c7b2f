//! The cloud requests a DataWorksMigration sends, built purely from the spec and the object's
//! identity: task names, the ownership marker, the settings digest and the two creates.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::aliyun::dataworks::{CreateExportMigrationRequest, CreateImportMigrationRequest};
use crate::api::dataworks_migration::{
    DataWorksMigrationSpec, ExportMode, ExportSource, ObjectStatus,
};

/// Who the object is: its tasks' names and ownership marker derive from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

impl Identity {
    /// The marker written into every task's description on creation; a task found by name is
    /// adopted only when it carries it (so a same-named task of someone else is never taken).
    pub fn marker(&self) -> String {
        format!(
            "[aliyun-migration-operator {}/{} uid {}]",
            self.namespace, self.name, self.uid
        )
    }

    /// Whether a task's description says this object created it.
    pub fn owns(&self, description: Option<&str>) -> bool {
        description.is_some_and(|d| d.contains(&format!("uid {}]", self.uid)))
    }

    /// `amo_<namespace>_<name>_<uid8>_<x|i><attempt>`: only letters, digits and `_` (the
    /// console's rule for names), at most 64 characters, unique per object and attempt.
    pub fn task_name(&self, export: bool, attempt: i32) -> String {
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect()
        };
        let mut base = format!("amo_{}_{}", clean(&self.namespace), clean(&self.name));
        base.truncate(44);
        let uid: String = self
            .uid
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect();
        format!("{base}_{uid}_{}{attempt}", if export { 'x' } else { 'i' })
    }

    fn description(&self, spec: &DataWorksMigrationSpec) -> String {
        match spec.description.as_deref().filter(|d| !d.is_empty()) {
            Some(d) => format!("{d} {}", self.marker()),
            None => self.marker(),
        }
    }
}

/// A digest of the settings an import task is created with; a re-import with other settings
/// needs a new task (no API edits a task: Edit is console-only).
pub fn settings_digest(spec: &DataWorksMigrationSpec) -> String {
    let settings = json!({
        "packageType": spec.package_type,
        "engineMapping": spec.engine_mapping,
        "resourceGroupMapping": spec.resource_group_mapping,
        "workspaceMapping": spec.workspace_mapping,
        "commitRules": spec.commit_rules,
    });
    hex::encode(&Sha256::digest(settings.to_string().as_bytes())[..8])
}

/// `IncrementalSince` in epoch milliseconds; Err names what is wrong.
pub fn incremental_since_ms(export: &ExportSource) -> Result<Option<i64>, String> {
    match (&export.mode, &export.incremental_since) {
        (ExportMode::Incremental, Some(text)) => text
            .parse::<jiff::Timestamp>()
            .map(|t| Some(t.as_millisecond()))
            .map_err(|_| {
                format!("source.export.incrementalSince {text:?} is not an RFC 3339 time")
            }),
        (ExportMode::Incremental, None) => {
            Err("source.export.mode Incremental needs incrementalSince".into())
        }
        (ExportMode::Full, _) => Ok(None),
    }
}

/// CreateExportMigration for attempt `attempt`.
pub fn export_request(
    spec: &DataWorksMigrationSpec,
    export: &ExportSource,
    id: &Identity,
    attempt: i32,
) -> Result<CreateExportMigrationRequest, String> {
    Ok(CreateExportMigrationRequest {
        project_id: export.source_workspace_id,
        name: id.task_name(true, attempt),
        export_mode: match export.mode {
            ExportMode::Full => "FULL",
            ExportMode::Incremental => "INCREMENTAL",
        }
        .into(),
        incremental_since_ms: incremental_since_ms(export)?,
        export_object_status: export.object_status.map(|s| {
            match s {
                ObjectStatus::Saved => "SAVED",
                ObjectStatus::Submitted => "SUBMITTED",
                ObjectStatus::Deployed => "DEPLOYED",
            }
            .to_string()
        }),
        description: Some(id.description(spec)),
    })
}

/// CreateImportMigration for attempt `attempt` of `package_file`. The engine map and commit
/// rules are always sent (an older documentation page marks them required).
pub fn import_request(
    spec: &DataWorksMigrationSpec,
    package_file: &str,
    id: &Identity,
    attempt: i32,
) -> CreateImportMigrationRequest {
    let mut engines: Map<String, Value> = Map::new();
    for m in &spec.engine_mapping {
        let per_type = engines
            .entry(m.engine.as_str())
            .or_insert_with(|| Value::Object(Map::new()));
        per_type[&m.source] = json!(m.target);
    }
    let mut groups: Map<String, Value> = Map::new();
    for m in &spec.resource_group_mapping {
        let per_kind = groups
            .entry(m.kind.as_str())
            .or_insert_with(|| Value::Object(Map::new()));
        per_kind[&m.source] = json!(m.target);
    }
    let workspaces: Map<String, Value> = spec
        .workspace_mapping
        .iter()
        .map(|m| (m.source.clone(), json!(m.target)))
        .collect();
    CreateImportMigrationRequest {
        project_id: spec.target_workspace_id,
        name: id.task_name(false, attempt),
        package_type: spec.package_type.as_str().to_string(),
        package_file: package_file.to_string(),
        calculate_engine_map: Value::Object(engines),
        commit_rule: serde_json::to_value(&spec.commit_rules).unwrap_or_else(|_| json!({})),
        resource_group_map: (!groups.is_empty()).then_some(Value::Object(groups)),
        workspace_map: (!workspaces.is_empty()).then_some(Value::Object(workspaces)),
        description: Some(id.description(spec)),
    }
}

/// The console's page of an import's detailed report (console-only; no API returns it).
pub fn report_url(region: &str, project_id: i64, migration_id: i64) -> String {
    format!(
        "https://migration-{region}.data.aliyun.com/?defaultProjectId={project_id}#/import/{migration_id}/report"
    )
}
