//! MMS timers: scheduled migrations whose every run ("round") creates a job that carries the
//! timer's id (ListMmsJobs `timerId`).

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::error::Error;
use super::super::lenient::{flag, int, opt_string, string};
use super::super::page::Page;
use super::super::response::{Ack, parse};
use super::super::transport::{Body, Idempotency};
use super::requests::Query;
use super::{MmsClient, Segment, data, mms_path, page_of};

use Segment::{Lit, Param};

/// CreateMmsTimer body: the scope of every round, and when rounds run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateMmsTimerRequest {
    pub name: String,
    pub src_db_name: String,
    /// `Daily` or `Hourly`.
    pub schedule_type: String,
    /// `HH:MM` for Daily, `MM` for Hourly.
    pub value: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub partitions: Vec<i64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub partition_filters: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub table_black_list: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub table_white_list: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub table_mapping: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub column_mapping: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_schema_migration: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_data_migration: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_verification: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub others: Option<Value>,
}

/// UpdateMmsTimer body: only the fields set are changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateMmsTimerRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `true` pauses the timer, `false` resumes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<bool>,
}

/// A timer (ListMmsTimers item / GetMmsTimer). `createTime` differs in format between list and
/// get and names no time zone: it is kept as text, never computed with.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MmsTimer {
    #[serde(deserialize_with = "int")]
    pub id: i64,
    #[serde(deserialize_with = "int")]
    pub source_id: i64,
    #[serde(deserialize_with = "string")]
    pub name: String,
    #[serde(deserialize_with = "string")]
    pub src_db_name: String,
    #[serde(deserialize_with = "string")]
    pub schedule_type: String,
    #[serde(deserialize_with = "string")]
    pub value: String,
    #[serde(deserialize_with = "flag")]
    pub stopped: bool,
    #[serde(deserialize_with = "opt_string")]
    pub create_time: Option<String>,
    pub config: Option<super::MmsJobConfig>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct TimerCreated {
    #[serde(deserialize_with = "int")]
    timer_id: i64,
}

impl MmsClient {
    /// CreateMmsTimer: `POST .../datasources/{sourceId}/timers`. Synchronous: returns the timer
    /// id. No idempotency token: after an ambiguous failure look the timer up by name.
    pub async fn create_timer(
        &self,
        source_id: i64,
        req: &CreateMmsTimerRequest,
    ) -> Result<i64, Error> {
        let s = source_id.to_string();
        let path = mms_path(&[Lit("datasources"), Param(&s), Lit("timers")]);
        let resp = self
            .send(
                "CreateMmsTimer",
                Method::POST,
                path,
                Vec::new(),
                Body::json(req)?,
                Idempotency::NotIdempotent,
            )
            .await?;
        let created: TimerCreated = parse("CreateMmsTimer data", data(resp))?;
        Ok(created.timer_id)
    }

    /// ListMmsTimers: `GET .../datasources/{sourceId}/timers?name=` (the name filter may match
    /// substrings: callers keep the exact match).
    pub async fn list_timers(
        &self,
        source_id: i64,
        name: Option<&str>,
        page_num: u32,
        page_size: u32,
    ) -> Result<Page<MmsTimer>, Error> {
        let s = source_id.to_string();
        let path = mms_path(&[Lit("datasources"), Param(&s), Lit("timers")]);
        let mut q = Query::default();
        q.text("name", &name.map(str::to_string))
            .page(Some(page_num), Some(page_size));
        let value = self.get("ListMmsTimers", path, q.0).await?;
        page_of(
            "ListMmsTimers data",
            value,
            (Some(page_num), Some(page_size)),
            None,
        )
    }

    /// GetMmsTimer: `GET .../datasources/{sourceId}/timers/{timerId}`.
    pub async fn get_timer(&self, source_id: i64, timer_id: i64) -> Result<MmsTimer, Error> {
        let (s, t) = (source_id.to_string(), timer_id.to_string());
        let path = mms_path(&[Lit("datasources"), Param(&s), Lit("timers"), Param(&t)]);
        parse(
            "GetMmsTimer data",
            self.get("GetMmsTimer", path, Vec::new()).await?,
        )
    }

    /// UpdateMmsTimer: `PUT .../timers/{timerId}` (pause, resume, reschedule).
    pub async fn update_timer(
        &self,
        source_id: i64,
        timer_id: i64,
        req: &UpdateMmsTimerRequest,
    ) -> Result<Ack, Error> {
        let (s, t) = (source_id.to_string(), timer_id.to_string());
        let path = mms_path(&[Lit("datasources"), Param(&s), Lit("timers"), Param(&t)]);
        let resp = self
            .send(
                "UpdateMmsTimer",
                Method::PUT,
                path,
                Vec::new(),
                Body::json(req)?,
                Idempotency::Idempotent,
            )
            .await?;
        Ok(Ack::from(&resp))
    }

    /// DeleteMmsTimer: `DELETE .../timers/{timerId}`. The jobs it created stay.
    pub async fn delete_timer(&self, source_id: i64, timer_id: i64) -> Result<Ack, Error> {
        let (s, t) = (source_id.to_string(), timer_id.to_string());
        let path = mms_path(&[Lit("datasources"), Param(&s), Lit("timers"), Param(&t)]);
        let resp = self
            .send(
                "DeleteMmsTimer",
                Method::DELETE,
                path,
                Vec::new(),
                Body::Empty,
                Idempotency::Idempotent,
            )
            .await?;
        Ok(Ack::from(&resp))
    }

    /// TriggerMmsTimer: `POST .../timers/{timerId}/trigger` (no body): one round now. Not
    /// retried after an ambiguous failure: a second round would start.
    pub async fn trigger_timer(&self, source_id: i64, timer_id: i64) -> Result<Ack, Error> {
        let (s, t) = (source_id.to_string(), timer_id.to_string());
        let path = mms_path(&[
            Lit("datasources"),
            Param(&s),
            Lit("timers"),
            Param(&t),
            Lit("trigger"),
        ]);
        let resp = self
            .send(
                "TriggerMmsTimer",
                Method::POST,
                path,
                Vec::new(),
                Body::Empty,
                Idempotency::NotIdempotent,
            )
            .await?;
        Ok(Ack::from(&resp))
    }
}
