//! `MmsJob.spec.schedule`: incremental rounds after the first full job, run by an MMS timer,
//! and how fresh the migrated data is.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// When the MMS timer runs a round (MMS `scheduleType` and `value`).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.type != 'Daily' || self.value.matches('^([01][0-9]|2[0-3]):[0-5][0-9]$')").message("a Daily schedule's value is HH:MM (00:00 to 23:59)"),
    validation = Rule::new("self.type != 'Hourly' || self.value.matches('^[0-5]?[0-9]$')").message("an Hourly schedule's value is the minute MM (0 to 59)"),
)]
pub struct MmsSchedule {
    /// `Daily` or `Hourly`.
    #[serde(rename = "type")]
    pub schedule_type: ScheduleType,
    /// `HH:MM` for Daily, the minute `MM` for Hourly (MMS's time of day).
    #[schemars(length(min = 1, max = 5))]
    pub value: String,
    /// `FreshWithinThreshold` is True while the data is at most this old: the time since the
    /// start of the last successful round. Default 2 periods (Daily 172800, Hourly 7200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 60, max = 2678400))]
    pub freshness_threshold_seconds: Option<i64>,
}

impl MmsSchedule {
    /// The threshold in force.
    pub fn threshold_seconds(&self) -> i64 {
        self.freshness_threshold_seconds
            .unwrap_or(match self.schedule_type {
                ScheduleType::Daily => 2 * 86_400,
                ScheduleType::Hourly => 2 * 3_600,
            })
    }
}

/// MMS timer schedule types.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ScheduleType {
    Daily,
    Hourly,
}

impl ScheduleType {
    pub fn wire(self) -> &'static str {
        match self {
            Self::Daily => "Daily",
            Self::Hourly => "Hourly",
        }
    }
}

/// One job of the timer (or the first full job), as the operator saw it.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MmsRound {
    /// The MMS job id of the round.
    pub job_id: i64,
    /// The MMS job name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The round started after this time, by the operator's clock: the last read of the
    /// timer's jobs that did not show it yet (or the request that created it). Absent when
    /// unknown (a round that existed before the operator looked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_after: Option<Time>,
    /// When the operator first saw it.
    pub seen_at: Time,
    /// When the operator first saw it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_by: Option<Time>,
    /// MMS job status: INIT, DOING, DONE, FAILED.
    pub status: String,
    /// Row-count verification of the round: Passed (DONE with verification on), Failed
    /// (a task failed verification), Pending; absent when the job does not verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<crate::api::common::VerificationState>,
    /// Failed tasks of a failed round by state, e.g. `DATA_FAILED: 2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Created by the operator's TriggerMmsTimer (a requested round), not by the schedule.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub triggered: bool,
}

impl MmsRound {
    pub fn finished(&self) -> bool {
        matches!(self.status.as_str(), "DONE" | "FAILED")
    }

    /// Finished, and verified when the job verifies.
    pub fn succeeded(&self) -> bool {
        self.status == "DONE"
            && self
                .verification
                .is_none_or(|v| v == crate::api::common::VerificationState::Passed)
    }
}

/// What became of the last round requested with the `round-requested-at` annotation.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoundRequestStatus {
    /// The annotation value this is about.
    pub requested_at: String,
    /// When TriggerMmsTimer was sent; absent when it was not (see message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggered_at: Option<Time>,
    /// The last read of the timer's jobs before the trigger: any round not in it started
    /// after this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed_before: Option<Time>,
    /// The round it started, once seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<i64>,
    /// Why no round was triggered, when so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The rounds part of an MmsJob's status.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoundsStatus {
    /// The MMS timer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer_id: Option<i64>,
    /// When CreateMmsTimer was sent; rounds cannot have started before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer_requested_at: Option<Time>,
    /// Whether MMS reports the timer paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer_stopped: Option<bool>,
    /// The schedule MMS reports for the timer, e.g. `Hourly 05`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer_schedule: Option<String>,
    /// The newest rounds, newest first (at most 10).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent: Vec<MmsRound>,
    /// Rounds the timer has run, as last listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    /// The newest round that succeeded (the first full job until a round does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_successful: Option<MmsRound>,
    /// When the timer's jobs were last listed completely, as of the last status write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed_at: Option<Time>,
    /// The last round requested by annotation (a Cutover's final round).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RoundRequestStatus>,
}
