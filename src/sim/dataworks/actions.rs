//! The Migration Assistant actions and OpenPlatform AuthorizeFileUpload.

use serde_json::{Value, json};

use super::{DataWorks, EXPORT_STEPS, IMPORT_STEPS, Kind, Outcome, Task};
use crate::sim::clock::SimMillis;
use crate::sim::wire::{ApiError, Params};

/// Migration Assistant actions (2020-05-18).
pub const ACTIONS: &[&str] = &[
    "CreateExportMigration",
    "CreateImportMigration",
    "StartMigration",
    "GetMigrationSummary",
    "GetMigrationProcess",
    "ListMigrations",
];

/// OpenPlatform actions (2019-12-19).
pub const OPENPLATFORM_ACTIONS: &[&str] = &["AuthorizeFileUpload"];

const PACKAGE_TYPES: &[&str] = &[
    "DATAWORKS_MODEL",
    "DATAWORKS_V2",
    "DATAWORKS_V3",
    "DWMA",
    "SPEC",
];

/// A business failure: HTTP 200, `Success: false`, numeric-looking `ErrorCode` (the codes are
/// the simulator's; DataWorks documents none for these operations).
fn business(code: &str, message: impl Into<String>) -> ApiError {
    ApiError::business(code, message, "", 400)
}

/// Handles one Migration Assistant action for `account` at `now`.
pub fn handle(
    dw: &mut DataWorks,
    action: &str,
    p: &Params,
    account: &str,
    now: SimMillis,
) -> Result<Value, ApiError> {
    match action {
        "CreateExportMigration" => create_export(dw, p, account, now),
        "CreateImportMigration" => create_import(dw, p, account, now),
        "StartMigration" => start(dw, p, account, now),
        "GetMigrationSummary" => summary(dw, p),
        "GetMigrationProcess" => process(dw, p),
        "ListMigrations" => list(dw, p),
        other => Err(ApiError::new(
            404,
            "InvalidAction.NotFound",
            format!("{other} is not supported"),
        )),
    }
}

/// OpenPlatform: an upload grant for DataWorks packages.
pub fn handle_openplatform(
    dw: &mut DataWorks,
    action: &str,
    p: &Params,
    account: &str,
) -> Result<Value, ApiError> {
    if action != "AuthorizeFileUpload" {
        return Err(ApiError::new(
            404,
            "InvalidAction.NotFound",
            format!("{action} is not supported"),
        ));
    }
    let product = p.require("Product")?;
    if product != "dataworks-public" {
        return Err(ApiError::invalid_because(
            "Product",
            "only dataworks-public uploads are granted here",
        ));
    }
    Ok(dw
        .oss
        .grant(account, crate::sim::clock::wall_millis() / 1000))
}

fn project(p: &Params) -> Result<i64, ApiError> {
    p.int("ProjectId")?
        .ok_or_else(|| ApiError::missing("ProjectId"))
}

fn workspace(dw: &DataWorks, id: i64) -> Result<&super::Workspace, ApiError> {
    dw.workspaces.get(&id).ok_or_else(|| {
        ApiError::new(
            400,
            "Invalid.Tenant.ProjectNotExists",
            format!("The project {id} does not exist."),
        )
    })
}

/// Only the account or a Workspace Administrator may create or start tasks; other members may
/// only view them.
fn must_admin(dw: &DataWorks, id: i64, account: &str) -> Result<(), ApiError> {
    let w = workspace(dw, id)?;
    if w.spec.admins.is_empty() || w.spec.admins.iter().any(|a| a == account) {
        Ok(())
    } else {
        Err(ApiError::new(
            403,
            "Invalid.Tenant.UserIsNotProjectOwnerOrAdmin",
            format!(
                "The user is not the owner or an administrator of project {}.",
                w.spec.name
            ),
        ))
    }
}

fn name_taken(dw: &DataWorks, project: i64, kind: Kind, name: &str) -> bool {
    dw.tasks
        .values()
        .any(|t| t.project_id == project && t.kind == kind && t.name == name)
}

fn valid_name(name: &str) -> Result<(), ApiError> {
    if name.is_empty()
        || name.len() > 128
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    {
        return Err(ApiError::invalid_because(
            "Name",
            "only letters, digits, underscores and periods, at most 128 characters",
        ));
    }
    Ok(())
}

fn new_task(
    dw: &mut DataWorks,
    project: i64,
    kind: Kind,
    p: &Params,
    account: &str,
    now: SimMillis,
) -> Result<Task, ApiError> {
    let name = p.require("Name")?.to_string();
    valid_name(&name)?;
    if name_taken(dw, project, kind, &name) {
        return Err(business(
            "1100010409",
            format!("A migration task named {name} already exists in the project."),
        ));
    }
    let steps = match kind {
        Kind::Import => IMPORT_STEPS,
        Kind::Export => EXPORT_STEPS,
    };
    Ok(Task {
        id: dw.next_id(),
        project_id: project,
        name,
        description: p.get("Description").unwrap_or_default().to_string(),
        kind,
        package_type: String::new(),
        package_file: None,
        engine_map: Value::Null,
        status: if kind == Kind::Import {
            "EDITING"
        } else {
            "INIT"
        },
        message: None,
        steps: steps.iter().map(|s| (*s, "INIT")).collect(),
        created: now,
        modified: now,
        started: None,
        outcome: Outcome::Success,
        create_user: account.to_string(),
        op_user: account.to_string(),
        download_key: None,
        download_url: None,
        export_mode: String::new(),
        runs: 0,
    })
}

fn create_export(
    dw: &mut DataWorks,
    p: &Params,
    account: &str,
    now: SimMillis,
) -> Result<Value, ApiError> {
    let project = project(p)?;
    must_admin(dw, project, account)?;
    let mode = p.require("ExportMode")?.to_ascii_uppercase();
    match mode.as_str() {
        "FULL" => {}
        "INCREMENTAL" => {
            p.int("IncrementalSince")?
                .ok_or_else(|| ApiError::missing("IncrementalSince"))?;
        }
        _ => {
            return Err(ApiError::invalid_because(
                "ExportMode",
                "FULL or INCREMENTAL",
            ));
        }
    }
    if let Some(s) = p.get("ExportObjectStatus")
        && !matches!(s, "SAVED" | "SUBMITTED" | "DEPLOYED")
    {
        return Err(ApiError::invalid_because(
            "ExportObjectStatus",
            "SAVED, SUBMITTED or DEPLOYED",
        ));
    }
    let mut task = new_task(dw, project, Kind::Export, p, account, now)?;
    task.export_mode = mode;
    let id = task.id;
    dw.tasks.insert(id, task);
    Ok(json!({"Success": true, "Data": id}))
}

fn json_param(p: &Params, key: &str) -> Result<Value, ApiError> {
    match p.get(key) {
        None => Ok(Value::Null),
        Some(text) => serde_json::from_str::<Value>(text)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| ApiError::invalid_because(key, "not a JSON object")),
    }
}

fn create_import(
    dw: &mut DataWorks,
    p: &Params,
    account: &str,
    now: SimMillis,
) -> Result<Value, ApiError> {
    let project = project(p)?;
    must_admin(dw, project, account)?;
    let package_type = p.require("PackageType")?.to_string();
    if !PACKAGE_TYPES.contains(&package_type.as_str()) {
        return Err(ApiError::invalid_because(
            "PackageType",
            "DATAWORKS_MODEL, DATAWORKS_V2 or DATAWORKS_V3",
        ));
    }
    let package_file = p.require("PackageFile")?.to_string();
    if dw.oss.get_by_url(&package_file).is_none() {
        return Err(ApiError::invalid_because(
            "PackageFile",
            "the package cannot be read from OSS",
        ));
    }
    let engine_map = json_param(p, "CalculateEngineMap")?;
    for key in ["CommitRule", "ResourceGroupMap", "WorkspaceMap"] {
        json_param(p, key)?;
    }
    let mut task = new_task(dw, project, Kind::Import, p, account, now)?;
    task.package_type = package_type;
    task.package_file = Some(package_file);
    task.engine_map = engine_map;
    let id = task.id;
    dw.tasks.insert(id, task);
    Ok(json!({"Success": true, "Data": id, "HttpStatusCode": 200}))
}

fn task_of<'a>(dw: &'a DataWorks, p: &Params) -> Result<&'a Task, ApiError> {
    let project = project(p)?;
    let id = p
        .int("MigrationId")?
        .ok_or_else(|| ApiError::missing("MigrationId"))?;
    workspace(dw, project)?;
    dw.tasks
        .get(&id)
        .filter(|t| t.project_id == project)
        .ok_or_else(|| {
            business(
                "Invalid.Migration.NotExists",
                format!("The migration task {id} does not exist."),
            )
        })
}

fn start(dw: &mut DataWorks, p: &Params, account: &str, now: SimMillis) -> Result<Value, ApiError> {
    let mut task = task_of(dw, p)?.clone();
    must_admin(dw, task.project_id, account)?;
    let restartable = match task.status {
        "INIT" | "EDITING" => true,
        "IMPORT_ERROR" | "EXPORT_ERROR" => dw.spec.reimport_by_start,
        _ => false,
    };
    if !restartable {
        return Err(business(
            "1100010400",
            format!(
                "The migration task {} cannot be started in status {}.",
                task.id, task.status
            ),
        ));
    }
    task.outcome = match task.kind {
        Kind::Import => dw.plan_import(&task),
        Kind::Export if dw.workspaces.contains_key(&task.project_id) => Outcome::Success,
        Kind::Export => Outcome::Fail(0, "the project no longer exists".into()),
    };
    task.status = if task.kind == Kind::Import {
        "IMPORTING"
    } else {
        "EXPORTING"
    };
    task.message = None;
    task.started = Some(now);
    task.modified = now;
    task.op_user = account.to_string();
    task.runs += 1;
    for s in &mut task.steps {
        s.1 = "INIT";
    }
    dw.tasks.insert(task.id, task);
    dw.advance(now);
    Ok(json!({"Success": true, "Data": true, "HttpStatusCode": 200}))
}

fn summary(dw: &DataWorks, p: &Params) -> Result<Value, ApiError> {
    let t = task_of(dw, p)?;
    let mut data = json!({
        "MigrationId": t.id,
        "Name": t.name,
        "ProjectId": t.project_id,
        "Status": t.status,
        "GmtCreate": t.created,
        "GmtModified": t.modified,
        "CreateUser": t.create_user,
        "OpUser": t.op_user,
    });
    if let Some(url) = &t.download_url {
        data["DownloadUrl"] = json!(url);
    }
    Ok(json!({"Success": true, "Data": data}))
}

fn process(dw: &DataWorks, p: &Params) -> Result<Value, ApiError> {
    let t = task_of(dw, p)?;
    // Not started yet: no steps to show.
    let steps: Vec<Value> = if t.started.is_none() {
        Vec::new()
    } else {
        t.steps
            .iter()
            .map(|(n, s)| json!({"TaskName": n, "TaskStatus": s}))
            .collect()
    };
    Ok(json!({"Success": true, "Data": steps, "HttpStatusCode": 200}))
}

fn list(dw: &DataWorks, p: &Params) -> Result<Value, ApiError> {
    let project = project(p)?;
    workspace(dw, project)?;
    let kind = match p.require("MigrationType")?.to_ascii_uppercase().as_str() {
        "IMPORT" => Kind::Import,
        "EXPORT" => Kind::Export,
        _ => {
            return Err(ApiError::invalid_because(
                "MigrationType",
                "IMPORT or EXPORT",
            ));
        }
    };
    let page = p.int("PageNumber")?.unwrap_or(1);
    let size = p.int("PageSize")?.unwrap_or(10);
    if !(1..=100).contains(&page) || !(1..=100).contains(&size) {
        return Err(ApiError::invalid_because(
            "PageNumber",
            "PageNumber and PageSize are 1 to 100",
        ));
    }
    let mut all: Vec<&Task> = dw
        .tasks
        .values()
        .filter(|t| t.project_id == project && t.kind == kind)
        .collect();
    all.sort_by_key(|t| std::cmp::Reverse(t.id));
    let total = all.len();
    let items: Vec<Value> = all
        .into_iter()
        .skip(((page - 1) * size) as usize)
        .take(size as usize)
        .map(|t| {
            let mut v = json!({
                "Id": t.id,
                "Name": t.name,
                "Description": t.description,
                "MigrationType": if t.kind == Kind::Import { "IMPORT" } else { "EXPORT" },
                "PackageType": if t.kind == Kind::Import { t.package_type.as_str() } else { "DATAWORKS_MODEL" },
                "Status": t.status,
                "ProjectId": t.project_id,
                "TenantId": 5_000_000_000_000_001i64,
                "CreateTime": t.created,
                "UpdateTime": t.modified,
                "CreateUser": t.create_user,
                "CreateUserName": t.create_user,
                "UpdateUser": t.op_user,
                "UpdateUserName": t.op_user,
            });
            if let Some(m) = &t.message {
                v["Message"] = json!(m);
            }
            if let Some(url) = &t.download_url {
                v["DownloadUrl"] = json!(url);
            }
            v
        })
        .collect();
    Ok(json!({
        "Success": true,
        "Data": {"PageNumber": page, "PageSize": size, "TotalCount": total, "Migrations": items},
    }))
}
