//! One method per MMS operation, plus paging and counting helpers.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::Deserialize;

use super::super::error::Error;
use super::super::lenient::int;
use super::super::page::{Collected, Page, fetch_all};
use super::super::response::{Ack, parse};
use super::super::transport::{Body, Idempotency};
use super::{
    CreateMmsJobRequest, FetchMetadataRequest, ListDataSourcesRequest, ListDbsRequest,
    ListJobsRequest, ListPartitionsRequest, ListTablesRequest, ListTasksRequest, MmsAsyncTask,
    MmsClient, MmsDataSource, MmsDb, MmsJob, MmsPartition, MmsScan, MmsTable, MmsTask, MmsTaskLog,
    Segment, TaskStatus, data, mms_path, page_of,
};

use Segment::{Lit, Param};

/// Tasks per ListMmsTasks page when a job's tasks are counted (the most the service serves).
pub const TASK_PAGE_SIZE: u32 = 100;
/// Failed tasks kept by [`MmsClient::job_tasks`].
const MAX_FAILED_KEPT: usize = 50;

/// A job's tasks, counted by status.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobTasks {
    /// Tasks per status (statuses without tasks are absent).
    pub counts: BTreeMap<TaskStatus, u64>,
    /// Tasks in a `*_FAILED` status, in list order (at most 50).
    pub failed: Vec<MmsTask>,
    /// Tasks in flight (a `*_DOING` or intermediate `*_DONE` state), in list order (at most 50).
    pub running: Vec<MmsTask>,
    /// Tasks in the job, as the service counted them.
    pub total: u64,
}

fn keep_raw(ds: &mut MmsDataSource, raw: serde_json::Value) {
    ds.raw = raw;
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ScanCreated {
    #[serde(deserialize_with = "int")]
    scan_id: i64,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JobCreated {
    #[serde(deserialize_with = "int")]
    async_task_id: i64,
}

/// `list_all_x(.., filter, limit)`: every item of `list_x` matching `filter`, page by page.
macro_rules! list_all {
    ($(#[$doc:meta])* $name:ident, $list:ident($($source:ident)?), $req:ident -> $item:ty) => {
        $(#[$doc])*
        pub async fn $name(
            &self,
            $($source: i64,)?
            filter: &$req,
            limit: usize,
        ) -> Result<Collected<$item>, Error> {
            fetch_all(limit, |page_num, page_size| {
                let req = $req {
                    page_num: Some(page_num),
                    page_size: Some(page_size),
                    ..filter.clone()
                };
                async move { self.$list($($source,)? &req).await }
            })
            .await
        }
    };
}

impl MmsClient {
    // ---------------------------------------------------------------- data sources

    /// ListMmsDataSources: `GET /api/v1/mms/datasources`.
    pub async fn list_data_sources(
        &self,
        req: &ListDataSourcesRequest,
    ) -> Result<Page<MmsDataSource>, Error> {
        let path = mms_path(&[Lit("datasources")]);
        let data = self.get("ListMmsDataSources", path, req.query().0).await?;
        page_of(
            "ListMmsDataSources data",
            data,
            (req.page_num, req.page_size),
            Some(keep_raw),
        )
    }

    /// GetMmsDataSource: `GET /api/v1/mms/datasources/{sourceId}?withConfig=`. With the
    /// configuration, secret config values come back masked.
    pub async fn get_data_source(
        &self,
        source_id: i64,
        with_config: bool,
    ) -> Result<MmsDataSource, Error> {
        let id = source_id.to_string();
        let path = mms_path(&[Lit("datasources"), Param(&id)]);
        let query = vec![("withConfig".to_string(), with_config.to_string())];
        let value = self.get("GetMmsDataSource", path, query).await?;
        let mut ds: MmsDataSource = parse("GetMmsDataSource data", value.clone())?;
        ds.raw = value;
        Ok(ds)
    }

    // ---------------------------------------------------------------- metadata scans

    /// CreateMmsFetchMetadataJob: `POST /api/v1/mms/datasources/{sourceId}/scans` with a JSON
    /// body (`{}` for the whole source). Returns the scan id. Not retried after an ambiguous
    /// failure (no idempotency token).
    pub async fn create_fetch_metadata_job(
        &self,
        source_id: i64,
        req: &FetchMetadataRequest,
    ) -> Result<i64, Error> {
        let id = source_id.to_string();
        let path = mms_path(&[Lit("datasources"), Param(&id), Lit("scans")]);
        let resp = self
            .send(
                "CreateMmsFetchMetadataJob",
                Method::POST,
                path,
                Vec::new(),
                Body::json(req)?,
                Idempotency::NotIdempotent,
            )
            .await?;
        let created: ScanCreated = parse("CreateMmsFetchMetadataJob data", data(resp))?;
        Ok(created.scan_id)
    }

    /// GetMmsFetchMetadataJob: `GET /api/v1/mms/datasources/{sourceId}/scans/{scanId}`.
    pub async fn get_fetch_metadata_job(
        &self,
        source_id: i64,
        scan_id: i64,
    ) -> Result<MmsScan, Error> {
        let (s, c) = (source_id.to_string(), scan_id.to_string());
        let path = mms_path(&[Lit("datasources"), Param(&s), Lit("scans"), Param(&c)]);
        let value = self.get("GetMmsFetchMetadataJob", path, Vec::new()).await?;
        parse("GetMmsFetchMetadataJob data", value)
    }

    // ---------------------------------------------------------------- inventory

    /// ListMmsDbs: `GET /api/v1/mms/datasources/{sourceId}/dbs`.
    pub async fn list_dbs(
        &self,
        source_id: i64,
        req: &ListDbsRequest,
    ) -> Result<Page<MmsDb>, Error> {
        let s = source_id.to_string();
        let path = mms_path(&[Lit("datasources"), Param(&s), Lit("dbs")]);
        let data = self.get("ListMmsDbs", path, req.query().0).await?;
        page_of("ListMmsDbs data", data, (req.page_num, req.page_size), None)
    }

    /// GetMmsDb: `GET /api/v1/mms/datasources/{sourceId}/dbs/{dbId}`.
    pub async fn get_db(&self, source_id: i64, db_id: i64) -> Result<MmsDb, Error> {
        let (s, d) = (source_id.to_string(), db_id.to_string());
        let path = mms_path(&[Lit("datasources"), Param(&s), Lit("dbs"), Param(&d)]);
        parse(
            "GetMmsDb data",
            self.get("GetMmsDb", path, Vec::new()).await?,
        )
    }

    /// ListMmsTables: `GET /api/v1/mms/datasources/{sourceId}/tables`.
    pub async fn list_tables(
        &self,
        source_id: i64,
        req: &ListTablesRequest,
    ) -> Result<Page<MmsTable>, Error> {
        let s = source_id.to_string();
        let path = mms_path(&[Lit("datasources"), Param(&s), Lit("tables")]);
        let data = self.get("ListMmsTables", path, req.query().0).await?;
        page_of(
            "ListMmsTables data",
            data,
            (req.page_num, req.page_size),
            None,
        )
    }

    /// GetMmsTable: `GET /api/v1/mms/datasources/{sourceId}/tables/{tableId}`.
    pub async fn get_table(&self, source_id: i64, table_id: i64) -> Result<MmsTable, Error> {
        let (s, t) = (source_id.to_string(), table_id.to_string());
        let path = mms_path(&[Lit("datasources"), Param(&s), Lit("tables"), Param(&t)]);
        parse(
            "GetMmsTable data",
            self.get("GetMmsTable", path, Vec::new()).await?,
        )
    }

    /// ListMmsPartitions: `GET /api/v1/mms/datasources/{sourceId}/partitions`.
    pub async fn list_partitions(
        &self,
        source_id: i64,
        req: &ListPartitionsRequest,
    ) -> Result<Page<MmsPartition>, Error> {
        let s = source_id.to_string();
        let path = mms_path(&[Lit("datasources"), Param(&s), Lit("partitions")]);
        let data = self.get("ListMmsPartitions", path, req.query().0).await?;
        page_of(
            "ListMmsPartitions data",
            data,
            (req.page_num, req.page_size),
            None,
        )
    }

    // ---------------------------------------------------------------- jobs

    /// CreateMmsJob: `POST /api/v1/mms/datasources/{sourceId}/jobs`. Returns the **async task
    /// id**; poll [`get_async_task`](Self::get_async_task) for the job id. There is no
    /// idempotency token, so an ambiguous failure (timeout, dropped connection, 5xx) is not
    /// retried: look the job up by name before creating again.
    pub async fn create_job(
        &self,
        source_id: i64,
        req: &CreateMmsJobRequest,
    ) -> Result<i64, Error> {
        let s = source_id.to_string();
        let path = mms_path(&[Lit("datasources"), Param(&s), Lit("jobs")]);
        let resp = self
            .send(
                "CreateMmsJob",
                Method::POST,
                path,
                Vec::new(),
                Body::json(req)?,
                Idempotency::NotIdempotent,
            )
            .await?;
        let created: JobCreated = parse("CreateMmsJob data", data(resp))?;
        Ok(created.async_task_id)
    }

    /// GetMmsAsyncTask: `GET /api/v1/mms/datasources/{sourceId}/asyncTasks/{asyncTaskId}`.
    pub async fn get_async_task(
        &self,
        source_id: i64,
        async_task_id: i64,
    ) -> Result<MmsAsyncTask, Error> {
        let (s, a) = (source_id.to_string(), async_task_id.to_string());
        let path = mms_path(&[Lit("datasources"), Param(&s), Lit("asyncTasks"), Param(&a)]);
        parse(
            "GetMmsAsyncTask data",
            self.get("GetMmsAsyncTask", path, Vec::new()).await?,
        )
    }

    /// ListMmsJobs: `GET /api/v1/mms/datasources/{sourceId}/jobs`.
    pub async fn list_jobs(
        &self,
        source_id: i64,
        req: &ListJobsRequest,
    ) -> Result<Page<MmsJob>, Error> {
        let s = source_id.to_string();
        let path = mms_path(&[Lit("datasources"), Param(&s), Lit("jobs")]);
        let data = self.get("ListMmsJobs", path, req.query().0).await?;
        page_of(
            "ListMmsJobs data",
            data,
            (req.page_num, req.page_size),
            None,
        )
    }

    /// GetMmsJob: `GET /api/v1/mms/datasources/{sourceId}/jobs/{jobId}`.
    pub async fn get_job(&self, source_id: i64, job_id: i64) -> Result<MmsJob, Error> {
        let (s, j) = (source_id.to_string(), job_id.to_string());
        let path = mms_path(&[Lit("datasources"), Param(&s), Lit("jobs"), Param(&j)]);
        parse(
            "GetMmsJob data",
            self.get("GetMmsJob", path, Vec::new()).await?,
        )
    }

    /// A bodiless POST on a job (`/jobs/{jobId}[/verb]`).
    async fn job_post(
        &self,
        action: &'static str,
        source_id: i64,
        job_id: i64,
        verb: Option<&'static str>,
    ) -> Result<Ack, Error> {
        let (s, j) = (source_id.to_string(), job_id.to_string());
        let mut segments = vec![Lit("datasources"), Param(&s), Lit("jobs"), Param(&j)];
        if let Some(v) = verb {
            segments.push(Lit(v));
        }
        let resp = self
            .send(
                action,
                Method::POST,
                mms_path(&segments),
                Vec::new(),
                Body::Empty,
                Idempotency::Idempotent,
            )
            .await?;
        Ok(Ack::from(&resp))
    }

    /// StopMmsJob: `POST .../jobs/{jobId}/stop` (no body).
    pub async fn stop_job(&self, source_id: i64, job_id: i64) -> Result<Ack, Error> {
        self.job_post("StopMmsJob", source_id, job_id, Some("stop"))
            .await
    }

    /// StartMmsJob: `POST .../jobs/{jobId}/start` (no body). Only resumes a job stopped by
    /// StopMmsJob; new jobs start by themselves.
    pub async fn start_job(&self, source_id: i64, job_id: i64) -> Result<Ack, Error> {
        self.job_post("StartMmsJob", source_id, job_id, Some("start"))
            .await
    }

    /// RetryMmsJob: `POST .../jobs/{jobId}/retry` (no body); re-runs the failed tasks.
    pub async fn retry_job(&self, source_id: i64, job_id: i64) -> Result<Ack, Error> {
        self.job_post("RetryMmsJob", source_id, job_id, Some("retry"))
            .await
    }

    /// DeleteMmsJob: **`POST`** `.../jobs/{jobId}` (no body) — not DELETE.
    pub async fn delete_job(&self, source_id: i64, job_id: i64) -> Result<Ack, Error> {
        self.job_post("DeleteMmsJob", source_id, job_id, None).await
    }

    // ---------------------------------------------------------------- tasks

    /// ListMmsTasks: `GET /api/v1/mms/datasources/{sourceId}/tasks`.
    pub async fn list_tasks(
        &self,
        source_id: i64,
        req: &ListTasksRequest,
    ) -> Result<Page<MmsTask>, Error> {
        let s = source_id.to_string();
        let path = mms_path(&[Lit("datasources"), Param(&s), Lit("tasks")]);
        let data = self.get("ListMmsTasks", path, req.query().0).await?;
        page_of(
            "ListMmsTasks data",
            data,
            (req.page_num, req.page_size),
            None,
        )
    }

    /// GetMmsTask: `GET /api/v1/mms/datasources/{sourceId}/tasks/{taskId}`.
    pub async fn get_task(&self, source_id: i64, task_id: i64) -> Result<MmsTask, Error> {
        let (s, t) = (source_id.to_string(), task_id.to_string());
        let path = mms_path(&[Lit("datasources"), Param(&s), Lit("tasks"), Param(&t)]);
        parse(
            "GetMmsTask data",
            self.get("GetMmsTask", path, Vec::new()).await?,
        )
    }

    /// ListMmsTaskLogs: `GET .../tasks/{taskId}/logs`; the whole log (not paged).
    pub async fn list_task_logs(
        &self,
        source_id: i64,
        task_id: i64,
    ) -> Result<Vec<MmsTaskLog>, Error> {
        let (s, t) = (source_id.to_string(), task_id.to_string());
        let path = mms_path(&[
            Lit("datasources"),
            Param(&s),
            Lit("tasks"),
            Param(&t),
            Lit("logs"),
        ]);
        let value = self.get("ListMmsTaskLogs", path, Vec::new()).await?;
        Ok(page_of::<MmsTaskLog>("ListMmsTaskLogs data", value, (None, None), None)?.items)
    }

    /// RetryMmsTask: `POST .../tasks/{taskId}/retry` (no body).
    pub async fn retry_task(&self, source_id: i64, task_id: i64) -> Result<Ack, Error> {
        let (s, t) = (source_id.to_string(), task_id.to_string());
        let path = mms_path(&[
            Lit("datasources"),
            Param(&s),
            Lit("tasks"),
            Param(&t),
            Lit("retry"),
        ]);
        let resp = self
            .send(
                "RetryMmsTask",
                Method::POST,
                path,
                Vec::new(),
                Body::Empty,
                Idempotency::Idempotent,
            )
            .await?;
        Ok(Ack::from(&resp))
    }

    // ---------------------------------------------------------------- paging helpers

    list_all!(
        /// Every data source matching the filter, at most `limit`.
        list_all_data_sources, list_data_sources(), ListDataSourcesRequest -> MmsDataSource
    );
    list_all!(
        /// Every database matching the filter, at most `limit`.
        list_all_dbs, list_dbs(source_id), ListDbsRequest -> MmsDb
    );
    list_all!(
        /// Every table matching the filter, at most `limit`.
        list_all_tables, list_tables(source_id), ListTablesRequest -> MmsTable
    );
    list_all!(
        /// Every partition matching the filter, at most `limit`.
        list_all_partitions, list_partitions(source_id), ListPartitionsRequest -> MmsPartition
    );
    list_all!(
        /// Every job matching the filter, at most `limit`.
        list_all_jobs, list_jobs(source_id), ListJobsRequest -> MmsJob
    );
    list_all!(
        /// Every task matching the filter, at most `limit`.
        list_all_tasks, list_tasks(source_id), ListTasksRequest -> MmsTask
    );

    // ---------------------------------------------------------------- counting helpers

    /// How many tasks match the filter (one call, `pageNum=1&pageSize=1`, reads `total`).
    pub async fn count_tasks(
        &self,
        source_id: i64,
        filter: &ListTasksRequest,
    ) -> Result<u64, Error> {
        let req = ListTasksRequest {
            page_num: Some(1),
            page_size: Some(1),
            ..filter.clone()
        };
        Ok(self.list_tasks(source_id, &req).await?.total)
    }

    /// Task counts of a job for every documented status (one counting call per status;
    /// statuses with no task are included with 0).
    pub async fn count_tasks_by_status(
        &self,
        source_id: i64,
        job_id: i64,
    ) -> Result<BTreeMap<TaskStatus, u64>, Error> {
        let mut counts = BTreeMap::new();
        for status in TaskStatus::ALL {
            let filter = ListTasksRequest {
                job_id: Some(job_id),
                status: Some(status.clone()),
                ..ListTasksRequest::default()
            };
            counts.insert(status, self.count_tasks(source_id, &filter).await?);
        }
        Ok(counts)
    }

    /// Every task of a job, counted by status, with the failed ones: one ListMmsTasks read per
    /// [`TASK_PAGE_SIZE`] tasks, where counting status by status takes one read per status.
    pub async fn job_tasks(&self, source_id: i64, job_id: i64) -> Result<JobTasks, Error> {
        let filter = ListTasksRequest {
            job_id: Some(job_id),
            ..ListTasksRequest::default()
        };
        let mut tasks = JobTasks::default();
        let mut page_num = 1;
        loop {
            let req = ListTasksRequest {
                page_num: Some(page_num),
                page_size: Some(TASK_PAGE_SIZE),
                ..filter.clone()
            };
            let page = self.list_tasks(source_id, &req).await?;
            let got = page.items.len();
            tasks.total = tasks.total.max(page.total);
            for task in page.items {
                let Some(status) = task.status.clone() else {
                    continue;
                };
                *tasks.counts.entry(status.clone()).or_default() += 1;
                if status.is_failed() && tasks.failed.len() < MAX_FAILED_KEPT {
                    tasks.failed.push(task);
                } else if status.is_in_progress() && tasks.running.len() < MAX_FAILED_KEPT {
                    tasks.running.push(task);
                }
            }
            let seen: u64 = tasks.counts.values().sum();
            if got < TASK_PAGE_SIZE as usize || seen >= tasks.total {
                return Ok(tasks);
            }
            page_num += 1;
        }
    }

    /// How many jobs match the filter.
    pub async fn count_jobs(&self, source_id: i64, filter: &ListJobsRequest) -> Result<u64, Error> {
        let req = ListJobsRequest {
            page_num: Some(1),
            page_size: Some(1),
            ..filter.clone()
        };
        Ok(self.list_jobs(source_id, &req).await?.total)
    }

    /// How many tables match the filter.
    pub async fn count_tables(
        &self,
        source_id: i64,
        filter: &ListTablesRequest,
    ) -> Result<u64, Error> {
        let req = ListTablesRequest {
            page_num: Some(1),
            page_size: Some(1),
            ..filter.clone()
        };
        Ok(self.list_tables(source_id, &req).await?.total)
    }
}
