//! The decisions, without a server: a small fake of DataWorks answers the actions the way the
//! controller would send them, and each reconcile's outcome is recorded with `record`.

use std::collections::BTreeMap;

use super::*;
use crate::api::dataworks_migration::{EngineMapping, ExportSource, PackageSource, StepState};

fn at(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_700_000_000 + secs).unwrap()
}

fn identity() -> Identity {
    Identity {
        namespace: "team-a".into(),
        name: "sales-jobs".into(),
        uid: "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b".into(),
    }
}

fn spec() -> DataWorksMigrationSpec {
    DataWorksMigrationSpec {
        region: "cn-hangzhou".into(),
        target_workspace_id: 10002,
        source: PackageSource {
            export: Some(ExportSource {
                source_workspace_id: 10001,
                ..ExportSource::default()
            }),
            ..PackageSource::default()
        },
        engine_mapping: vec![EngineMapping {
            source: "sales_dev_odps".into(),
            target: "sales_prod_odps".into(),
            ..EngineMapping::default()
        }],
        ..DataWorksMigrationSpec::default()
    }
}

/// A fake DataWorks: tasks by id with a status; what a start does is configurable.
#[derive(Default)]
struct Fake {
    tasks: BTreeMap<i64, (State, Option<String>, i64)>,
    next: i64,
    /// StartMigration on IMPORT_ERROR: None re-imports, Some(why) refuses.
    refuse_reimport: Option<String>,
    /// StartMigration on IMPORT_ERROR is accepted but does nothing.
    ignore_reimport: bool,
    /// How the next import run ends.
    import_ends: Vec<(State, Option<String>)>,
    acts: Vec<Act>,
    status: DataWorksMigrationStatus,
}

impl Fake {
    fn observe(&self) -> Observed {
        let read = |t: &Option<MigrationTask>| {
            t.as_ref()
                .and_then(|t| t.id)
                .map(|id| match self.tasks.get(&id) {
                    Some((s, m, modified)) => TaskRead::Seen(TaskView {
                        status: Some(*s),
                        message: m.clone(),
                        modified_at: Some(Time(at(*modified))),
                        steps: vec![MigrationStep {
                            name: "IMPORE_PREPARE".into(),
                            status: StepState::Success,
                        }],
                        ..TaskView::default()
                    }),
                    None => TaskRead::Gone,
                })
        };
        let lookup = |t: &Option<MigrationTask>| {
            t.as_ref()
                .filter(|t| t.id.is_none() && t.create_requested_at.is_some())
                .map(|_| Lookup::Absent)
        };
        Observed {
            export: read(&self.status.export),
            import: read(&self.status.import),
            export_lookup: lookup(&self.status.export),
            import_lookup: lookup(&self.status.import),
        }
    }

    /// One reconcile at `t` with `spec`.
    fn step(&mut self, spec: &DataWorksMigrationSpec, t: i64) -> Decision {
        let observed = self.observe();
        let d = decide(&Inputs {
            spec,
            prev: &self.status,
            generation: Some(1),
            observed: &observed,
            identity: &identity(),
            now: at(t),
        });
        assert!(d.requeue != Some(Duration::ZERO), "never requeue at once");
        let mut status = d.status.clone();
        if let Some(act) = &d.act {
            self.acts.push(act.clone());
            let answer = self.answer(act, t);
            record(&mut status, act, &answer, at(t));
        }
        self.status = status;
        d
    }

    fn answer(&mut self, act: &Act, t: i64) -> Answer {
        match act {
            Act::CreateExport(_) => {
                self.next += 1;
                self.tasks.insert(self.next, (State::Init, None, t));
                Answer::Created(self.next)
            }
            Act::CreateImport(_) => {
                self.next += 1;
                self.tasks.insert(self.next, (State::Editing, None, t));
                Answer::Created(self.next)
            }
            Act::Upload(_) => Answer::Uploaded {
                package_file: "http://b.oss-cn-hangzhou.aliyuncs.com/k.zip".into(),
                bytes: 1234,
            },
            Act::StartExport { migration_id, .. } => {
                self.tasks
                    .insert(*migration_id, (State::ExportSuccess, None, t));
                Answer::Started
            }
            Act::StartImport {
                migration_id,
                reimport,
                ..
            } => {
                if *reimport {
                    if let Some(why) = &self.refuse_reimport {
                        return Answer::StartRefused(why.clone());
                    }
                    if self.ignore_reimport {
                        return Answer::Started;
                    }
                }
                let (s, m) = if self.import_ends.is_empty() {
                    (State::ImportSuccess, None)
                } else {
                    self.import_ends.remove(0)
                };
                self.tasks.insert(*migration_id, (s, m, t));
                Answer::Started
            }
        }
    }

    fn phase(&self) -> Phase {
        self.status.phase.unwrap()
    }

    fn ready(&self) -> (String, String, String) {
        let c = conditions::find(&self.status.conditions, READY).unwrap();
        (c.status.clone(), c.reason.clone(), c.message.clone())
    }

    fn run(&mut self, spec: &DataWorksMigrationSpec, from: i64, steps: i64) -> Vec<Phase> {
        let mut phases = Vec::new();
        for t in from..from + steps {
            self.step(spec, t);
            if phases.last() != Some(&self.phase()) {
                phases.push(self.phase());
            }
        }
        phases
    }
}

#[test]
fn export_upload_import_succeeds_in_order_and_then_settles() {
    let mut fake = Fake::default();
    let phases = fake.run(&spec(), 0, 8);
    assert_eq!(
        phases,
        [
            Phase::Exporting,
            Phase::Uploading,
            Phase::Importing,
            Phase::Succeeded
        ]
    );
    let kinds: Vec<&str> = fake
        .acts
        .iter()
        .map(|a| match a {
            Act::CreateExport(_) => "create-export",
            Act::StartExport { .. } => "start-export",
            Act::Upload(_) => "upload",
            Act::CreateImport(_) => "create-import",
            Act::StartImport { .. } => "start-import",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "create-export",
            "start-export",
            "upload",
            "create-import",
            "start-import"
        ]
    );
    let Act::CreateImport(req) = &fake.acts[3] else {
        unreachable!()
    };
    assert_eq!(req.name, "amo_team_a_sales_jobs_0f1e2d3c_i1");
    assert_eq!(
        req.calculate_engine_map,
        serde_json::json!({"ODPS": {"sales_dev_odps": "sales_prod_odps"}})
    );
    assert!(identity().owns(req.description.as_deref()));
    assert_eq!(
        req.package_file,
        "http://b.oss-cn-hangzhou.aliyuncs.com/k.zip"
    );
    assert_eq!(fake.ready().0, "True");
    let d = fake.step(&spec(), 20);
    assert_eq!(d.act, None);
    assert_eq!(d.requeue, None, "a succeeded import is not polled");
    assert_eq!(
        until_poll(&spec(), &fake.status, Some(1), at(30), 1.0),
        None
    );
    assert_eq!(
        until_poll(&spec(), &fake.status, Some(2), at(30), 1.0),
        Some(Duration::ZERO)
    );
}

#[test]
fn a_missing_engine_mapping_is_a_clear_terminal_condition_and_a_fixed_mapping_imports_anew() {
    let mut fake = Fake {
        import_ends: vec![(
            State::ImportError,
            Some("compute engine instance ODPS:sales_dev_odps of the package has no mapping in CalculateEngineMap".into()),
        )],
        ..Fake::default()
    };
    fake.run(&spec(), 0, 8);
    assert_eq!(fake.phase(), Phase::Failed);
    let (status, reason, message) = fake.ready();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "EngineMappingMissing")
    );
    assert!(
        message.contains("spec.engineMapping") && message.contains("retryRequestedAt"),
        "{message}"
    );
    let d = fake.step(&spec(), 10);
    assert_eq!(
        (d.act.clone(), d.requeue),
        (None, None),
        "no polling, no action"
    );

    // The mapping is fixed and a retry requested: settings changed, so a new task.
    let mut fixed = spec();
    fixed.engine_mapping[0].target = "sales_prod_odps2".into();
    fixed.retry_requested_at = Some("1".into());
    fake.run(&fixed, 11, 4);
    assert_eq!(fake.phase(), Phase::Succeeded);
    let import = fake.status.import.as_ref().unwrap();
    assert_eq!(import.attempt, 2);
    assert!(import.name.ends_with("_i2"));
    assert_eq!(
        fake.status.reimport.as_ref().unwrap().method,
        ReimportMethod::NewTask
    );
}

#[test]
fn a_failed_import_with_unchanged_settings_is_reimported_by_start_migration() {
    let mut fake = Fake {
        import_ends: vec![(
            State::ImportError,
            Some("commit failed: node locked".into()),
        )],
        ..Fake::default()
    };
    fake.run(&spec(), 0, 8);
    assert_eq!(fake.ready().1, "ImportFailed");
    let mut retry = spec();
    retry.retry_requested_at = Some("2026-12-07T10:00:00Z".into());
    fake.run(&retry, 20, 4);
    assert_eq!(fake.phase(), Phase::Succeeded);
    assert!(matches!(
        fake.acts.last(),
        Some(Act::StartImport { reimport: true, .. })
    ));
    assert_eq!(
        fake.status.import.as_ref().unwrap().attempt,
        1,
        "the same task"
    );
    assert_eq!(
        fake.status.last_retry_requested_at.as_deref(),
        Some("2026-12-07T10:00:00Z")
    );
    // The handled request does not re-import again.
    let d = fake.step(&retry, 40);
    assert_eq!(d.act, None);
}

#[test]
fn a_refused_reimport_falls_back_to_a_new_task() {
    let mut fake = Fake {
        import_ends: vec![(State::ImportError, Some("boom".into()))],
        refuse_reimport: Some("1100010400: cannot be started in status IMPORT_ERROR".into()),
        ..Fake::default()
    };
    fake.run(&spec(), 0, 8);
    let mut retry = spec();
    retry.retry_requested_at = Some("a".into());
    fake.run(&retry, 20, 6);
    assert_eq!(fake.phase(), Phase::Succeeded);
    let r = fake.status.reimport.as_ref().unwrap();
    assert_eq!(r.method, ReimportMethod::NewTask);
    assert!(
        r.fallback_reason
            .as_deref()
            .unwrap()
            .contains("cannot be started")
    );
    assert_eq!(fake.status.import.as_ref().unwrap().attempt, 2);
}

#[test]
fn an_ignored_reimport_falls_back_to_a_new_task_after_the_grace() {
    let mut fake = Fake {
        import_ends: vec![(State::ImportError, Some("boom".into()))],
        ignore_reimport: true,
        ..Fake::default()
    };
    fake.run(&spec(), 0, 8);
    let mut retry = spec();
    retry.retry_requested_at = Some("a".into());
    fake.run(&retry, 20, 5);
    assert_eq!(fake.phase(), Phase::Importing, "waiting within the grace");
    assert_eq!(fake.ready().1, "Reimporting");
    fake.run(&retry, 20 + REIMPORT_GRACE.as_secs() as i64, 4);
    assert_eq!(fake.phase(), Phase::Succeeded);
    assert_eq!(fake.status.import.as_ref().unwrap().attempt, 2);
}

#[test]
fn partial_success_is_not_ready_and_says_where_the_report_is() {
    let mut fake = Fake {
        import_ends: vec![(
            State::PartialSuccess,
            Some("1 object was not imported".into()),
        )],
        ..Fake::default()
    };
    fake.run(&spec(), 0, 8);
    assert_eq!(fake.phase(), Phase::PartiallySucceeded);
    let (status, reason, message) = fake.ready();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "PartiallySucceeded")
    );
    assert!(
        message.contains("migration-cn-hangzhou.data.aliyun.com"),
        "{message}"
    );
}

#[test]
fn a_lost_create_answer_adopts_only_a_task_carrying_the_marker() {
    let mut status = DataWorksMigrationStatus {
        import: Some(MigrationTask {
            name: identity().task_name(false, 1),
            workspace_id: 10002,
            attempt: 1,
            create_requested_at: Some(Time(at(0))),
            ..MigrationTask::default()
        }),
        package_file: Some("http://b.oss-cn-hangzhou.aliyuncs.com/k.zip".into()),
        ..DataWorksMigrationStatus::default()
    };
    let mut oss = spec();
    oss.source = PackageSource {
        oss_url: Some("http://b.oss-cn-hangzhou.aliyuncs.com/k.zip".into()),
        ..PackageSource::default()
    };
    let run = |status: &DataWorksMigrationStatus, lookup: Lookup| {
        decide(&Inputs {
            spec: &oss,
            prev: status,
            generation: Some(1),
            observed: &Observed {
                import_lookup: Some(lookup),
                ..Observed::default()
            },
            identity: &identity(),
            now: at(5),
        })
    };
    let adopted = run(
        &status,
        Lookup::Found {
            id: 77,
            owned: true,
        },
    );
    assert_eq!(adopted.status.import.as_ref().unwrap().id, Some(77));
    assert!(matches!(
        adopted.act,
        Some(Act::StartImport {
            migration_id: 77,
            ..
        })
    ));
    let taken = run(
        &status,
        Lookup::Found {
            id: 78,
            owned: false,
        },
    );
    assert_eq!(taken.act, None);
    assert_eq!(taken.status.phase, Some(Phase::Failed));
    assert_eq!(
        conditions::find(&taken.status.conditions, READY)
            .unwrap()
            .reason,
        "NameTaken"
    );
    let absent = run(&status, Lookup::Absent);
    assert!(matches!(absent.act, Some(Act::CreateImport(_))));
    status.import.as_mut().unwrap().create_requested_at = None;
    assert!(identity().owns(Some(&format!("mine {}", identity().marker()))));
    assert!(!identity().owns(Some("someone else's task")));
}

#[test]
fn task_names_follow_the_console_rule_and_stay_short() {
    let long = Identity {
        namespace: "a-very-long-namespace-name-for-testing".into(),
        name: "and.an-even-longer-object-name-that-goes-on".into(),
        uid: "12345678-aaaa".into(),
    };
    let name = long.task_name(false, 12);
    assert!(name.len() <= 64, "{name}");
    assert!(
        name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "{name}"
    );
    assert!(name.ends_with("_12345678_i12"), "{name}");
}

#[test]
fn an_export_failure_is_terminal_until_a_retry_makes_a_new_export() {
    let mut fake = Fake::default();
    fake.step(&spec(), 0); // create export
    let id = fake.status.export.as_ref().unwrap().id.unwrap();
    fake.tasks.insert(
        id,
        (
            State::ExportError,
            Some("objects could not be read".into()),
            1,
        ),
    );
    let d = fake.step(&spec(), 1);
    assert_eq!((fake.phase(), d.act.clone()), (Phase::Failed, None));
    assert_eq!(fake.ready().1, "ExportFailed");
    let mut retry = spec();
    retry.retry_requested_at = Some("x".into());
    fake.run(&retry, 2, 8);
    assert_eq!(fake.phase(), Phase::Succeeded);
    assert_eq!(fake.status.export.as_ref().unwrap().attempt, 2);
}
