//! The plan: what the switch runs, from the spec until switching starts, then frozen in status.

use super::{STEP_COMPLETE, STEP_FINAL_CHECK, STEP_VERIFY, STEP_WATCH};
use crate::api::cutover::{CutoverPlan, CutoverSpec, CutoverStatus, MigrationKind};
use crate::controllers::cutover::targets::label;

/// The plan the spec describes.
pub fn from_spec(spec: &CutoverSpec) -> CutoverPlan {
    CutoverPlan {
        migrations: spec.migrations.clone(),
        gates: spec.gates.clone(),
        freeze: spec.freeze.clone(),
        drain: spec.drain.clone(),
        switch: spec.switch.clone(),
        stop_replication: spec.stop_replication,
        on_switch_failure: spec.on_switch_failure,
        post_switch: spec.post_switch.clone(),
    }
}

/// The plan in force: the one frozen in status once switching started, else the spec's.
pub fn plan_for(spec: &CutoverSpec, status: &CutoverStatus) -> CutoverPlan {
    status
        .plan
        .clone()
        .filter(|_| status.switch_started_at.is_some())
        .unwrap_or_else(|| from_spec(spec))
}

/// The spec fields that differ from the frozen plan (or ask for what a started switch cannot
/// do).
pub fn changed_fields(frozen: &CutoverPlan, spec: &CutoverSpec) -> Vec<&'static str> {
    let now = from_spec(spec);
    let mut changed = Vec::new();
    let mut check = |name: &'static str, same: bool| {
        if !same {
            changed.push(name);
        }
    };
    check("migrations", frozen.migrations == now.migrations);
    check("gates", frozen.gates == now.gates);
    check("freeze", frozen.freeze == now.freeze);
    check("drain", frozen.drain == now.drain);
    check("switch", frozen.switch == now.switch);
    check(
        "stopReplication",
        frozen.stop_replication == now.stop_replication,
    );
    check(
        "onSwitchFailure",
        frozen.on_switch_failure == now.on_switch_failure,
    );
    check("postSwitch", frozen.post_switch == now.post_switch);
    check("dryRun", !spec.dry_run);
    changed
}

/// The key under which a sensitive switch target's previous value is kept in the rollback
/// Secret.
pub fn rollback_key(index: usize) -> String {
    format!("target-{index}")
}

/// The key under which a sensitive freeze target's previous value is kept.
pub fn freeze_key(index: usize) -> String {
    format!("freeze-{index}")
}

pub fn dts_names(plan: &CutoverPlan) -> Vec<String> {
    plan.migrations
        .iter()
        .filter(|m| m.kind == MigrationKind::DtsMigration)
        .map(|m| m.name.clone())
        .collect()
}

/// The ordered steps: check, stop the writes, drain, stop replication, switch, verify, let the
/// application write again (now to the new database), watch.
pub fn step_names(plan: &CutoverPlan) -> Vec<String> {
    let mut steps = vec![STEP_FINAL_CHECK.to_string()];
    steps.extend(plan.freeze.iter().map(|t| format!("freeze/{}", label(t))));
    if !plan.freeze.is_empty() {
        steps.extend(dts_names(plan).iter().map(|m| format!("drain/{m}")));
        // A scheduled MmsJob drains with a final round; one without a schedule was complete
        // before the freeze, and its step says so.
        steps.extend(
            plan.migrations
                .iter()
                .filter(|m| m.kind == MigrationKind::MmsJob)
                .map(|m| format!("drain/{}", m.name)),
        );
    }
    if plan.stop_replication {
        steps.extend(
            dts_names(plan)
                .iter()
                .map(|m| format!("stop-replication/{m}")),
        );
    }
    steps.extend(plan.switch.iter().map(|t| format!("switch/{}", label(t))));
    steps.push(STEP_VERIFY.to_string());
    steps.extend(
        plan.freeze
            .iter()
            .rev()
            .map(|t| format!("unfreeze/{}", label(t))),
    );
    if plan.post_switch.watch_seconds > 0 {
        steps.push(STEP_WATCH.to_string());
    }
    steps.push(STEP_COMPLETE.to_string());
    steps
}

/// What kind of step a name is.
#[derive(Debug, PartialEq, Eq)]
pub enum StepKind<'a> {
    FinalCheck,
    Freeze(&'a str),
    Drain(&'a str),
    Stop(&'a str),
    Switch(&'a str),
    Verify,
    Unfreeze(&'a str),
    Watch,
    Complete,
}

impl<'a> StepKind<'a> {
    pub fn of(name: &'a str) -> Option<Self> {
        let prefixed = |p: &str| name.strip_prefix(p);
        Some(match name {
            STEP_FINAL_CHECK => StepKind::FinalCheck,
            STEP_VERIFY => StepKind::Verify,
            STEP_WATCH => StepKind::Watch,
            STEP_COMPLETE => StepKind::Complete,
            _ => {
                if let Some(t) = prefixed("freeze/") {
                    StepKind::Freeze(t)
                } else if let Some(m) = prefixed("drain/") {
                    StepKind::Drain(m)
                } else if let Some(m) = prefixed("stop-replication/") {
                    StepKind::Stop(m)
                } else if let Some(t) = prefixed("switch/") {
                    StepKind::Switch(t)
                } else if let Some(t) = prefixed("unfreeze/") {
                    StepKind::Unfreeze(t)
                } else {
                    return None;
                }
            }
        })
    }
}
