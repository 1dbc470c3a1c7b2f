//! Typed client of the `/_sim/` admin API, for end-to-end tests and the sandbox.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::types::*;
use crate::sim::faults::OneShotFault;
use crate::sim::reqlog::RequestRecord;
use crate::sim::scenario::{CheckResult, FaultKind, LagCurve, MmsFailureSpec, MmsPhase};

/// Talks to a running simulator's admin API.
#[derive(Debug, Clone)]
pub struct AdminClient {
    base: String,
    http: reqwest::Client,
}

impl AdminClient {
    /// A client for the simulator at `base_url` (`http://127.0.0.1:PORT`).
    pub fn new(base_url: &str) -> Self {
        // reqwest is built without a default TLS provider; plain HTTP still needs one installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self {
            base: format!("{}/_sim", base_url.trim_end_matches('/')),
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("an HTTP client builds"),
        }
    }

    async fn send<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> anyhow::Result<T> {
        let resp = req.send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        anyhow::ensure!(status.is_success(), "admin call failed ({status}): {text}");
        Ok(serde_json::from_str(&text)?)
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> anyhow::Result<T> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body))
            .await
    }

    async fn delete(&self, path: &str) -> anyhow::Result<()> {
        self.send::<Value>(self.http.delete(format!("{}{path}", self.base)))
            .await?;
        Ok(())
    }

    /// `GET /_sim/health`.
    pub async fn health(&self) -> anyhow::Result<Value> {
        self.get("/health").await
    }

    /// `GET /_sim/state`: counts of DTS instances/jobs by status, MMS jobs per source, clock.
    pub async fn state(&self) -> anyhow::Result<Value> {
        self.get("/state").await
    }

    /// `GET /_sim/requests?since=N`: every request received after sequence `since`.
    pub async fn requests(&self, since: u64) -> anyhow::Result<Vec<RequestRecord>> {
        self.get(&format!("/requests?since={since}")).await
    }

    /// Requests of one action.
    pub async fn requests_for(&self, action: &str) -> anyhow::Result<Vec<RequestRecord>> {
        self.get(&format!("/requests?action={action}")).await
    }

    /// How many calls of `action` succeeded (HTTP 2xx without an error code).
    pub async fn succeeded(&self, action: &str) -> anyhow::Result<usize> {
        Ok(self
            .requests_for(action)
            .await?
            .iter()
            .filter(|r| r.succeeded())
            .count())
    }

    /// `DELETE /_sim/requests`.
    pub async fn clear_requests(&self) -> anyhow::Result<()> {
        self.delete("/requests").await
    }

    /// `GET /_sim/clock`.
    pub async fn clock(&self) -> anyhow::Result<ClockView> {
        self.get("/clock").await
    }

    /// Moves the simulated clock forward.
    pub async fn advance(&self, seconds: f64) -> anyhow::Result<ClockView> {
        self.post("/clock/advance", &AdvanceRequest { seconds })
            .await
    }

    /// Jumps the simulated clock to an RFC 3339 time (forward only).
    pub async fn set_time(&self, time: &str) -> anyhow::Result<ClockView> {
        self.post("/clock/set", &SetTimeRequest { time: time.into() })
            .await
    }

    /// Changes the time scale (0 freezes the clock).
    pub async fn set_scale(&self, scale: f64) -> anyhow::Result<ClockView> {
        self.post("/clock/scale", &ScaleRequest { scale }).await
    }

    /// Back to the scenario's initial state.
    pub async fn reset(&self) -> anyhow::Result<()> {
        self.post::<_, Value>("/reset", &json!({})).await?;
        Ok(())
    }

    /// Arms a one-shot fault; returns its id.
    pub async fn arm_fault(&self, fault: &OneShotFault) -> anyhow::Result<u64> {
        Ok(self.post::<_, IdResponse>("/faults", fault).await?.id)
    }

    fn fault(action: &str, kind: FaultKind, count: u32) -> OneShotFault {
        OneShotFault {
            id: 0,
            action: action.into(),
            kind,
            remaining: count,
            code: None,
            http_status: None,
            message: None,
            delay_ms: None,
            access_key_id: None,
            duration_ms: None,
            until_millis: None,
        }
    }

    /// The next `count` calls of `action` (`*` = any) fail with `code` and HTTP `status`.
    pub async fn fail_next(
        &self,
        action: &str,
        count: u32,
        code: &str,
        status: u16,
    ) -> anyhow::Result<u64> {
        let mut f = Self::fault(action, FaultKind::Error, count);
        f.code = Some(code.into());
        f.http_status = Some(status);
        self.arm_fault(&f).await
    }

    /// Every call of `action` fails with `code` and HTTP `status` for `seconds` of real time.
    pub async fn fail_for(
        &self,
        action: &str,
        seconds: f64,
        code: &str,
        status: u16,
    ) -> anyhow::Result<u64> {
        let mut f = Self::fault(action, FaultKind::Error, 1);
        f.code = Some(code.into());
        f.http_status = Some(status);
        f.duration_ms = Some((seconds * 1000.0) as u64);
        self.arm_fault(&f).await
    }

    /// The next `count` calls of `action` are throttled (`Throttling.User`, retry after `retry_after_ms`).
    pub async fn throttle_next(
        &self,
        action: &str,
        count: u32,
        retry_after_ms: u64,
    ) -> anyhow::Result<u64> {
        let mut f = Self::fault(action, FaultKind::Throttle, count);
        f.delay_ms = Some(retry_after_ms);
        self.arm_fault(&f).await
    }

    /// The next `count` calls of `action` are answered `delay_ms` late.
    pub async fn slow_next(&self, action: &str, count: u32, delay_ms: u64) -> anyhow::Result<u64> {
        let mut f = Self::fault(action, FaultKind::Slow, count);
        f.delay_ms = Some(delay_ms);
        self.arm_fault(&f).await
    }

    /// The connections of the next `count` calls of `action` are closed without an answer.
    pub async fn drop_next(&self, action: &str, count: u32) -> anyhow::Result<u64> {
        self.arm_fault(&Self::fault(action, FaultKind::Drop, count))
            .await
    }

    /// The next `count` calls of `action` take effect, then their connections are closed
    /// without an answer.
    pub async fn lose_response_next(&self, action: &str, count: u32) -> anyhow::Result<u64> {
        self.arm_fault(&Self::fault(action, FaultKind::LoseResponse, count))
            .await
    }

    /// The next `count` calls of `action` take effect, then their answers are held back for
    /// `delay_ms` (a client killed meanwhile never learns that they did).
    pub async fn delay_answer_next(
        &self,
        action: &str,
        count: u32,
        delay_ms: u64,
    ) -> anyhow::Result<u64> {
        let mut f = Self::fault(action, FaultKind::DelayAnswer, count);
        f.delay_ms = Some(delay_ms);
        self.arm_fault(&f).await
    }

    /// The next `count` answers to `action` repeat the request's secrets: in an error with HTTP
    /// `status` and `code` (≥ 400), a business error (200), or the normal answer's free text
    /// (`None`).
    pub async fn echo_secrets_next(
        &self,
        action: &str,
        count: u32,
        status: Option<u16>,
        code: Option<&str>,
    ) -> anyhow::Result<u64> {
        let mut f = Self::fault(action, FaultKind::EchoSecrets, count);
        f.http_status = status;
        f.code = code.map(str::to_string);
        self.arm_fault(&f).await
    }

    /// Armed one-shot faults.
    pub async fn faults(&self) -> anyhow::Result<Vec<OneShotFault>> {
        self.get("/faults").await
    }

    /// Disarms every one-shot fault.
    pub async fn clear_faults(&self) -> anyhow::Result<()> {
        self.delete("/faults").await
    }

    /// Every DTS job.
    pub async fn dts_jobs(&self) -> anyhow::Result<Vec<DtsJobView>> {
        self.get("/dts/jobs").await
    }

    /// One DTS job (by job id or instance id).
    pub async fn dts_job(&self, id: &str) -> anyhow::Result<DtsJobView> {
        self.get(&format!("/dts/jobs/{id}")).await
    }

    /// Holds the job's lag at `seconds` until cleared.
    pub async fn set_lag(&self, id: &str, seconds: f64) -> anyhow::Result<DtsJobView> {
        let req = LagRequest {
            seconds: Some(seconds),
            ..LagRequest::default()
        };
        self.post(&format!("/dts/jobs/{id}/lag"), &req).await
    }

    /// Makes the job's lag follow `curve` from now on.
    pub async fn set_lag_curve(&self, id: &str, curve: LagCurve) -> anyhow::Result<DtsJobView> {
        let req = LagRequest {
            curve: Some(curve),
            ..LagRequest::default()
        };
        self.post(&format!("/dts/jobs/{id}/lag"), &req).await
    }

    /// Back to the scenario's lag curve.
    pub async fn clear_lag(&self, id: &str) -> anyhow::Result<DtsJobView> {
        let req = LagRequest {
            clear: true,
            ..LagRequest::default()
        };
        self.post(&format!("/dts/jobs/{id}/lag"), &req).await
    }

    /// The job fails (`MigrationFailed`) or, with `retrying`, enters `Retrying`.
    pub async fn fail_dts_job(
        &self,
        id: &str,
        message: Option<&str>,
        retrying: bool,
    ) -> anyhow::Result<DtsJobView> {
        let req = DtsFailRequest {
            message: message.map(str::to_string),
            retrying,
            recover_after_seconds: None,
        };
        self.post(&format!("/dts/jobs/{id}/fail"), &req).await
    }

    /// A retrying or failed job migrates again.
    pub async fn recover_dts_job(&self, id: &str) -> anyhow::Result<DtsJobView> {
        self.post(&format!("/dts/jobs/{id}/recover"), &json!({}))
            .await
    }

    /// Sets one precheck item's outcome (fail it, or fix it with `CheckResult::Success`).
    pub async fn set_precheck_item(
        &self,
        id: &str,
        item: &str,
        result: CheckResult,
        message: Option<&str>,
    ) -> anyhow::Result<DtsJobView> {
        let req = PrecheckItemRequest {
            item: item.into(),
            result,
            message: message.map(str::to_string),
            repair: None,
            can_skip: None,
        };
        self.post(&format!("/dts/jobs/{id}/precheck"), &req).await
    }

    /// Makes one precheck item a warning that SkipPreCheck may waive (it blocks the task until
    /// it is skipped).
    pub async fn set_precheck_warning(
        &self,
        id: &str,
        item: &str,
        message: &str,
    ) -> anyhow::Result<DtsJobView> {
        let req = PrecheckItemRequest {
            item: item.into(),
            result: CheckResult::Warning,
            message: Some(message.to_string()),
            repair: None,
            can_skip: Some(true),
        };
        self.post(&format!("/dts/jobs/{id}/precheck"), &req).await
    }

    /// Inconsistent rows the full data check will report for `table`.
    pub async fn set_check_diff(
        &self,
        id: &str,
        table: &str,
        diff_count: i64,
    ) -> anyhow::Result<DtsJobView> {
        self.check_diff(id, table, diff_count, 1).await
    }

    /// Inconsistent rows the incremental data check will report for `table`.
    pub async fn set_incremental_check_diff(
        &self,
        id: &str,
        table: &str,
        diff_count: i64,
    ) -> anyhow::Result<DtsJobView> {
        self.check_diff(id, table, diff_count, 2).await
    }

    async fn check_diff(
        &self,
        id: &str,
        table: &str,
        diff_count: i64,
        check_type: u8,
    ) -> anyhow::Result<DtsJobView> {
        let req = CheckDiffRequest {
            table: table.into(),
            diff_count,
            check_type: Some(check_type),
        };
        self.post(&format!("/dts/jobs/{id}/check-diff"), &req).await
    }

    /// The application commits `count` transactions on the source of job `id` now.
    pub async fn commit_writes(&self, id: &str, count: usize) -> anyhow::Result<DtsJobView> {
        self.post(&format!("/dts/jobs/{id}/writes"), &WritesRequest { count })
            .await
    }

    /// A DDL statement runs on the source of job `id`, met by its incremental stage.
    pub async fn run_ddl(&self, id: &str, table: &str, sql: &str) -> anyhow::Result<DtsJobView> {
        let req = DdlRequest {
            table: table.into(),
            sql: sql.into(),
        };
        self.post(&format!("/dts/jobs/{id}/ddl"), &req).await
    }

    /// Every MMS job with its tasks.
    pub async fn mms_jobs(&self) -> anyhow::Result<Vec<MmsJobView>> {
        self.get("/mms/jobs").await
    }

    /// Plans an MMS failure; returns its id.
    pub async fn add_mms_failure(&self, spec: &MmsFailureSpec) -> anyhow::Result<u64> {
        Ok(self.post::<_, IdResponse>("/mms/failures", spec).await?.id)
    }

    /// The task of `source`/`db`/`table` fails in `phase`, `times` times (`None` = always).
    pub async fn fail_mms_table(
        &self,
        source: &str,
        db: &str,
        table: &str,
        phase: MmsPhase,
        times: Option<u32>,
    ) -> anyhow::Result<u64> {
        self.add_mms_failure(&MmsFailureSpec {
            source: source.into(),
            db: Some(db.into()),
            table: Some(table.into()),
            phase,
            times,
            message: None,
            mismatch: false,
        })
        .await
    }

    /// Verification of `table` finds different row counts on both sides.
    pub async fn mismatch_verification(
        &self,
        source: &str,
        db: &str,
        table: &str,
        times: Option<u32>,
    ) -> anyhow::Result<u64> {
        self.add_mms_failure(&MmsFailureSpec {
            source: source.into(),
            db: Some(db.into()),
            table: Some(table.into()),
            phase: MmsPhase::Verification,
            times,
            message: None,
            mismatch: true,
        })
        .await
    }

    /// New partitions in a table of MMS data source `source` (id or name), `rows` each (`None`:
    /// the table's declared rows per partition); returns how many the source did not have yet.
    /// The next metadata scan or timer round brings them into the catalogue.
    pub async fn add_mms_partitions(
        &self,
        source: &str,
        db: &str,
        table: &str,
        values: &[&str],
        rows: Option<i64>,
    ) -> anyhow::Result<usize> {
        let req = AddPartitionsRequest {
            db: db.into(),
            table: table.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
            rows,
        };
        let path = format!("/mms/sources/{source}/partitions");
        Ok(self.post::<_, AddedResponse>(&path, &req).await?.added)
    }

    /// Removes every planned MMS failure.
    pub async fn clear_mms_failures(&self) -> anyhow::Result<()> {
        self.delete("/mms/failures").await
    }

    /// Every DataWorks migration task (with the export's download URL in full).
    pub async fn dataworks_migrations(
        &self,
    ) -> anyhow::Result<Vec<crate::sim::dataworks::TaskView>> {
        self.get("/dataworks/migrations").await
    }

    /// The next `times` imports (into `workspace_id`, or any) fail with `message` (or end
    /// `PARTIAL_SUCCESS` when `partial`).
    pub async fn fail_dataworks_import(
        &self,
        workspace_id: Option<i64>,
        message: Option<&str>,
        partial: bool,
        times: u32,
    ) -> anyhow::Result<()> {
        let _: Value = self
            .post(
                "/dataworks/failures",
                &crate::sim::dataworks::PlannedFailure {
                    workspace_id,
                    message: message.map(str::to_string),
                    partial,
                    times,
                },
            )
            .await?;
        Ok(())
    }

    /// Removes every planned DataWorks failure.
    pub async fn clear_dataworks_failures(&self) -> anyhow::Result<()> {
        self.delete("/dataworks/failures").await
    }

    /// Expires STS credentials now (one AccessKeyId, or all); returns how many.
    pub async fn expire_sts(&self, access_key_id: Option<&str>) -> anyhow::Result<u64> {
        let v: Value = self
            .post(
                "/sts/expire",
                &ExpireRequest {
                    access_key_id: access_key_id.map(str::to_string),
                },
            )
            .await?;
        Ok(v["expired"].as_u64().unwrap_or(0))
    }
}
