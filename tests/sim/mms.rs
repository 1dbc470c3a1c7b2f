//! MMS state machines over HTTP with a frozen clock: scans, job creation through async tasks,
//! task phases and logs, the job roll-up, stop/start/retry/delete, filters and failures, and
//! timer rounds over a source grown through the admin API.

use aliyun_migration_operator::sim::SimHandle;
use aliyun_migration_operator::sim::scenario::MmsPhase;
use serde_json::{Value, json};

use crate::support::{Client, frozen, http};

struct Mms {
    c: Client,
    sid: String,
}

impl Mms {
    async fn open(sim: &SimHandle, source: &str) -> Self {
        let c = Client::new(sim);
        let r = c
            .mms(
                "GET",
                "/api/v1/mms/datasources",
                &[("name", source)],
                None,
                "ListMmsDataSources",
            )
            .await;
        let list = r.body["data"]["objectList"].as_array().unwrap();
        let id = list.iter().find(|s| s["name"] == source).unwrap()["id"]
            .as_i64()
            .unwrap();
        Self {
            c,
            sid: id.to_string(),
        }
    }

    fn path(&self, rest: &str) -> String {
        format!("/api/v1/mms/datasources/{}{rest}", self.sid)
    }

    async fn get(&self, rest: &str, query: &[(&str, &str)], action: &str) -> Value {
        let r = self
            .c
            .mms("GET", &self.path(rest), query, None, action)
            .await;
        assert_eq!(r.status, 200, "{action}: {}", r.body);
        r.body["data"].clone()
    }

    async fn post(&self, rest: &str, body: Option<Value>, action: &str) -> crate::support::Reply {
        self.c
            .mms("POST", &self.path(rest), &[], body, action)
            .await
    }

    async fn scan(&self, sim: &SimHandle) {
        let r = self
            .post("/scans", Some(json!({})), "CreateMmsFetchMetadataJob")
            .await;
        let scan = r.body["data"]["scanId"].as_i64().unwrap().to_string();
        let s = self
            .get(&format!("/scans/{scan}"), &[], "GetMmsFetchMetadataJob")
            .await;
        assert_eq!(s["status"], "SCAN_DOING");
        sim.admin().advance(120.0).await.unwrap();
        let s = self
            .get(&format!("/scans/{scan}"), &[], "GetMmsFetchMetadataJob")
            .await;
        assert_eq!(s["status"], "SCAN_DONE", "{s}");
    }

    /// Creates a job and waits (cloud time) for its async task; returns the job id.
    async fn create(&self, sim: &SimHandle, body: Value) -> String {
        let r = self.post("/jobs", Some(body), "CreateMmsJob").await;
        assert_eq!(r.status, 200, "{}", r.body);
        let task = r.body["data"]["asyncTaskId"].as_i64().unwrap().to_string();
        let a = self
            .get(&format!("/asyncTasks/{task}"), &[], "GetMmsAsyncTask")
            .await;
        assert_eq!(a["status"], "DOING");
        sim.admin().advance(8.0).await.unwrap();
        let a = self
            .get(&format!("/asyncTasks/{task}"), &[], "GetMmsAsyncTask")
            .await;
        assert_eq!(
            (a["status"].as_str(), a["type"].as_str()),
            (Some("DONE"), Some("TASK_CREATE")),
            "{a}"
        );
        a["objectId"].as_i64().unwrap().to_string()
    }

    async fn job(&self, id: &str) -> Value {
        self.get(&format!("/jobs/{id}"), &[], "GetMmsJob").await
    }

    async fn tasks(&self, job: &str) -> Vec<Value> {
        let d = self
            .get(
                "/tasks",
                &[("jobId", job), ("pageSize", "100")],
                "ListMmsTasks",
            )
            .await;
        d["objectList"].as_array().unwrap().clone()
    }

    async fn logs(&self, task: &Value) -> Vec<Value> {
        let id = task["id"].as_i64().unwrap().to_string();
        self.get(&format!("/tasks/{id}/logs"), &[], "ListMmsTaskLogs")
            .await
            .as_array()
            .unwrap()
            .clone()
    }
}

async fn advance(sim: &SimHandle, secs: f64) {
    sim.admin().advance(secs).await.unwrap();
}

#[tokio::test]
async fn scan_then_a_task_walks_every_phase_with_logs() {
    let sim = frozen().await;
    let m = Mms::open(&sim, "hive-prod").await;
    assert_eq!(m.get("/dbs", &[], "ListMmsDbs").await["total"], 0);
    m.scan(&sim).await;
    assert_eq!(m.get("/dbs", &[], "ListMmsDbs").await["total"], 2);

    let job = m
        .create(&sim, json!({"name": "customers-only", "srcDbName": "sales", "tables": ["customers"], "enableVerification": true}))
        .await;
    let j = m.job(&job).await;
    assert_eq!(
        (
            j["status"].as_str(),
            j["type"].as_str(),
            j["taskNum"].as_i64()
        ),
        (Some("DOING"), Some("Tables"), Some(1))
    );
    let mut seen: Vec<String> = Vec::new();
    for _ in 0..120 {
        let status = m.tasks(&job).await[0]["status"]
            .as_str()
            .unwrap()
            .to_string();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == "DONE" {
            break;
        }
        advance(&sim, 1.0).await;
    }
    assert_eq!(
        seen,
        [
            "SCHEMA_DOING",
            "SCHEMA_DONE",
            "DATA_DOING",
            "DATA_DONE",
            "VERIFICATION_DOING",
            "VERIFICATION_DONE",
            "DONE"
        ]
    );
    let task = &m.tasks(&job).await[0];
    let logs = m.logs(task).await;
    let verification: Vec<&str> = logs
        .iter()
        .filter(|l| l["action"].as_str().unwrap().starts_with("compare"))
        .map(|l| l["msg"].as_str().unwrap())
        .collect();
    assert_eq!(verification, ["src: 350000, dst: 350000"]);
    let j = m.job(&job).await;
    assert_eq!(
        (j["status"].as_str(), j["taskDone"].as_i64()),
        (Some("DONE"), Some(1))
    );
    let t = m
        .get("/tables", &[("name", "customers")], "ListMmsTables")
        .await;
    assert_eq!(t["objectList"][0]["status"], "DONE");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_job_fails_only_once_nothing_runs_and_retry_recovers() {
    let sim = frozen().await;
    let m = Mms::open(&sim, "hive-prod").await;
    m.scan(&sim).await;
    sim.admin()
        .fail_mms_table("hive-prod", "sales", "customers", MmsPhase::Data, Some(2))
        .await
        .unwrap();
    let job = m
        .create(&sim, json!({"name": "sales-all", "srcDbName": "sales"}))
        .await;
    advance(&sim, 60.0).await;
    let tasks = m.tasks(&job).await;
    let customers = tasks
        .iter()
        .find(|t| t["srcTableName"] == "customers")
        .unwrap()
        .clone();
    assert_eq!(customers["status"], "DATA_FAILED");
    assert_eq!(
        m.job(&job).await["status"],
        "DOING",
        "other tasks still run: a task in flight keeps the job DOING"
    );
    advance(&sim, 3600.0).await;
    assert_eq!(m.job(&job).await["status"], "FAILED");
    let failed = m
        .get(
            "/tasks",
            &[("jobId", &job), ("status", "FAILED")],
            "ListMmsTasks",
        )
        .await;
    assert_eq!(failed["total"], 1);

    assert_eq!(
        m.post(&format!("/jobs/{job}/retry"), None, "RetryMmsJob")
            .await
            .status,
        200
    );
    assert_eq!(m.job(&job).await["status"], "DOING");
    advance(&sim, 3600.0).await;
    assert_eq!(
        m.job(&job).await["status"],
        "FAILED",
        "the rule fails twice"
    );
    m.post(&format!("/jobs/{job}/retry"), None, "RetryMmsJob")
        .await;
    advance(&sim, 3600.0).await;
    let j = m.job(&job).await;
    assert_eq!(
        (j["status"].as_str(), j["taskDone"].as_i64()),
        (Some("DONE"), Some(9))
    );
    let id = customers["id"].as_i64().unwrap().to_string();
    let t = m.get(&format!("/tasks/{id}"), &[], "GetMmsTask").await;
    assert_eq!(
        (t["status"].as_str(), t["retriedTimes"].as_i64()),
        (Some("DONE"), Some(2))
    );
    let r = m
        .post(&format!("/tasks/{id}/retry"), None, "RetryMmsTask")
        .await;
    assert_eq!((r.status, r.code()), (400, Some("InvalidTaskStatus")));
    sim.shutdown().await;
}

#[tokio::test]
async fn stop_and_start_follow_the_documented_semantics() {
    let sim = frozen().await;
    let m = Mms::open(&sim, "hive-prod").await;
    m.scan(&sim).await;
    let job = m
        .create(&sim, json!({"name": "sales-stop", "srcDbName": "sales"}))
        .await;
    let r = m
        .post(&format!("/jobs/{job}/start"), None, "StartMmsJob")
        .await;
    assert_eq!(
        (r.status, r.code()),
        (400, Some("InvalidJobStatus")),
        "jobs start by themselves"
    );
    advance(&sim, 25.0).await;
    let doing = |v: &Value| v["total"].as_i64().unwrap();
    let parts = m
        .get(
            "/partitions",
            &[("status", "[\"DOING\"]")],
            "ListMmsPartitions",
        )
        .await;
    assert!(doing(&parts) > 0);
    assert_eq!(
        m.post(&format!("/jobs/{job}/stop"), None, "StopMmsJob")
            .await
            .status,
        200
    );
    let j = m.job(&job).await;
    assert_eq!(
        (j["stopped"].as_bool(), j["status"].as_str()),
        (Some(true), Some("DOING"))
    );
    let tasks = m.tasks(&job).await;
    assert!(
        tasks
            .iter()
            .all(|t| t["stopped"] == true && t["running"] == false)
    );
    assert_eq!(
        tasks.iter().filter(|t| t["status"] == "DATA_DOING").count(),
        6,
        "status keeps its phase"
    );
    let parts = m
        .get(
            "/partitions",
            &[("status", "[\"DOING\"]")],
            "ListMmsPartitions",
        )
        .await;
    assert_eq!(doing(&parts), 0, "DOING partitions go back to INIT");
    advance(&sim, 600.0).await;
    assert_eq!(
        m.tasks(&job)
            .await
            .iter()
            .filter(|t| t["status"] == "DATA_DOING")
            .count(),
        6
    );
    let listed = m.get("/jobs", &[("stopped", "1")], "ListMmsJobs").await;
    assert_eq!(listed["total"], 1);

    assert_eq!(
        m.post(&format!("/jobs/{job}/start"), None, "StartMmsJob")
            .await
            .status,
        200
    );
    let tasks = m.tasks(&job).await;
    assert_eq!(tasks.iter().filter(|t| t["running"] == true).count(), 6);
    advance(&sim, 3600.0).await;
    assert_eq!(m.job(&job).await["status"], "DONE");
    sim.shutdown().await;
}

#[tokio::test]
async fn verification_mismatch_and_delete() {
    let sim = frozen().await;
    let m = Mms::open(&sim, "hive-prod").await;
    m.scan(&sim).await;
    sim.admin()
        .mismatch_verification("hive-prod", "sales", "customers", Some(1))
        .await
        .unwrap();
    let job = m
        .create(&sim, json!({"name": "verify", "srcDbName": "sales", "tables": ["customers"], "enableVerification": true}))
        .await;
    advance(&sim, 600.0).await;
    let task = m.tasks(&job).await[0].clone();
    assert_eq!(task["status"], "VERIFICATION_FAILED");
    let logs = m.logs(&task).await;
    assert!(
        logs.iter().any(|l| l["msg"] == "src: 350000, dst: 349649"),
        "{logs:?}"
    );
    m.post(&format!("/jobs/{job}/retry"), None, "RetryMmsJob")
        .await;
    advance(&sim, 600.0).await;
    assert_eq!(m.job(&job).await["status"], "DONE");

    let other = m
        .create(
            &sim,
            json!({"name": "to-delete", "srcDbName": "sales", "tables": ["order_items"]}),
        )
        .await;
    advance(&sim, 25.0).await;
    let r = m
        .post(&format!("/jobs/{other}"), None, "DeleteMmsJob")
        .await;
    assert_eq!(r.status, 200);
    let r =
        m.c.mms(
            "GET",
            &m.path(&format!("/jobs/{other}")),
            &[],
            None,
            "GetMmsJob",
        )
        .await;
    assert_eq!((r.status, r.code()), (404, Some("JobNotFound")));
    let left = m.get("/tasks", &[("jobId", &other)], "ListMmsTasks").await;
    assert_eq!(left["total"], 0);
    let parts = m
        .get(
            "/partitions",
            &[("tableName", "order_items"), ("status", "[\"DOING\"]")],
            "ListMmsPartitions",
        )
        .await;
    assert_eq!(parts["total"], 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn filters_names_and_increments() {
    let sim = frozen().await;
    let m = Mms::open(&sim, "hive-prod").await;
    m.scan(&sim).await;
    let first = m
        .create(
            &sim,
            json!({"name": "order-items-june", "srcDbName": "sales", "tables": ["order_items"],
                            "partitionFilters": {"order_items": "ds >= '2024-06-21'"}}),
        )
        .await;
    assert_eq!(m.tasks(&first).await.len(), 1);
    advance(&sim, 600.0).await;
    let done = m
        .get(
            "/partitions",
            &[("tableName", "order_items"), ("status", "[\"DONE\"]")],
            "ListMmsPartitions",
        )
        .await;
    assert_eq!(done["total"], 10);
    let second = m
        .create(
            &sim,
            json!({"name": "order-items-rest", "srcDbName": "sales", "tables": ["order_items"]}),
        )
        .await;
    advance(&sim, 600.0).await;
    let t = m
        .get("/tables", &[("name", "order_items")], "ListMmsTables")
        .await;
    assert_eq!(t["objectList"][0]["status"], "DONE");
    assert_eq!(
        t["objectList"][0]["partitionsDone"], 30,
        "the second job took the 20 others only"
    );
    let _ = second;

    let like = m
        .get("/jobs", &[("name", "ORDER-items")], "ListMmsJobs")
        .await;
    assert_eq!(
        like["total"], 2,
        "name filters are case-insensitive substrings"
    );
    let paged = m
        .get(
            "/jobs",
            &[("pageNum", "2"), ("pageSize", "1")],
            "ListMmsJobs",
        )
        .await;
    assert_eq!(
        (
            paged["total"].as_i64(),
            paged["objectList"].as_array().unwrap().len()
        ),
        (Some(2), 1)
    );
    let r = m
        .post(
            "/jobs",
            Some(json!({"name": "order-items-june", "srcDbName": "sales"})),
            "CreateMmsJob",
        )
        .await;
    assert_eq!((r.status, r.code()), (400, Some("JobNameDuplicated")));
    let r = m
        .post("/jobs", Some(json!({"srcDbName": "sales"})), "CreateMmsJob")
        .await;
    assert_eq!((r.status, r.code()), (400, Some("MissingParameter")));

    let r = m
        .post(
            "/jobs",
            Some(json!({"name": "ghost", "srcDbName": "sales", "tables": ["nope"]})),
            "CreateMmsJob",
        )
        .await;
    let task = r.body["data"]["asyncTaskId"].as_i64().unwrap().to_string();
    advance(&sim, 10.0).await;
    let a = m
        .get(&format!("/asyncTasks/{task}"), &[], "GetMmsAsyncTask")
        .await;
    assert_eq!(a["status"], "FAILED");
    assert!(a["errorMsg"].as_str().unwrap().contains("nope"));
    sim.shutdown().await;
}

/// `POST /_sim/mms/sources/{source}/partitions`: status and body.
async fn grow(sim: &SimHandle, source: &str, body: Value) -> (u16, Value) {
    let url = format!("{}/_sim/mms/sources/{source}/partitions", sim.base_url());
    let r = http().post(url).json(&body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn order_items_partitions(m: &Mms) -> Value {
    m.get(
        "/partitions",
        &[("tableName", "order_items")],
        "ListMmsPartitions",
    )
    .await["total"]
        .clone()
}

#[tokio::test]
async fn a_timer_round_takes_only_the_partitions_the_source_grew() {
    let sim = frozen().await;
    let m = Mms::open(&sim, "hive-prod").await;
    m.scan(&sim).await;
    let full = m
        .create(
            &sim,
            json!({"name": "order-items", "srcDbName": "sales", "tables": ["order_items"]}),
        )
        .await;
    advance(&sim, 3600.0).await;
    assert_eq!(m.job(&full).await["status"], "DONE");

    let two = json!({"db": "sales", "table": "order_items",
                     "values": ["ds=2024-07-01", "ds=2024-07-02"], "rows": 1000});
    assert_eq!(grow(&sim, &m.sid, two).await, (200, json!({"added": 2})));
    for (source, body, status) in [
        (
            "9999999",
            json!({"db": "sales", "table": "order_items", "values": ["ds=2024-07-03"]}),
            404,
        ),
        (
            m.sid.as_str(),
            json!({"db": "sales", "table": "nope", "values": ["ds=2024-07-03"]}),
            404,
        ),
        (
            m.sid.as_str(),
            json!({"db": "sales", "table": "orders", "values": ["ds=2024-07-03"]}),
            400,
        ),
        (
            m.sid.as_str(),
            json!({"db": "sales", "table": "order_items", "values": ["dt=2024-07-03"]}),
            400,
        ),
    ] {
        assert_eq!(grow(&sim, source, body.clone()).await.0, status, "{body}");
    }
    assert_eq!(
        order_items_partitions(&m).await,
        30,
        "the catalogue waits for a refresh"
    );

    let r = m
        .post(
            "/timers",
            Some(
                json!({"name": "nightly", "srcDbName": "sales", "tables": ["order_items"],
                        "scheduleType": "Daily", "value": "02:00"}),
            ),
            "CreateMmsTimer",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let timer = r.body["data"]["timerId"].as_i64().unwrap();
    let r = m
        .post(&format!("/timers/{timer}/trigger"), None, "TriggerMmsTimer")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(order_items_partitions(&m).await, 32);
    advance(&sim, 10.0).await;
    let jobs = sim.admin().mms_jobs().await.unwrap();
    let round = jobs
        .iter()
        .find(|j| j.name.starts_with("nightly_"))
        .unwrap();
    assert_eq!(round.tasks.len(), 1);
    assert_eq!(round.tasks[0].partitions, 2);
    sim.shutdown().await;
}
