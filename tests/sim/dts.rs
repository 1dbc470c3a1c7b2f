//! DTS state machine over HTTP with a frozen clock: full-only and incremental jobs, suspend and
//! resume, precheck failure and recovery, the lag curve, idempotent purchases, retrying and
//! failure, release, account isolation, and the legacy API.

use aliyun_migration_operator::sim::SimHandle;
use aliyun_migration_operator::sim::scenario::{CheckResult, Dur, LagCurve};
use serde_json::Value;

use crate::support::{Client, MIGRATION_PURCHASE, Reply, frozen, odps_task};

async fn advance(sim: &SimHandle, secs: f64) {
    sim.admin().advance(secs).await.unwrap();
}

async fn purchase(c: &Client, token: Option<&str>) -> (String, String) {
    let mut params = MIGRATION_PURCHASE.to_vec();
    if let Some(t) = token {
        params.push(("ClientToken", t));
    }
    let r = c.dts("CreateDtsInstance", &params).await;
    assert_eq!(r.status, 200, "{}", r.body);
    (
        r.body["InstanceId"].as_str().unwrap().to_string(),
        r.body["JobId"].as_str().unwrap().to_string(),
    )
}

async fn configure(c: &Client, instance: &str, incremental: bool, reserve: &str) -> Reply {
    let mut query = odps_task(instance);
    if !incremental {
        query.retain(|(k, _)| *k != "DataSynchronization");
        query.push(("DataSynchronization", "false"));
    }
    let form = [
        ("DbList", r#"{"shop":{"name":"shop","all":true}}"#),
        ("Reserve", reserve),
    ];
    c.rpc(
        "ConfigureDtsJob",
        "2020-01-01",
        &query,
        &form,
        &Default::default(),
    )
    .await
}

async fn detail(c: &Client, job: &str) -> Value {
    let r = c.dts("DescribeDtsJobDetail", &[("DtsJobId", job)]).await;
    assert_eq!(r.status, 200);
    r.body
}

async fn list_item(c: &Client, job: &str) -> Value {
    let r = c.dts("DescribeDtsJobs", &[("DtsJobId", job)]).await;
    r.body["DtsJobList"][0].clone()
}

#[tokio::test]
async fn full_only_jobs_finish_by_themselves() {
    let sim = frozen().await;
    let c = Client::new(&sim);
    let (instance, job) = purchase(&c, None).await;
    assert_eq!(detail(&c, &job).await["Status"], "NotConfigured");
    let r = configure(&c, &instance, false, "{}").await;
    assert_eq!(
        (r.status, r.body["DtsJobId"].as_str()),
        (200, Some(job.as_str())),
        "{}",
        r.body
    );
    assert_eq!(detail(&c, &job).await["Status"], "Prechecking");
    advance(&sim, 122.0).await;
    assert_eq!(detail(&c, &job).await["Status"], "PreCheckPass");
    advance(&sim, 20.0).await;
    assert_eq!(detail(&c, &job).await["Status"], "Migrating");
    let item = list_item(&c, &job).await;
    assert_eq!(item["StructureInitializationStatus"]["Status"], "Finished");
    assert_eq!(item["DataInitializationStatus"]["Status"], "Migrating");
    advance(&sim, 200.0).await;
    let d = detail(&c, &job).await;
    assert_eq!(
        (d["Status"].as_str(), d["Delay"].as_i64()),
        (Some("Finished"), Some(0))
    );
    let item = list_item(&c, &job).await;
    assert_eq!(item["DataInitializationStatus"]["Progress"], "3100000");
    sim.shutdown().await;
}

#[tokio::test]
async fn incremental_jobs_run_until_stopped_and_lag_decays() {
    let sim = frozen().await;
    let c = Client::new(&sim);
    let (instance, job) = purchase(&c, None).await;
    configure(&c, &instance, true, "{}").await;
    advance(&sim, 200.0).await;
    let d = detail(&c, &job).await;
    assert_eq!(d["Status"], "Migrating");
    assert!(
        d["Delay"].as_i64().unwrap() > 60_000,
        "lag is high during full load: {}",
        d["Delay"]
    );
    advance(&sim, 100.0).await;
    let high = detail(&c, &job).await["Delay"].as_i64().unwrap();
    assert!(
        high > 100_000,
        "incremental starts with the backlog: {high}"
    );
    advance(&sim, 240.0).await;
    let d = detail(&c, &job).await;
    let low = d["Delay"].as_i64().unwrap();
    assert!(low < 5_000, "lag decays below 5 s: {low}");
    assert!(
        ["Migrating", "Catched"]
            .contains(&d["DataSynchronizationStatus"]["Status"].as_str().unwrap())
    );
    assert!(d["Checkpoint"].as_i64().unwrap() > 0);
    advance(&sim, 7200.0).await;
    let d = detail(&c, &job).await;
    assert_eq!(
        d["Status"], "Migrating",
        "incremental jobs never finish by themselves"
    );
    assert!(d["Delay"].as_i64().unwrap() < 2_000);

    let r = c.dts("StopDtsJob", &[("DtsJobId", &job)]).await;
    assert_eq!(r.body["Success"], true);
    assert_eq!(detail(&c, &job).await["Status"], "Finished");
    let r = c.dts("StartDtsJob", &[("DtsJobId", &job)]).await;
    assert_eq!(r.status, 200, "business errors travel in HTTP 200");
    assert_eq!(
        (r.body["Success"].as_bool(), r.code()),
        (Some(false), Some("InvalidJobStatus"))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn suspend_resume_keeps_lag_continuous() {
    let sim = frozen().await;
    let c = Client::new(&sim);
    let (instance, job) = purchase(&c, None).await;
    configure(&c, &instance, true, "{}").await;
    advance(&sim, 900.0).await;
    let before = detail(&c, &job).await["Delay"].as_i64().unwrap();
    assert!(c.dts("SuspendDtsJob", &[("DtsJobId", &job)]).await.body["Success"] == true);
    advance(&sim, 60.0).await;
    let d = detail(&c, &job).await;
    assert_eq!(d["Status"], "Suspending");
    let paused = d["Delay"].as_i64().unwrap();
    assert_eq!(paused, before + 60_000, "lag grows while suspended");
    assert!(c.dts("StartDtsJob", &[("DtsJobId", &job)]).await.body["Success"] == true);
    let d = detail(&c, &job).await;
    assert_eq!(d["Status"], "Migrating");
    assert!(
        (d["Delay"].as_i64().unwrap() - paused).abs() < 1_000,
        "no jump at resume"
    );
    advance(&sim, 600.0).await;
    assert!(detail(&c, &job).await["Delay"].as_i64().unwrap() < 5_000);
    let r = c
        .dts("SuspendDtsJob", &[("DtsJobId", "doesnotexist123")])
        .await;
    assert_eq!(r.code(), Some("Forbidden.InstanceNotFound"));
    sim.shutdown().await;
}

#[tokio::test]
async fn precheck_failure_is_reported_item_by_item_and_recovers() {
    let sim = frozen().await;
    let c = Client::new(&sim);
    let admin = sim.admin();
    let (instance, job) = purchase(&c, None).await;
    configure(
        &c,
        &instance,
        true,
        r#"{"autoStartModulesAfterConfig":"none"}"#,
    )
    .await;
    assert_eq!(detail(&c, &job).await["Status"], "NotStarted");
    admin
        .set_precheck_item(
            &job,
            "CHECK_BINLOG",
            CheckResult::Failed,
            Some("loose_polar_log_bin is OFF"),
        )
        .await
        .unwrap();
    c.dts("StartDtsJob", &[("DtsJobId", &job)]).await;
    advance(&sim, 60.0).await;
    let r = c
        .dts(
            "DescribePreCheckStatus",
            &[("DtsJobId", &job), ("JobCode", "01")],
        )
        .await;
    assert_eq!(r.body["State"], "Checking");
    advance(&sim, 61.0).await;
    assert_eq!(detail(&c, &job).await["Status"], "PrecheckFailed");
    let item = list_item(&c, &job).await;
    assert_eq!(item["PrecheckStatus"]["Status"], "Failed");
    let details = item["PrecheckStatus"]["Detail"].as_array().unwrap();
    let failed: Vec<&Value> = details
        .iter()
        .filter(|d| d["CheckResult"] == "Failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["CheckItem"], "CHECK_BINLOG");
    assert_eq!(failed[0]["FailedReason"], "loose_polar_log_bin is OFF");
    let r = c
        .dts(
            "DescribePreCheckStatus",
            &[("DtsJobId", &job), ("JobCode", "01")],
        )
        .await;
    assert_eq!(
        (r.body["State"].as_str(), r.body["ErrorItem"].as_i64()),
        (Some("Failed"), Some(1))
    );
    let progress = r.body["JobProgress"].as_array().unwrap();
    assert!(
        progress
            .iter()
            .any(|p| p["Item"] == "CHECK_BINLOG" && p["State"] == "Failed")
    );

    admin
        .set_precheck_item(&job, "CHECK_BINLOG", CheckResult::Success, None)
        .await
        .unwrap();
    assert_eq!(
        detail(&c, &job).await["Status"],
        "PrecheckFailed",
        "the fix applies to the next run"
    );
    c.dts("StartDtsJob", &[("DtsJobId", &job)]).await;
    assert_eq!(detail(&c, &job).await["Status"], "Prechecking");
    advance(&sim, 130.0).await;
    assert_eq!(detail(&c, &job).await["Status"], "Migrating");
    let view = admin.dts_job(&job).await.unwrap();
    assert_eq!(view.precheck_runs, 2);
    assert!(view.precheck_items.iter().all(|i| i.state == "Success"));
    sim.shutdown().await;
}

#[tokio::test]
async fn lag_can_be_set_and_curved_at_run_time() {
    let sim = frozen().await;
    let c = Client::new(&sim);
    let admin = sim.admin();
    let (instance, job) = purchase(&c, None).await;
    configure(&c, &instance, true, "{}").await;
    advance(&sim, 1200.0).await;
    admin.set_lag(&instance, 7.0).await.unwrap();
    assert_eq!(detail(&c, &job).await["Delay"], 7000);
    let r = c
        .dts(
            "DescribePreCheckStatus",
            &[("DtsJobId", &job), ("JobCode", "04")],
        )
        .await;
    assert_eq!(r.body["JobProgress"][0]["DelaySeconds"], 7);
    let r = c
        .rpc(
            "DescribeMigrationJobStatus",
            "2020-01-01",
            &[("MigrationJobId", &instance)],
            &[],
            &Default::default(),
        )
        .await;
    assert_eq!(
        r.body["DataSynchronizationStatus"]["Delay"], "7",
        "legacy Delay is seconds, as a string"
    );
    let spike = LagCurve {
        points: vec![
            (Dur::secs(0), Dur::secs(2)),
            (Dur::secs(60), Dur::secs(30)),
            (Dur::secs(120), Dur::secs(2)),
        ],
        jitter: Dur::millis(0),
        ..LagCurve::default()
    };
    admin.set_lag_curve(&job, spike).await.unwrap();
    advance(&sim, 60.0).await;
    assert_eq!(detail(&c, &job).await["Delay"], 30_000);
    advance(&sim, 60.0).await;
    assert_eq!(detail(&c, &job).await["Delay"], 2_000);
    let view = admin.clear_lag(&job).await.unwrap();
    assert!(!view.lag_overridden);
    sim.shutdown().await;
}

#[tokio::test]
async fn client_tokens_make_purchases_idempotent_per_account() {
    let sim = frozen().await;
    let c = Client::new(&sim);
    let first = purchase(&c, Some("token-1")).await;
    let again = purchase(&c, Some("token-1")).await;
    assert_eq!(first, again);
    let other = Client::with_key(
        &sim,
        "LTAI5tSimulatorLocal0002",
        "SimLocalSecret0002NotARealKey0",
    );
    let theirs = purchase(&other, Some("token-1")).await;
    assert_ne!(first, theirs);
    let state = sim.admin().state().await.unwrap();
    assert_eq!(state["dts"]["purchases"], 2);
    let log = sim.admin().requests_for("CreateDtsInstance").await.unwrap();
    assert_eq!(log.iter().filter(|r| r.succeeded()).count(), 3);
    assert_eq!(log.iter().filter(|r| r.note.is_some()).count(), 1);
    let r = other
        .dts("DescribeDtsJobDetail", &[("DtsJobId", &first.1)])
        .await;
    assert_eq!(
        r.code(),
        Some("Forbidden.InstanceNotFound"),
        "accounts do not see each other's jobs"
    );

    let legacy = |c: &Client| {
        let c = c.clone();
        async move {
            let q = [
                ("Region", "cn-hangzhou"),
                ("MigrationJobClass", "small"),
                ("ClientToken", "legacy-1"),
            ];
            c.rpc(
                "CreateMigrationJob",
                "2016-08-01",
                &q,
                &[],
                &Default::default(),
            )
            .await
            .body["MigrationJobId"]
                .clone()
        }
    };
    assert_eq!(legacy(&c).await, legacy(&c).await);
    sim.shutdown().await;
}

#[tokio::test]
async fn retrying_failing_recovering_and_release() {
    let sim = frozen().await;
    let c = Client::new(&sim);
    let admin = sim.admin();
    let (instance, job) = purchase(&c, None).await;
    configure(&c, &instance, true, r#"{"maxRetryTime":"600"}"#).await;
    advance(&sim, 600.0).await;
    admin.fail_dts_job(&job, None, true).await.unwrap();
    let d = detail(&c, &job).await;
    assert_eq!(
        (d["Status"].as_str(), d["RetryState"]["Retrying"].as_bool()),
        (Some("Retrying"), Some(true))
    );
    admin.recover_dts_job(&job).await.unwrap();
    assert_eq!(detail(&c, &job).await["Status"], "Migrating");
    admin
        .fail_dts_job(&job, Some("binlog purged"), true)
        .await
        .unwrap();
    advance(&sim, 601.0).await;
    let d = detail(&c, &job).await;
    assert_eq!(
        d["Status"], "MigrationFailed",
        "retrying gives up after maxRetryTime (600 s)"
    );
    assert_eq!(d["ErrorMessage"], "binlog purged");
    c.dts("StartDtsJob", &[("DtsJobId", &job)]).await;
    assert_eq!(detail(&c, &job).await["Status"], "Migrating");

    let r = c.dts("DeleteDtsJob", &[("DtsInstanceId", &instance)]).await;
    assert_eq!(r.body["Success"], true);
    let r = c
        .dts("DescribeDtsJobDetail", &[("DtsInstanceID", &instance)])
        .await;
    assert_eq!((r.status, r.body["Success"].as_bool()), (200, Some(false)));
    assert_eq!(r.code(), Some("Forbidden.InstanceNotFound"));
    let r = c
        .rpc(
            "DeleteMigrationJob",
            "2020-01-01",
            &[("MigrationJobId", &instance)],
            &[],
            &Default::default(),
        )
        .await;
    assert_eq!(r.code(), Some("InvalidJobId"));
    sim.shutdown().await;
}

#[tokio::test]
async fn legacy_api_keeps_its_shapes_and_refuses_maxcompute() {
    let sim = frozen().await;
    let c = Client::new(&sim);
    let q = [("Region", "cn-hangzhou"), ("MigrationJobClass", "small")];
    let r = c
        .rpc(
            "CreateMigrationJob",
            "2016-08-01",
            &q,
            &[],
            &Default::default(),
        )
        .await;
    let id = r.body["MigrationJobId"].as_str().unwrap().to_string();
    let status = |c: &Client, id: String| {
        let c = c.clone();
        async move {
            c.rpc(
                "DescribeMigrationJobStatus",
                "2016-08-01",
                &[("MigrationJobId", &id)],
                &[],
                &Default::default(),
            )
            .await
            .body
        }
    };
    assert_eq!(
        status(&c, id.clone()).await["MigrationJobStatus"],
        "NotStarted"
    );
    let mut params = vec![
        ("MigrationJobId", id.as_str()),
        ("MigrationJobName", "legacy"),
        ("MigrationMode.StructureIntialization", "true"),
        ("MigrationMode.DataIntialization", "true"),
        ("MigrationMode.DataSynchronization", "false"),
        ("SourceEndpoint.InstanceType", "RDS"),
        ("SourceEndpoint.InstanceID", "rm-source"),
        ("DestinationEndpoint.InstanceType", "ODPS"),
    ];
    let form = [("MigrationObject", r#"[{"DBName":"shop"}]"#)];
    let r = c
        .rpc(
            "ConfigureMigrationJob",
            "2020-01-01",
            &params,
            &form,
            &Default::default(),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, Some("InvalidParameter")));
    params.pop();
    params.push(("DestinationEndpoint.InstanceType", "RDS"));
    let r = c
        .rpc(
            "ConfigureMigrationJob",
            "2020-01-01",
            &params,
            &form,
            &Default::default(),
        )
        .await;
    assert_eq!(r.body["Success"], true, "{}", r.body);
    let body = status(&c, id.clone()).await;
    assert_eq!(body["MigrationJobStatus"], "Prechecking");
    assert!(body["PrecheckStatus"]["Detail"]["CheckItem"].is_array());
    assert!(body["MigrationMode"]["structureInitialization"].is_boolean());
    advance(&sim, 600.0).await;
    assert_eq!(
        status(&c, id.clone()).await["MigrationJobStatus"],
        "Finished"
    );
    let r = c
        .rpc(
            "DescribeMigrationJobs",
            "2020-01-01",
            &[],
            &[],
            &Default::default(),
        )
        .await;
    assert_eq!(
        r.body["MigrationJobs"]["MigrationJob"][0]["MigrationJobID"],
        id.as_str()
    );
    assert_eq!(
        r.body["MigrationJobs"]["MigrationJob"][0]["DataInitialization"]["status"],
        "Finished"
    );
    sim.shutdown().await;
}
