//! Typed DTS task settings a DBA sets in the console's advanced step (seed 001), sent in the
//! `Reserve` JSON. A typed field wins over the same key in `spec.reserve`, with a warning.
//!
//! Two console settings of a MaxCompute destination have no typed field: the naming rule of the
//! additional columns and the partition definition of the incremental log table. Their Reserve
//! keys are documented nowhere we could read; the console's "Preview OpenAPI parameters" shows
//! them, and `spec.reserve` carries them.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Advanced settings of the DTS task.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DtsSettings {
    /// How long DTS retries before it fails the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryWindows>,
    /// Load limits on the source and destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttling: Option<Throttling>,
    /// What the precheck does about destination tables with a source table's name
    /// ("Processing Mode of Conflicting Tables", Reserve `targetTableMode`). Default `Fail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_tables: Option<ExistingTables>,
    /// Capitalization of database, table and column names in the destination ("Capitalization
    /// of Object Names in Destination Instance", Reserve `dbListCaseChangeMode`). DTS's default
    /// policy lowercases names for MaxCompute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_name_case: Option<ObjectNameCase>,
}

/// The two retry windows (console minutes; DTS takes seconds).
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("(has(self.otherIssuesMinutes) ? self.otherIssuesMinutes : 10) < (has(self.connectionMinutes) ? self.connectionMinutes : 720)").message("retry.otherIssuesMinutes must be smaller than retry.connectionMinutes (defaults 10 and 720)"),
)]
pub struct RetryWindows {
    /// Minutes DTS retries while the source or destination is unreachable ("Retry Time for
    /// Failed Connections", Reserve `maxRetryTime`), 10–1,440, default 720. DTS bills the
    /// instance while it retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10, max = 1440))]
    pub connection_minutes: Option<i64>,
    /// Minutes DTS retries after a DDL or DML failure ("Retry Time for Other Issues", Reserve
    /// `retry.blind.seconds`), 1–1,440, default 10; smaller than `connectionMinutes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1440))]
    pub other_issues_minutes: Option<i64>,
}

/// Load limits per stage (Reserve `fullDynamicConfig` / `incDynamicConfig`).
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Throttling {
    /// During full data migration; needs `Full` in `migrationTypes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full: Option<FullThrottling>,
    /// During incremental migration; needs `Incremental` in `migrationTypes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental: Option<StageThrottling>,
}

/// Limits of full data migration.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FullThrottling {
    /// Queries per second to the source (`dts.datamove.blaster.qps.max`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub source_queries_per_second: Option<i64>,
    /// Rows per second (`dts.datamove.source.rps.max`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub rows_per_second: Option<i64>,
    /// Bytes per second (`dts.datamove.source.bps.max`; the console shows MB/s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub bytes_per_second: Option<i64>,
}

/// Limits of incremental migration.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StageThrottling {
    /// Rows per second (`dts.datamove.source.rps.max`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub rows_per_second: Option<i64>,
    /// Bytes per second (`dts.datamove.source.bps.max`; the console shows MB/s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub bytes_per_second: Option<i64>,
}

/// Destination tables that already exist under a source table's name.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ExistingTables {
    /// The precheck fails on them (`targetTableMode: "0"`).
    Fail,
    /// Skip the check (`"2"`): with matching schemas, full migration keeps the destination's
    /// conflicting record and incremental migration overwrites it; with differing schemas only
    /// some columns migrate or the task fails.
    Ignore,
}

/// Capitalization policy for object names in the destination.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ObjectNameCase {
    /// DTS's default policy (`default`; lower case for MaxCompute).
    Default,
    /// As in the source (`source`).
    Source,
    /// Upper case (`dest_upper`).
    Upper,
    /// Lower case (`dest_lower`).
    Lower,
}

impl ObjectNameCase {
    pub fn wire(self) -> &'static str {
        match self {
            ObjectNameCase::Default => "default",
            ObjectNameCase::Source => "source",
            ObjectNameCase::Upper => "dest_upper",
            ObjectNameCase::Lower => "dest_lower",
        }
    }
}

/// A Reserve entry the typed settings produce: its key and JSON value.
pub type ReserveEntry = (&'static str, serde_json::Value);

impl DtsSettings {
    /// The Reserve entries the settings that are set produce (the controller adds
    /// `targetTableMode: "0"` when neither these nor `spec.reserve` say).
    pub fn reserve_entries(&self) -> Vec<ReserveEntry> {
        use serde_json::{Value, json};
        let mut out: Vec<ReserveEntry> = Vec::new();
        if let Some(r) = &self.retry {
            if let Some(m) = r.connection_minutes {
                out.push(("maxRetryTime", Value::String((m * 60).to_string())));
            }
            if let Some(m) = r.other_issues_minutes {
                out.push(("retry.blind.seconds", Value::String((m * 60).to_string())));
            }
        }
        let t = self.throttling.clone().unwrap_or_default();
        let limits = |pairs: &[(&str, Option<i64>)]| -> Option<Value> {
            let map: serde_json::Map<String, Value> = pairs
                .iter()
                .filter_map(|(k, v)| v.map(|v| (k.to_string(), json!(v))))
                .collect();
            (!map.is_empty()).then_some(Value::Object(map))
        };
        if let Some(f) = &t.full
            && let Some(v) = limits(&[
                ("dts.datamove.blaster.qps.max", f.source_queries_per_second),
                ("dts.datamove.source.rps.max", f.rows_per_second),
                ("dts.datamove.source.bps.max", f.bytes_per_second),
            ])
        {
            out.push(("fullDynamicConfig", v));
        }
        if let Some(i) = &t.incremental
            && let Some(v) = limits(&[
                ("dts.datamove.source.rps.max", i.rows_per_second),
                ("dts.datamove.source.bps.max", i.bytes_per_second),
            ])
        {
            out.push(("incDynamicConfig", v));
        }
        if let Some(mode) = self.existing_tables {
            let v = match mode {
                ExistingTables::Fail => "0",
                ExistingTables::Ignore => "2",
            };
            out.push(("targetTableMode", Value::String(v.into())));
        }
        if let Some(case) = self.object_name_case {
            out.push(("dbListCaseChangeMode", Value::String(case.wire().into())));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn console_minutes_become_seconds_and_limits_nest_per_stage() {
        let s = DtsSettings {
            retry: Some(RetryWindows {
                connection_minutes: Some(720),
                other_issues_minutes: Some(10),
            }),
            throttling: Some(Throttling {
                full: Some(FullThrottling {
                    source_queries_per_second: Some(500),
                    rows_per_second: None,
                    bytes_per_second: Some(10_485_760),
                }),
                incremental: Some(StageThrottling {
                    rows_per_second: Some(2000),
                    bytes_per_second: None,
                }),
            }),
            existing_tables: Some(ExistingTables::Ignore),
            object_name_case: Some(ObjectNameCase::Upper),
        };
        let got: serde_json::Map<String, serde_json::Value> = s
            .reserve_entries()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(
            serde_json::Value::Object(got),
            json!({
                "maxRetryTime": "43200",
                "retry.blind.seconds": "600",
                "fullDynamicConfig": {"dts.datamove.blaster.qps.max": 500, "dts.datamove.source.bps.max": 10485760},
                "incDynamicConfig": {"dts.datamove.source.rps.max": 2000},
                "targetTableMode": "2",
                "dbListCaseChangeMode": "dest_upper",
            })
        );
        assert!(DtsSettings::default().reserve_entries().is_empty());
    }
}
