//! Scenario files (YAML): accounts, STS roles, rate limits, faults, the MMS data sources with
//! their catalogues and timings, and the DTS timings, precheck items, source databases and lag
//! curve. `config/sim/demo.yaml` is the documented example and the built-in default.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// The demo scenario, used when `--scenario` is not given.
pub const DEMO_YAML: &str = include_str!("../../config/sim/demo.yaml");

/// The default access key pair for local use (documented in `src/sim/README.md`).
pub const DEFAULT_ACCESS_KEY_ID: &str = "LTAI5tSimulatorLocal0001";
/// The secret of the default pair. Only for the local simulator; never a real credential.
pub const DEFAULT_ACCESS_KEY_SECRET: &str = "SimLocalSecret0001NotARealKey0";
/// The account (uid) owning the default pair.
pub const DEFAULT_ACCOUNT_ID: &str = "5000000000000001";

/// A whole scenario file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    /// Free text shown by `/_sim/state`.
    #[serde(default)]
    pub name: Option<String>,
    /// Region reported for objects that do not name one.
    #[serde(default = "default_region")]
    pub region: String,
    /// Default time scale (the `--time-scale` flag wins).
    #[serde(default)]
    pub time_scale: Option<f64>,
    /// Default seed (the `--seed` flag wins).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Simulated time at start (RFC 3339); the real time when absent.
    #[serde(default)]
    pub start_time: Option<String>,
    /// Access key pairs; the default pair is used when neither this nor `--access-key-id` names any.
    #[serde(default)]
    pub accounts: Vec<AccountSpec>,
    #[serde(default)]
    pub sts: StsSpec,
    #[serde(default)]
    pub rate_limits: RateLimitSpec,
    /// Faults injected at random with a rate, per action.
    #[serde(default)]
    pub faults: Vec<FaultRule>,
    #[serde(default)]
    pub mms: MmsSpec,
    #[serde(default)]
    pub dts: DtsSpec,
    /// DataWorks workspaces and Migration Assistant timings.
    #[serde(default)]
    pub dataworks: super::dataworks::DataWorksSpec,
}

impl Scenario {
    /// Parses a scenario from YAML text.
    pub fn from_yaml(text: &str) -> anyhow::Result<Self> {
        serde_saphyr::from_str(text).map_err(|e| anyhow::anyhow!("invalid scenario: {e}"))
    }

    /// The built-in demo scenario.
    pub fn demo() -> Self {
        Self::from_yaml(DEMO_YAML).expect("the embedded demo scenario is valid")
    }
}

fn default_region() -> String {
    "cn-hangzhou".into()
}

fn yes() -> bool {
    true
}

/// One AccessKey pair and the account (uid) it belongs to.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountSpec {
    pub access_key_id: String,
    pub access_key_secret: String,
    #[serde(default = "default_account_id")]
    pub account_id: String,
    /// An inactive key is refused with `InvalidAccessKeyId.Inactive`.
    #[serde(default = "yes")]
    pub active: bool,
}

fn default_account_id() -> String {
    DEFAULT_ACCOUNT_ID.into()
}

/// STS roles and OIDC providers. When `roles` is empty any well-formed role ARN is accepted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StsSpec {
    #[serde(default)]
    pub roles: Vec<RoleSpec>,
    /// When non-empty, `AssumeRoleWithOIDC` only accepts these provider ARNs.
    #[serde(default)]
    pub oidc_providers: Vec<String>,
}

/// A RAM role that may be assumed.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleSpec {
    pub arn: String,
    /// Upper bound of `DurationSeconds` (the RAM default is 3600).
    #[serde(default = "default_max_session")]
    pub max_session_duration: u64,
}

fn default_max_session() -> u64 {
    3600
}

/// Per-second request limits. `perAccount` is per account and action; `perRegion` is per action
/// over all accounts. The documented DescribeDtsJobDetail limits (40/s per account, 160/s per
/// region) apply unless overridden.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimitSpec {
    #[serde(default = "default_per_account")]
    pub per_account_default: u32,
    #[serde(default)]
    pub per_account: BTreeMap<String, u32>,
    #[serde(default)]
    pub per_region: BTreeMap<String, u32>,
}

fn default_per_account() -> u32 {
    30
}

impl Default for RateLimitSpec {
    fn default() -> Self {
        Self {
            per_account_default: default_per_account(),
            per_account: BTreeMap::new(),
            per_region: BTreeMap::new(),
        }
    }
}

/// What a fault does to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultKind {
    /// An error response (default 500 `InternalError`).
    Error,
    /// HTTP 400 `Throttling.User` with `x-acs-retry-after`.
    Throttle,
    /// The response is delayed, then served normally.
    Slow,
    /// The connection is closed without a response.
    Drop,
    /// The call takes effect, then the connection is closed without a response: the
    /// ambiguous failure (a timeout after commit) that creating calls must survive.
    LoseResponse,
    /// The call takes effect, then its answer is held back for `delay`: a client killed
    /// meanwhile never learns the outcome of a committed call.
    DelayAnswer,
    /// The answer repeats the secrets the request carried (the AccessKey secret that signed
    /// it, its security token, password parameters, and passwords this account sent before),
    /// raw, URL-encoded, base64 and JSON-escaped: in the error message (`httpStatus` ≥ 400), in
    /// a business error (`httpStatus` 200: `Success: false` / `errorCode`), or appended to the
    /// free text of the normal answer (no `httpStatus`).
    EchoSecrets,
}

/// A fault injected at random: each matching call fails with probability `rate`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// Action name, or `*` for every cloud call.
    pub action: String,
    pub kind: FaultKind,
    pub rate: f64,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub http_status: Option<u16>,
    #[serde(default)]
    pub message: Option<String>,
    /// Delay for `slow` faults.
    #[serde(default)]
    pub delay: Option<Dur>,
}

// ---------------------------------------------------------------------------------------------
// MMS

/// MMS data sources, their catalogues, timings and planned failures.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MmsSpec {
    #[serde(default)]
    pub timings: MmsTimings,
    #[serde(default)]
    pub data_sources: Vec<DataSourceSpec>,
    #[serde(default)]
    pub failures: Vec<MmsFailureSpec>,
}

/// How long MMS work takes, in cloud time.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct MmsTimings {
    pub scan_base: Dur,
    pub scan_per_table: Dur,
    pub job_create: Dur,
    pub schema: Dur,
    pub data_base: Dur,
    pub data_mb_per_second: f64,
    pub verification_base: Dur,
    pub verification_rows_per_second: f64,
    /// Pause between a phase's `*_DONE` and the next phase.
    pub handoff: Dur,
    /// Partitions carried by one task of a partitioned table.
    pub partitions_per_task: usize,
    /// Tasks running at once per data source; the rest wait in `INIT`.
    pub max_running_tasks: usize,
    /// Time a data source takes to start or stop (UpdateMmsDataSource START/STOP).
    pub source_transition: Dur,
}

impl Default for MmsTimings {
    fn default() -> Self {
        Self {
            scan_base: Dur::secs(60),
            scan_per_table: Dur::millis(500),
            job_create: Dur::secs(8),
            schema: Dur::secs(20),
            data_base: Dur::secs(30),
            data_mb_per_second: 50.0,
            verification_base: Dur::secs(15),
            verification_rows_per_second: 5_000_000.0,
            handoff: Dur::secs(2),
            partitions_per_task: 30,
            max_running_tasks: 6,
            source_transition: Dur::secs(30),
        }
    }
}

/// One MMS data source and the catalogue its metadata scan discovers.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataSourceSpec {
    #[serde(default)]
    pub id: Option<i64>,
    pub name: String,
    /// `HIVE`, `BIGQUERY`, `SNOWFLAKE`, `REDSHIFT`, `DATABRICKS` or `MAXCOMPUTE` (any case).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub networklink: Option<String>,
    pub dst_project: String,
    #[serde(default)]
    pub dst_projects: Vec<String>,
    /// Whether the catalogue is already known at start (as after an earlier scan).
    #[serde(default = "yes")]
    pub scanned: bool,
    #[serde(default = "yes")]
    pub agent_online: bool,
    /// Configuration items shown with `withConfig=true` (may hold fake credentials).
    #[serde(default)]
    pub config: Vec<ConfigItemSpec>,
    #[serde(default)]
    pub databases: Vec<DbSpec>,
}

/// A data-source configuration item.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigItemSpec {
    pub key: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub desc: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(rename = "type", default = "default_item_type")]
    pub kind: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub value: serde_json::Value,
}

fn default_item_type() -> String {
    "string".into()
}

/// A source database.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DbSpec {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub tables: Vec<TableSpec>,
}

/// A source table; partitioned when `partitionColumns` is not empty.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableSpec {
    pub name: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
    /// Rows of a non-partitioned table.
    #[serde(default)]
    pub num_rows: i64,
    /// Bytes of a non-partitioned table.
    #[serde(default)]
    pub size: i64,
    #[serde(default)]
    pub columns: Vec<ColumnSpec>,
    #[serde(default)]
    pub partition_columns: Vec<ColumnSpec>,
    #[serde(default)]
    pub partitions: Option<PartitionsSpec>,
}

/// A column.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ColumnSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub comment: Option<String>,
}

/// The partitions of a table: explicit values, generated daily values, or both.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartitionsSpec {
    /// Explicit specs like `ds=2024-01-01/region=cn`.
    #[serde(default)]
    pub values: Vec<String>,
    /// Daily partitions `<column>=YYYY-MM-DD` from `from`, `days` of them.
    #[serde(default)]
    pub daily: Option<DailyPartitions>,
    #[serde(default)]
    pub num_rows_each: i64,
    #[serde(default)]
    pub size_each: i64,
    /// Partitions added while the simulator runs (admin API), each with its own size. Never
    /// read from a scenario file: the source grows, the scenario stays what it was.
    #[serde(skip)]
    pub added: Vec<AddedPartition>,
}

/// A partition added to a source table at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedPartition {
    /// `ds=2025-01-03`, `ds=2025-01-03/region=cn`.
    pub value: String,
    pub num_rows: i64,
    pub size: i64,
}

/// Generated daily partition values.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DailyPartitions {
    pub column: String,
    pub from: String,
    pub days: u32,
    /// Optional second level, e.g. `region` × [`cn`, `intl`].
    #[serde(default)]
    pub then: Option<SubPartition>,
}

/// A second partition level.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubPartition {
    pub column: String,
    pub values: Vec<String>,
}

/// Where an MMS failure is injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum MmsPhase {
    /// The metadata scan of the source.
    Scan,
    /// The `TASK_CREATE` async task of CreateMmsJob.
    Create,
    Schema,
    Data,
    Verification,
}

/// A planned MMS failure.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MmsFailureSpec {
    /// Data source name (or id as text).
    pub source: String,
    #[serde(default)]
    pub db: Option<String>,
    #[serde(default)]
    pub table: Option<String>,
    pub phase: MmsPhase,
    /// How many attempts fail; absent = every attempt.
    #[serde(default)]
    pub times: Option<u32>,
    #[serde(default)]
    pub message: Option<String>,
    /// For `verification`: the destination count differs from the source instead of an error.
    #[serde(default)]
    pub mismatch: bool,
}

// ---------------------------------------------------------------------------------------------
// DTS

/// DTS timings, precheck items, source databases and the lag curve.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DtsSpec {
    #[serde(default)]
    pub timings: DtsTimings,
    /// Precheck items run for every job (incremental-only ones only with DataSynchronization).
    #[serde(default = "default_precheck_items")]
    pub precheck_items: Vec<PrecheckItemSpec>,
    #[serde(default)]
    pub sources: Vec<DtsSourceSpec>,
    #[serde(default)]
    pub lag: LagCurve,
}

impl Default for DtsSpec {
    fn default() -> Self {
        Self {
            timings: DtsTimings::default(),
            precheck_items: default_precheck_items(),
            sources: Vec::new(),
            lag: LagCurve::default(),
        }
    }
}

/// How long DTS work takes, in cloud time.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct DtsTimings {
    pub precheck: Dur,
    /// Time a job shows `PreCheckPass` before migrating.
    pub precheck_pass_dwell: Dur,
    pub structure_per_table: Dur,
    pub full_rows_per_second: f64,
    pub full_min: Dur,
    /// Lag at or below which incremental status is `Catched`.
    pub catched_threshold: Dur,
    /// Duration of a full data check (DataCheckConfigure.fullDataCheck).
    pub data_check: Dur,
    /// Default `maxRetryTime` when Reserve does not set one.
    pub max_retry: Dur,
}

impl Default for DtsTimings {
    fn default() -> Self {
        Self {
            precheck: Dur::secs(120),
            precheck_pass_dwell: Dur::secs(5),
            structure_per_table: Dur::secs(3),
            full_rows_per_second: 20_000.0,
            full_min: Dur::secs(20),
            catched_threshold: Dur::secs(2),
            data_check: Dur::secs(60),
            max_retry: Dur::secs(720 * 60),
        }
    }
}

/// Outcome of a precheck item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
pub enum CheckResult {
    #[default]
    Success,
    Failed,
    Warning,
}

/// A precheck item.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrecheckItemSpec {
    pub item: String,
    #[serde(default)]
    pub description: String,
    /// Only checked when incremental migration is on (e.g. binlog settings).
    #[serde(default)]
    pub incremental_only: bool,
    #[serde(default)]
    pub result: CheckResult,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub repair: Option<String>,
    #[serde(default = "yes")]
    pub can_skip: bool,
}

fn precheck(item: &str, description: &str, incremental_only: bool) -> PrecheckItemSpec {
    PrecheckItemSpec {
        item: item.into(),
        description: description.into(),
        incremental_only,
        result: CheckResult::Success,
        message: None,
        repair: None,
        can_skip: false,
    }
}

/// The items DTS checks for a MySQL-family source (names as the service reports them).
pub fn default_precheck_items() -> Vec<PrecheckItemSpec> {
    vec![
        precheck("CHECK_CONN_SRC", "Source database connectivity", false),
        precheck("CHECK_AUTH_SRC", "Source database permissions", false),
        precheck(
            "CHECK_CONN_DEST",
            "Destination database connectivity",
            false,
        ),
        precheck("CHECK_AUTH_DEST", "Destination database permissions", false),
        precheck(
            "CHECK_SRC_DB_EXIST",
            "Existence of the source databases",
            false,
        ),
        precheck(
            "CHECK_SAME_OBJ",
            "Existence of same-name objects in the destination",
            false,
        ),
        precheck(
            "CHECK_BINLOG",
            "Binary logging of the source (loose_polar_log_bin=ON)",
            true,
        ),
        precheck("CHECK_BINLOG_ROW_IMAGE", "binlog_row_image=FULL", true),
        precheck("CHECK_SERVER_ID", "server_id of the source", true),
        PrecheckItemSpec {
            can_skip: true,
            ..precheck("CHECK_PK", "Primary keys of the migrated tables", false)
        },
    ]
}

/// A DTS source instance and its databases (used to size schema and full migration).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DtsSourceSpec {
    pub instance_id: String,
    #[serde(default)]
    pub databases: Vec<DtsDbSpec>,
}

/// A source database of DTS.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DtsDbSpec {
    pub name: String,
    #[serde(default)]
    pub tables: Vec<DtsTableSpec>,
}

/// A source table of DTS.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DtsTableSpec {
    pub name: String,
    #[serde(default)]
    pub rows: i64,
}

/// Incremental lag over cloud time since incremental migration started.
///
/// Base curve: `points` (piecewise linear, held after the last point) when given, otherwise
/// exponential decay `floor + (start - floor) · 0.5^(t / halfLife)` where `start` defaults to
/// the backlog built up during schema and full migration. On top: deterministic `jitter`
/// (± that much, re-drawn every 10 s of cloud time) and `spikes`.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LagCurve {
    pub points: Vec<(Dur, Dur)>,
    pub start: Option<Dur>,
    pub floor: Dur,
    pub half_life: Dur,
    pub jitter: Dur,
    pub spikes: Vec<Spike>,
}

impl Default for LagCurve {
    fn default() -> Self {
        Self {
            points: Vec::new(),
            start: None,
            floor: Dur::millis(1200),
            half_life: Dur::secs(60),
            jitter: Dur::millis(300),
            spikes: Vec::new(),
        }
    }
}

impl LagCurve {
    /// A constant lag.
    pub fn constant(lag: Dur) -> Self {
        Self {
            points: vec![(Dur::millis(0), lag)],
            jitter: Dur::millis(0),
            ..Self::default()
        }
    }
}

/// A lag spike: rises linearly to `peak` at `at + duration/2` and falls back by `at + duration`.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Spike {
    pub at: Dur,
    pub peak: Dur,
    pub duration: Dur,
}

// ---------------------------------------------------------------------------------------------
// Durations

/// A duration in milliseconds, written in scenario files as seconds (`90`, `1.5`) or as text
/// (`"90s"`, `"2m"`, `"1h 30m"`, `"500ms"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Dur(pub i64);

impl Dur {
    pub const fn secs(s: i64) -> Self {
        Self(s * 1000)
    }
    pub const fn millis(ms: i64) -> Self {
        Self(ms)
    }
    /// Milliseconds.
    pub fn ms(self) -> i64 {
        self.0
    }
    /// Seconds as a float.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }
    /// Parses `90`, `1.5`, `"90s"`, `"2m"`, `"1h 30m"`, `"500ms"`, `"PT90S"`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if let Ok(secs) = text.parse::<f64>() {
            return secs_f64(secs);
        }
        text.parse::<jiff::SignedDuration>()
            .ok()
            .map(|d| Self(d.as_millis() as i64))
    }
}

fn secs_f64(secs: f64) -> Option<Dur> {
    (secs.is_finite() && secs >= 0.0).then(|| Dur((secs * 1000.0).round() as i64))
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(f64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Num(n) => secs_f64(n),
            Raw::Text(t) => Dur::parse(&t),
        }
        .ok_or_else(|| serde::de::Error::custom("expected a duration like 90, \"90s\" or \"2m\""))
    }
}

impl serde::Serialize for Dur {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_scenario_parses() {
        let s = Scenario::demo();
        assert!(s.mms.data_sources.iter().any(|d| d.name == "hive-prod"));
        assert_eq!(
            s.mms
                .data_sources
                .iter()
                .filter(|d| d.name == "bq-analytics")
                .count(),
            2
        );
    }

    #[test]
    fn durations_parse_in_both_forms() {
        assert_eq!(Dur::parse("90s"), Some(Dur::secs(90)));
        assert_eq!(Dur::parse("2m"), Some(Dur::secs(120)));
        assert_eq!(Dur::parse("1.5"), Some(Dur::millis(1500)));
        assert_eq!(Dur::parse("500ms"), Some(Dur::millis(500)));
        assert_eq!(Dur::parse("nonsense"), None);
    }
}
