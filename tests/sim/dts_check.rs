//! The simulated DTS data verification and source writes, over HTTP with a frozen clock: a
//! full check that finds inconsistent rows and says CanSwitch false, per-table results of the
//! full and incremental checks, differing rows, source writes replicated up to the checkpoint
//! and lost once the task is stopped early, and fault stretches.

use aliyun_migration_operator::sim::SimHandle;
use serde_json::Value;

use crate::support::{Client, MIGRATION_PURCHASE, frozen, odps_task};

async fn advance(sim: &SimHandle, secs: f64) {
    sim.admin().advance(secs).await.unwrap();
}

/// A purchased incremental PolarDB → MaxCompute job with the full and incremental checks on,
/// migrating; returns its job id.
async fn checked_job(sim: &SimHandle, c: &Client) -> String {
    let r = c.dts("CreateDtsInstance", &MIGRATION_PURCHASE).await;
    let instance = r.body["InstanceId"].as_str().unwrap().to_string();
    let job = r.body["JobId"].as_str().unwrap().to_string();
    let mut query = odps_task(&instance);
    query.push((
        "DataCheckConfigure",
        r#"{"fullDataCheck":true,"incrementalDataCheck":true}"#,
    ));
    let form = [("DbList", r#"{"shop":{"name":"shop","all":true}}"#)];
    let r = c
        .rpc(
            "ConfigureDtsJob",
            "2020-01-01",
            &query,
            &form,
            &Default::default(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Precheck, schema, full load: well past the demo timings.
    advance(sim, 3600.0).await;
    job
}

async fn list_item(c: &Client, job: &str) -> Value {
    let r = c.dts("DescribeDtsJobs", &[("DtsJobId", job)]).await;
    r.body["DtsJobList"][0].clone()
}

async fn tables(c: &Client, job: &str, check_type: &str) -> Value {
    let r = c
        .dts(
            "DescribeDataCheckTableDetails",
            &[("DtsJobId", job), ("CheckType", check_type)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

#[tokio::test]
async fn inconsistent_rows_fail_the_full_check_table_by_table() {
    let sim = frozen().await;
    let c = Client::new(&sim);
    let job = checked_job(&sim, &c).await;
    let item = list_item(&c, &job).await;
    assert_eq!(item["MigrationMode"]["FullDataCheck"], true);
    assert_eq!(item["MigrationMode"]["IncDataCheck"], true);
    assert_eq!(item["FullDataCheckStatus"]["Status"], "Finished");
    assert_eq!(item["FullDataCheckStatus"]["CanSwitch"], true);

    sim.admin()
        .set_check_diff(&job, "orders", 42)
        .await
        .unwrap();
    sim.admin()
        .set_check_diff(&job, "customer", 1000)
        .await
        .unwrap();
    let item = list_item(&c, &job).await;
    assert_eq!(item["FullDataCheckStatus"]["Status"], "Finished");
    assert_eq!(item["FullDataCheckStatus"]["CanSwitch"], false);
    assert_eq!(
        item["FullDataCheckStatus"]["ErrorMessage"],
        "342 inconsistent row(s)"
    );

    let body = tables(&c, &job, "1").await;
    assert_eq!(body["TotalCount"], 4, "tables checked");
    assert_eq!(body["DiffTableCount"], 2);
    let rows = body["TableDetails"].as_array().unwrap();
    let row = |t: &str| {
        rows.iter()
            .find(|r| r["SourceTbName"] == t)
            .unwrap()
            .clone()
    };
    assert_eq!(row("orders")["DiffCount"], 42);
    assert_eq!(row("orders")["ErrorCode"], 0);
    assert_eq!(row("orders")["FinishCount"], row("orders")["TotalCount"]);
    assert_eq!(row("customer")["DiffCount"], 300, "capped");
    assert_eq!(row("customer")["ErrorCode"], 2, "more than 300");
    assert_eq!(row("products")["DiffCount"], 0);
    assert_eq!(row("products")["Status"], "0");
    // Status 6: only the inconsistent tables.
    let r = c
        .dts(
            "DescribeDataCheckTableDetails",
            &[("DtsJobId", &job), ("CheckType", "1"), ("Status", "6")],
        )
        .await;
    assert_eq!(r.body["TableDetails"].as_array().unwrap().len(), 2);

    let r = c
        .dts(
            "DescribeDataCheckTableDiffDetails",
            &[
                ("DtsJobId", &job),
                ("CheckType", "1"),
                ("DbName", "shop"),
                ("TbName", "orders"),
                ("PageSize", "10"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["DiffCount"], 42);
    assert_eq!(r.body["DiffDetails"].as_array().unwrap().len(), 10);
}

#[tokio::test]
async fn the_incremental_check_reports_its_own_inconsistencies() {
    let sim = frozen().await;
    let c = Client::new(&sim);
    let job = checked_job(&sim, &c).await;
    let item = list_item(&c, &job).await;
    assert_eq!(item["IncDataCheckStatus"]["ErrorMessage"], "");
    assert!(
        tables(&c, &job, "2").await["TableDetails"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["DiffCount"] == 0 && r["TotalCount"] == 0)
    );
    sim.admin()
        .set_incremental_check_diff(&job, "orders", 7)
        .await
        .unwrap();
    let item = list_item(&c, &job).await;
    assert_eq!(item["IncDataCheckStatus"]["Status"], "Checking");
    assert_eq!(
        item["IncDataCheckStatus"]["ErrorMessage"],
        "7 inconsistent row(s)"
    );
    assert_eq!(
        item["FullDataCheckStatus"]["CanSwitch"], true,
        "the full check is separate"
    );
    let body = tables(&c, &job, "2").await;
    assert_eq!(body["DiffTableCount"], 1);
}

#[tokio::test]
async fn writes_are_replicated_up_to_the_checkpoint_and_lost_after_an_early_stop() {
    let sim = frozen().await;
    let c = Client::new(&sim);
    let job = checked_job(&sim, &c).await;
    let admin = sim.admin();
    admin.set_lag(&job, 5.0).await.unwrap();
    let view = admin.commit_writes(&job, 3).await.unwrap();
    assert_eq!(view.writes.committed, 3);
    assert_eq!(view.writes.replicated, 0, "5 s behind");
    advance(&sim, 6.0).await;
    let view = admin.commit_writes(&job, 2).await.unwrap();
    assert_eq!(view.writes.replicated, 3);
    let checkpoint = view.writes.checkpoint_millis.unwrap();
    assert_eq!(
        list_item(&c, &job).await["Checkpoint"],
        (checkpoint / 1000).to_string()
    );
    // Stopped now, the last two writes never reach the destination.
    let r = c.dts("StopDtsJob", &[("DtsJobId", &job)]).await;
    assert_eq!(r.body["Success"], true);
    advance(&sim, 60.0).await;
    let view = admin.dts_job(&job).await.unwrap();
    assert!(view.writes.stopped);
    assert_eq!(
        (view.writes.replicated, view.writes.lost),
        (3, 2),
        "{:?}",
        view.writes
    );
    assert_eq!(
        view.writes.checkpoint_millis,
        Some(checkpoint),
        "the checkpoint stays where replication stopped"
    );
}

#[tokio::test]
async fn a_fault_stretch_fails_every_call_until_it_ends() {
    let sim = frozen().await;
    let c = Client::new(&sim);
    let job = checked_job(&sim, &c).await;
    sim.admin()
        .fail_for("DescribeDtsJobs", 0.5, "ServiceUnavailable", 503)
        .await
        .unwrap();
    for _ in 0..3 {
        let r = c.dts("DescribeDtsJobs", &[("DtsJobId", &job)]).await;
        assert_eq!(r.status, 503);
    }
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let r = c.dts("DescribeDtsJobs", &[("DtsJobId", &job)]).await;
    assert_eq!(r.status, 200);
    assert!(sim.admin().faults().await.unwrap().is_empty());
}
