//! The DataWorks Migration Assistant of the simulator, driven by the operator's own cloud
//! client: export → download → upload (Advance flow) → import, the package checks, re-import,
//! the workspace-admin rule, and masking of the download URL.

use aliyun_migration_operator::aliyun::dataworks::{
    CreateExportMigrationRequest, CreateImportMigrationRequest, MigrationStatus, MigrationType,
    StepStatus,
};
use aliyun_migration_operator::aliyun::{
    Cloud, CloudConfig, Credentials, DataWorksClient, RateLimits, SecretString,
};
use aliyun_migration_operator::sim::SimHandle;
use aliyun_migration_operator::sim::dataworks::package;
use serde_json::json;

const SOURCE: i64 = 10001;
const TARGET: i64 = 10002;

fn client(sim: &SimHandle, key: &str, secret: &str) -> DataWorksClient {
    let cloud = Cloud::new(CloudConfig {
        endpoint_override: Some(sim.base_url()),
        rate_limits: RateLimits::unlimited(),
        ..CloudConfig::default()
    })
    .unwrap();
    cloud.dataworks(
        "cn-hangzhou",
        Credentials::static_key(key, SecretString::new(secret), None),
    )
}

fn admin_client(sim: &SimHandle) -> DataWorksClient {
    client(
        sim,
        "LTAI5tSimulatorLocal0001",
        "SimLocalSecret0001NotARealKey0",
    )
}

fn import_request(
    name: &str,
    package_file: &str,
    engines: serde_json::Value,
) -> CreateImportMigrationRequest {
    CreateImportMigrationRequest {
        project_id: TARGET,
        name: name.into(),
        package_type: "DATAWORKS_MODEL".into(),
        package_file: package_file.into(),
        calculate_engine_map: engines,
        commit_rule: json!({"resourceAutoCommit": false}),
        resource_group_map: None,
        workspace_map: Some(json!({"sales_dev": "sales_prod"})),
        description: Some("test".into()),
    }
}

async fn run_until(
    sim: &SimHandle,
    dw: &DataWorksClient,
    project: i64,
    id: i64,
    done: &[MigrationStatus],
) -> MigrationStatus {
    for _ in 0..20 {
        sim.admin().advance(20.0).await.unwrap();
        let s = dw.get_migration_summary(project, id).await.unwrap();
        let status = s.status.unwrap();
        if done.contains(&status) {
            return status;
        }
    }
    panic!("task {id} did not finish");
}

#[tokio::test]
async fn export_download_upload_import_round_trip() {
    let sim = crate::support::frozen().await;
    let dw = admin_client(&sim);
    let export = dw
        .create_export_migration(&CreateExportMigrationRequest {
            project_id: SOURCE,
            name: "amo_export_1".into(),
            export_mode: "FULL".into(),
            incremental_since_ms: None,
            export_object_status: None,
            description: None,
        })
        .await
        .unwrap();
    let created = dw.get_migration_summary(SOURCE, export).await.unwrap();
    assert_eq!(created.status, Some(MigrationStatus::Init));
    assert!(dw.start_migration(SOURCE, export).await.unwrap());
    let status = run_until(&sim, &dw, SOURCE, export, &[MigrationStatus::ExportSuccess]).await;
    assert_eq!(status, MigrationStatus::ExportSuccess);
    let summary = dw.get_migration_summary(SOURCE, export).await.unwrap();
    assert!(summary.has_download_url, "the summary says a URL exists");
    let url = dw
        .export_download_url(SOURCE, export)
        .await
        .unwrap()
        .unwrap();
    assert!(url.expose_secret().contains("Signature="));
    let bytes = dw.download_package(&url).await.unwrap();
    let info = package::inspect(&bytes).unwrap();
    assert_eq!(info.project.as_deref(), Some("sales_dev"));

    let grant = dw.authorize_file_upload().await.unwrap();
    let package_file = dw.upload_package(&grant, &bytes).await.unwrap();
    assert!(
        package_file.starts_with("http://dataworks-migration-cn-hangzhou."),
        "{package_file}"
    );
    let import = dw
        .create_import_migration(&import_request(
            "amo_import_1",
            &package_file,
            json!({"ODPS": {"sales_dev_odps": "sales_prod_odps"}}),
        ))
        .await
        .unwrap();
    assert_eq!(
        dw.get_migration_summary(TARGET, import)
            .await
            .unwrap()
            .status,
        Some(MigrationStatus::Editing)
    );
    assert!(dw.start_migration(TARGET, import).await.unwrap());
    let status = run_until(
        &sim,
        &dw,
        TARGET,
        import,
        &[MigrationStatus::ImportSuccess, MigrationStatus::ImportError],
    )
    .await;
    assert_eq!(status, MigrationStatus::ImportSuccess);
    let steps = dw.get_migration_process(TARGET, import).await.unwrap();
    assert_eq!(steps[0].task_name, "IMPORE_PREPARE");
    assert!(
        steps
            .iter()
            .all(|s| s.task_status == Some(StepStatus::Success))
    );
    let listed = dw
        .find_migrations_named(TARGET, MigrationType::Import, "amo_import_1")
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].description.as_deref(), Some("test"));
    let state = sim.admin().state().await.unwrap();
    let ws = state["dataworks"]["workspaces"].as_array().unwrap();
    assert!(
        ws.iter()
            .any(|w| w["id"] == TARGET && w["imported"] == json!(["wf_orders", "wf_customers"]))
    );
    sim.shutdown().await;
}

async fn uploaded(dw: &DataWorksClient) -> String {
    let bytes = package::build(
        "sales_dev",
        &[("ODPS".into(), "sales_dev_odps".into())],
        &[package::Workflow {
            name: "wf".into(),
            nodes: vec![("n".into(), "ODPS_SQL".into())],
        }],
    );
    let grant = dw.authorize_file_upload().await.unwrap();
    dw.upload_package(&grant, &bytes).await.unwrap()
}

#[tokio::test]
async fn a_missing_engine_mapping_fails_the_import_and_a_reimport_runs_again() {
    let sim = crate::support::frozen().await;
    let dw = admin_client(&sim);
    let file = uploaded(&dw).await;
    let id = dw
        .create_import_migration(&import_request(
            "amo_bad_map",
            &file,
            json!({"ODPS": {"other": "sales_prod_odps"}}),
        ))
        .await
        .unwrap();
    dw.start_migration(TARGET, id).await.unwrap();
    let status = run_until(
        &sim,
        &dw,
        TARGET,
        id,
        &[MigrationStatus::ImportError, MigrationStatus::ImportSuccess],
    )
    .await;
    assert_eq!(status, MigrationStatus::ImportError);
    let item = &dw
        .find_migrations_named(TARGET, MigrationType::Import, "amo_bad_map")
        .await
        .unwrap()[0];
    assert!(
        item.message
            .as_deref()
            .unwrap()
            .contains("no mapping in CalculateEngineMap"),
        "{item:?}"
    );

    // A planned commit failure, then a re-import by StartMigration succeeds.
    sim.admin()
        .fail_dataworks_import(Some(TARGET), None, false, 1)
        .await
        .unwrap();
    let good = dw
        .create_import_migration(&import_request(
            "amo_good_map",
            &file,
            json!({"ODPS": {"sales_dev_odps": "sales_prod_odps"}}),
        ))
        .await
        .unwrap();
    dw.start_migration(TARGET, good).await.unwrap();
    let first = run_until(
        &sim,
        &dw,
        TARGET,
        good,
        &[MigrationStatus::ImportError, MigrationStatus::ImportSuccess],
    )
    .await;
    assert_eq!(first, MigrationStatus::ImportError);
    assert!(
        dw.start_migration(TARGET, good).await.unwrap(),
        "re-import by StartMigration"
    );
    let second = run_until(
        &sim,
        &dw,
        TARGET,
        good,
        &[MigrationStatus::ImportError, MigrationStatus::ImportSuccess],
    )
    .await;
    assert_eq!(second, MigrationStatus::ImportSuccess);
    // A finished task cannot be started again: a business error (HTTP 200, Success false).
    let refused = dw.start_migration(TARGET, good).await.unwrap_err();
    assert_eq!(refused.http_status(), Some(200), "{refused}");
    // Duplicate names are refused.
    let dup = dw
        .create_import_migration(&import_request("amo_good_map", &file, json!({})))
        .await
        .unwrap_err();
    assert!(dup.to_string().contains("already exists"), "{dup}");
    sim.shutdown().await;
}

#[tokio::test]
async fn only_workspace_admins_create_tasks_and_forged_uploads_are_refused() {
    let sim = crate::support::frozen().await;
    let member = client(
        &sim,
        "LTAI5tSimulatorLocal0002",
        "SimLocalSecret0002NotARealKey0",
    );
    let e = member
        .create_export_migration(&CreateExportMigrationRequest {
            project_id: SOURCE,
            name: "x".into(),
            export_mode: "FULL".into(),
            incremental_since_ms: None,
            export_object_status: None,
            description: None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        Some("Invalid.Tenant.UserIsNotProjectOwnerOrAdmin")
    );
    assert!(e.is_terminal());
    let dw = admin_client(&sim);
    let mut grant = dw.authorize_file_upload().await.unwrap();
    grant.signature = SecretString::new("forged");
    let e = dw.upload_package(&grant, b"PK\x03\x04").await.unwrap_err();
    assert_eq!(e.code(), Some("SignatureDoesNotMatch"));
    sim.shutdown().await;
}
