//! A small world the decisions act on in unit tests: one DtsMigration, one MmsJob and
//! ConfigMap keys, with the actions applied the way the controller would and their outcomes
//! recorded with `record`.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::*;
use crate::aliyun::mask::is_secret_key;
use crate::api::cutover::{
    BackupAttestation, ConfigMapKeySwitch, Gates, MigrationKind, MigrationRef, SwitchTarget,
};
use crate::api::dts_migration::{DtsMigrationPhase, LagSample};
use crate::api::mms_job::MmsJobPhase;
use crate::controllers::cutover::gates::{DtsObs, MmsObs};
use crate::controllers::cutover::targets::label;

pub fn at(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_700_000_000 + secs).unwrap()
}

pub fn key(config_map: &str, key: &str, value: &str) -> SwitchTarget {
    SwitchTarget {
        config_map_key: Some(ConfigMapKeySwitch {
            name: config_map.into(),
            key: key.into(),
            value: value.into(),
        }),
        ..Default::default()
    }
}

/// DTS and MMS, a 30 s window of 3 samples, a fresh backup, one switch target, no freeze.
pub fn spec() -> CutoverSpec {
    CutoverSpec {
        migrations: vec![
            MigrationRef {
                kind: MigrationKind::DtsMigration,
                name: "orders".into(),
                accept_partial_success: false,
            },
            MigrationRef {
                kind: MigrationKind::MmsJob,
                name: "history".into(),
                accept_partial_success: false,
            },
        ],
        gates: Gates {
            max_lag_seconds: 5.0,
            stable_for_seconds: 30,
            min_samples: 3,
            max_sample_age_seconds: 20,
            backup: Some(BackupAttestation {
                verified_by: "dba@example.com".into(),
                verified_at: "2023-11-14T20:00:00Z".into(),
                evidence: "restore tested".into(),
                ..BackupAttestation::default()
            }),
            ..Gates::default()
        },
        switch: vec![key("app-db", "DSN", "maxcompute://dw")],
        stop_replication: true,
        ..Default::default()
    }
}

/// [`spec`] with a read-only flag as the freeze.
pub fn frozen_spec() -> CutoverSpec {
    let mut s = spec();
    s.freeze = vec![key("app-flags", "READ_ONLY", "true")];
    s.drain.settle_seconds = 3;
    s.drain.timeout_seconds = 60;
    s
}

#[derive(Clone)]
pub struct World {
    pub dts: DtsObs,
    pub mms: MmsObs,
    /// ConfigMap keys by label; None: the key is absent.
    pub values: BTreeMap<String, Option<String>>,
    /// The rollback Secret's keys.
    pub kept: BTreeMap<String, String>,
    /// Labels that cannot be read (e.g. RBAC revoked).
    pub unreadable: BTreeSet<String>,
    /// Labels whose set the server refuses, with its message.
    pub reject: BTreeMap<String, String>,
    /// Replication lag DTS reports from now on.
    pub lag: f64,
    /// Drop empty strings from saved values when "writing" status (a lossy status writer).
    pub lossy_status: bool,
    /// DTS cannot be read: no sample comes, asked for or not.
    pub dts_down: bool,
    /// How a round the MmsJob is asked for ends (its MMS job status); None: it never shows.
    pub final_round: Option<&'static str>,
    pub status: CutoverStatus,
    pub requests: Requests,
    pub acts: Vec<Act>,
    pub generation: i64,
}

impl World {
    pub fn new() -> Self {
        let mut values = BTreeMap::new();
        values.insert("ConfigMap/app-db/DSN".into(), Some("mysql://old".into()));
        values.insert("ConfigMap/app-flags/READ_ONLY".into(), Some("false".into()));
        Self {
            dts: DtsObs {
                name: "orders".into(),
                exists: true,
                phase: Some(DtsMigrationPhase::Replicating),
                ..Default::default()
            },
            mms: MmsObs {
                name: "history".into(),
                exists: true,
                phase: Some(MmsJobPhase::Succeeded),
                verification_enabled: true,
                verified: Some(("True".into(), "RowCountsMatch".into(), "all match".into())),
                ..Default::default()
            },
            values,
            kept: BTreeMap::new(),
            unreadable: BTreeSet::new(),
            reject: BTreeMap::new(),
            lag: 1.0,
            lossy_status: false,
            dts_down: false,
            final_round: Some("DONE"),
            status: CutoverStatus::default(),
            requests: Requests::default(),
            acts: Vec::new(),
            generation: 1,
        }
    }

    /// DTS answers at `t`: a lag sample with its checkpoint.
    pub fn sample(&mut self, t: i64) {
        if self.dts_down || self.dts.phase != Some(DtsMigrationPhase::Replicating) {
            return;
        }
        let checkpoint = at(t).as_second() - self.lag.ceil() as i64;
        self.dts.lag_samples.push(LagSample {
            at: Time(at(t)),
            seconds: self.lag,
            checkpoint: Some(checkpoint),
        });
        let excess = self.dts.lag_samples.len().saturating_sub(30);
        self.dts.lag_samples.drain(..excess);
    }

    fn obs(&self, t: &SwitchTarget, key: &str) -> TargetObs {
        let label = label(t);
        let c = t.config_map_key.as_ref().expect("config map targets only");
        let current = if self.unreadable.contains(&label) {
            Read::Unknown("forbidden: the operator may not get configmaps".into())
        } else {
            match self.values.get(&label).cloned().flatten() {
                Some(v) => Read::Value(v),
                None => Read::Absent,
            }
        };
        TargetObs {
            target: label,
            permitted: Ok(()),
            current,
            desired: Ok(c.value.clone()),
            sensitive: is_secret_key(&c.key),
            kept: self
                .kept
                .get(key)
                .map_or(Read::Absent, |v| Read::Value(v.clone())),
            settled: None,
        }
    }

    /// One reconcile at time `t` with `spec`: decide, "write" status, act, record.
    pub fn step(&mut self, spec: &CutoverSpec, t: i64) -> Decision {
        let plan = plan_for(spec, &self.status);
        let freeze: Vec<TargetObs> = plan
            .freeze
            .iter()
            .enumerate()
            .map(|(i, x)| self.obs(x, &freeze_key(i)))
            .collect();
        let targets: Vec<TargetObs> = plan
            .switch
            .iter()
            .enumerate()
            .map(|(i, x)| self.obs(x, &rollback_key(i)))
            .collect();
        let migrations = vec![
            MigrationObs::Dts(self.dts.clone()),
            MigrationObs::Mms(self.mms.clone()),
        ];
        let d = decide(&Inputs {
            spec,
            prev: &self.status,
            generation: Some(self.generation),
            requests: &self.requests,
            migrations: &migrations,
            freeze: &freeze,
            targets: &targets,
            rollback_secret: "cut-rollback",
            now: at(t),
        });
        let mut status = d.status.clone();
        if let Some(act) = &d.act {
            self.acts.push(act.clone());
            let (outcome, label) = self.apply(act, &freeze, &targets, t);
            if let Some(outcome) = outcome {
                record(&mut status, act, label.as_deref(), &outcome, at(t));
            }
        }
        self.status = self.written(status);
        d
    }

    /// What the server keeps of a status write.
    fn written(&self, mut status: CutoverStatus) -> CutoverStatus {
        if self.lossy_status {
            for s in status
                .saved
                .iter_mut()
                .chain(status.freeze_saved.iter_mut())
            {
                if s.value.as_deref() == Some("") {
                    s.value = None;
                }
            }
        }
        // Times keep whole seconds.
        status
    }

    fn apply(
        &mut self,
        act: &Act,
        freeze: &[TargetObs],
        targets: &[TargetObs],
        t: i64,
    ) -> (Option<Outcome>, Option<String>) {
        match act {
            Act::StopReplication { .. } => {
                self.dts.phase = Some(DtsMigrationPhase::Stopped);
                (Some(Outcome::Done), None)
            }
            Act::Sample { .. } => {
                self.sample(t);
                (None, None)
            }
            Act::FinalRound { value, .. } => {
                // The MmsJob triggers a round at once; it shows with the listing bound `t`.
                let rounds = self.mms.rounds.get_or_insert_default();
                rounds.request = Some(crate::api::mms_schedule::RoundRequestStatus {
                    requested_at: value.clone(),
                    triggered_at: Some(Time(at(t))),
                    ..Default::default()
                });
                if let Some(status) = self.final_round {
                    let id = 100 + rounds.recent.len() as i64;
                    rounds.recent.insert(
                        0,
                        crate::api::mms_schedule::MmsRound {
                            job_id: id,
                            name: format!("round-{id}"),
                            started_after: Some(Time(at(t))),
                            seen_at: Time(at(t)),
                            finished_by: Some(Time(at(t))),
                            status: status.into(),
                            verification: None,
                            failure: (status == "FAILED").then(|| "DATA_FAILED: 1".into()),
                            triggered: true,
                        },
                    );
                }
                (None, None)
            }
            Act::Keep {
                key,
                value,
                list,
                index,
                ..
            } => {
                self.kept.insert(key.clone(), value.clone());
                let label = match list {
                    List::Freeze => &freeze[*index].target,
                    List::Switch => &targets[*index].target,
                };
                (Some(Outcome::Done), Some(label.clone()))
            }
            Act::Set {
                list, index, value, ..
            } => {
                let label = match list {
                    List::Freeze => freeze[*index].target.clone(),
                    List::Switch => targets[*index].target.clone(),
                };
                if let Some(why) = self.reject.get(&label) {
                    return (Some(Outcome::Failed(why.clone())), Some(label));
                }
                self.values.insert(label.clone(), value.clone());
                (Some(Outcome::Done), Some(label))
            }
        }
    }

    pub fn phase(&self) -> Phase {
        self.status.phase.unwrap()
    }

    pub fn value(&self, label: &str) -> Option<String> {
        self.values.get(label).cloned().flatten()
    }

    /// Reconciles every second from `from` (DTS answering every `every` seconds) until `until`
    /// says stop or `to` is reached; returns the phases seen, in order, without repeats.
    pub fn run(
        &mut self,
        spec: &CutoverSpec,
        from: i64,
        to: i64,
        every: i64,
        until: impl Fn(&World) -> bool,
    ) -> Vec<Phase> {
        let mut phases: Vec<Phase> = Vec::new();
        for t in from..to {
            if t % every == 0 {
                self.sample(t);
            }
            let d = self.step(spec, t);
            assert!(
                d.requeue.is_some_and(|r| !r.is_zero()),
                "never requeue at once"
            );
            if phases.last() != Some(&self.phase()) {
                phases.push(self.phase());
            }
            if until(self) {
                break;
            }
        }
        phases
    }

    pub fn step_state(&self, name: &str) -> StepState {
        self.status
            .steps
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.state)
            .unwrap_or_else(|| panic!("no step {name}"))
    }
}
