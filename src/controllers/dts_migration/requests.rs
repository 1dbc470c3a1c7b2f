//! The DTS calls a decision stands for, built in full without I/O from the object, the status
//! the decision computed and (for a configure) the endpoints' accounts read just before: act
//! only sends what `build` returns. `Debug` of every request masks the endpoints' user names
//! and passwords (and the reserve map's secrets).

use kube::{Resource, ResourceExt};

use super::TaskOp;
use super::decide::Act;
use super::endpoints::{self, Accounts};
use crate::aliyun::dts::{
    ConfigureDtsJobRequest, ConfigureMigrationJobRequest, CreateDtsInstanceRequest,
    CreateMigrationJobRequest, DtsEndpoint, DtsJobType, JobMonitorRule,
};
use crate::api::dts_migration::{
    ApiGeneration, DtsMigration, DtsMigrationStatus, MigrationType, PrecheckSkipped,
};

/// One finished call (or, for the alert rules, the rules to hold), as act sends it.
#[derive(Debug)]
pub(super) enum Call {
    LegacyPurchase(CreateMigrationJobRequest),
    Purchase(Box<CreateDtsInstanceRequest>),
    LegacyConfigure(Box<ConfigureMigrationJobRequest>),
    Configure(Box<ConfigureDtsJobRequest>),
    /// Start, suspend or stop the task the status records, in the resource's API generation.
    Task(TaskOp),
    /// SkipPreCheck of these items, then StartDtsJob.
    SkipPrecheck {
        job: String,
        skipped: PrecheckSkipped,
    },
    /// The alert rules DTS must hold (each set only where DTS holds something else).
    MonitorRules {
        job: String,
        rules: Vec<JobMonitorRule>,
        generation: i64,
    },
}

/// Whether `act` needs the endpoints' accounts (read from their Secrets) to be built.
pub(super) fn needs_accounts(act: &Act) -> bool {
    matches!(act, Act::Configure)
}

/// The call `act` stands for. `status` is the decision's (it carries the ids a purchase or a
/// configure names); `accounts` are read when `needs_accounts` says so, else empty.
pub(super) fn build(
    m: &DtsMigration,
    status: &DtsMigrationStatus,
    act: &Act,
    accounts: &Accounts,
) -> Call {
    let legacy = m.spec.api_generation == ApiGeneration::MigrationJob;
    let job = || status.dts_job_id.clone().unwrap_or_default();
    match act {
        Act::CreateInstance if legacy => Call::LegacyPurchase(legacy_purchase(m)),
        Act::CreateInstance => Call::Purchase(Box::new(purchase(m, status))),
        Act::Configure => {
            let region = &m.spec.region;
            let source = endpoints::wire(&m.spec.source, accounts.source.as_ref(), region, legacy);
            let destination = endpoints::wire(
                &m.spec.destination,
                accounts.destination.as_ref(),
                region,
                legacy,
            );
            if legacy {
                Call::LegacyConfigure(Box::new(legacy_configure(m, status, source, destination)))
            } else {
                Call::Configure(Box::new(configure(m, status, source, destination)))
            }
        }
        Act::Start => Call::Task(TaskOp::Start),
        Act::Suspend => Call::Task(TaskOp::Suspend),
        Act::Stop => Call::Task(TaskOp::Stop),
        Act::SkipPrecheck(skipped) => Call::SkipPrecheck {
            job: job(),
            skipped: skipped.clone(),
        },
        Act::SyncMonitorRules { rules, generation } => Call::MonitorRules {
            job: job(),
            rules: rules
                .iter()
                .map(|rule| JobMonitorRule {
                    dts_job_id: job(),
                    rule_type: rule.kind,
                    enabled: rule.enabled,
                    delay_rule_time: rule.delay_seconds,
                    phone: (!rule.phones.is_empty()).then(|| rule.phones.join(",")),
                })
                .collect(),
            generation: *generation,
        },
    }
}

/// An idempotency token from the object UID: a restarted create returns the same instance.
pub(super) fn client_token(m: &DtsMigration) -> String {
    let uid = m.meta().uid.clone().unwrap_or_else(|| m.name_any());
    format!("amo-{}", uid.replace('-', ""))
        .chars()
        .take(64)
        .collect()
}

pub(super) fn uid(m: &DtsMigration) -> String {
    m.uid().unwrap_or_default()
}

fn region_or_default(region: &Option<String>, m: &DtsMigration) -> String {
    region.clone().unwrap_or_else(|| m.spec.region.clone())
}

/// CreateMigrationJob (the legacy generation buys first).
pub(super) fn legacy_purchase(m: &DtsMigration) -> CreateMigrationJobRequest {
    CreateMigrationJobRequest {
        region: region_or_default(&m.spec.destination.region, m),
        migration_job_class: m.spec.instance_class.as_str().to_string(),
        client_token: Some(client_token(m)),
    }
}

/// CreateDtsInstance for the task configured first, started once bought.
pub(super) fn purchase(m: &DtsMigration, status: &DtsMigrationStatus) -> CreateDtsInstanceRequest {
    CreateDtsInstanceRequest {
        // Two operators, a retry after a lost answer: one purchase per resource.
        client_token: Some(client_token(m)),
        job_id: status.dts_job_id.clone(),
        auto_start: Some(true),
        instance_class: Some(m.spec.instance_class.as_str().to_string()),
        source_region: Some(region_or_default(&m.spec.source.region, m)),
        destination_region: Some(region_or_default(&m.spec.destination.region, m)),
        source_engine: Some(endpoints::purchase_engine(&m.spec.source).to_string()),
        destination_engine: Some(endpoints::purchase_engine(&m.spec.destination).to_string()),
        ..CreateDtsInstanceRequest::default()
    }
}

/// ConfigureMigrationJob of the bought legacy instance.
pub(super) fn legacy_configure(
    m: &DtsMigration,
    status: &DtsMigrationStatus,
    source: DtsEndpoint,
    destination: DtsEndpoint,
) -> ConfigureMigrationJobRequest {
    let types = &m.spec.migration_types;
    ConfigureMigrationJobRequest {
        migration_job_id: status.dts_instance_id.clone().unwrap_or_default(),
        migration_job_name: endpoints::job_name(m),
        structure_initialization: types.contains(&MigrationType::Schema),
        data_initialization: types.contains(&MigrationType::Full),
        data_synchronization: types.contains(&MigrationType::Incremental),
        source,
        destination,
        migration_object: endpoints::migration_object(&m.spec.objects),
        migration_reserved: endpoints::reserve(&m.spec, &uid(m)),
        checkpoint: m.spec.checkpoint,
    }
}

/// ConfigureDtsJob: the task (and, once bought, its instance), with the ownership marker in
/// the reserve map.
pub(super) fn configure(
    m: &DtsMigration,
    status: &DtsMigrationStatus,
    source: DtsEndpoint,
    destination: DtsEndpoint,
) -> ConfigureDtsJobRequest {
    let types = &m.spec.migration_types;
    ConfigureDtsJobRequest {
        job_name: endpoints::job_name(m),
        job_type: DtsJobType::Migration,
        dts_instance_id: status.dts_instance_id.clone(),
        dts_job_id: status.dts_job_id.clone(),
        structure_initialization: types.contains(&MigrationType::Schema),
        data_initialization: types.contains(&MigrationType::Full),
        data_synchronization: types.contains(&MigrationType::Incremental),
        source,
        destination,
        db_list: endpoints::db_list(&m.spec.objects),
        reserve: endpoints::reserve(&m.spec, &uid(m)),
        checkpoint: m.spec.checkpoint,
        data_check_configure: endpoints::data_check(m.spec.data_check.as_ref()),
        ..ConfigureDtsJobRequest::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aliyun::SecretString;
    use crate::api::dts_migration::{
        DtsDatabaseObject, DtsEndpoint as SpecEndpoint, DtsMigrationSpec, EndpointType,
    };

    const UID: &str = "6f1c2d3e-0000-4000-8000-00000000abcd";

    fn migration(types: Vec<MigrationType>) -> DtsMigration {
        let mut m = DtsMigration::new(
            "orders",
            DtsMigrationSpec {
                region: "cn-hangzhou".into(),
                source: SpecEndpoint {
                    instance_type: EndpointType::PolarDB,
                    instance_id: Some("pc-1".into()),
                    ..Default::default()
                },
                destination: SpecEndpoint {
                    instance_type: EndpointType::MaxCompute,
                    database: Some("dw".into()),
                    region: Some("cn-shanghai".into()),
                    ..Default::default()
                },
                migration_types: types,
                objects: vec![DtsDatabaseObject {
                    name: "shop".into(),
                    ..Default::default()
                }],
                ..Default::default()
            },
        );
        m.metadata.namespace = Some("sales".into());
        m.metadata.uid = Some(UID.into());
        m
    }

    #[test]
    fn a_purchase_names_the_configured_task_and_one_token_per_resource() {
        let m = migration(vec![MigrationType::Full]);
        let status = DtsMigrationStatus {
            dts_job_id: Some("job-1".into()),
            ..Default::default()
        };
        let r = purchase(&m, &status);
        assert_eq!(r.job_id.as_deref(), Some("job-1"));
        assert_eq!(r.auto_start, Some(true));
        assert_eq!(
            r.client_token.as_deref(),
            Some("amo-6f1c2d3e00004000800000000000abcd")
        );
        // Regions: the endpoint's own, else the resource's.
        assert_eq!(r.source_region.as_deref(), Some("cn-hangzhou"));
        assert_eq!(r.destination_region.as_deref(), Some("cn-shanghai"));
        assert_eq!(legacy_purchase(&m).region, "cn-shanghai");
    }

    #[test]
    fn a_configure_follows_the_migration_types_and_carries_the_ownership_marker() {
        let m = migration(vec![MigrationType::Schema, MigrationType::Incremental]);
        let status = DtsMigrationStatus {
            dts_instance_id: Some("dtsabc".into()),
            ..Default::default()
        };
        let secret = "Pl4nted-AK-Secret";
        let destination = DtsEndpoint::maxcompute(
            "cn-shanghai",
            "dw",
            "LTAI5tPlantedKeyId0001",
            SecretString::new(secret),
        );
        let r = configure(&m, &status, DtsEndpoint::default(), destination.clone());
        assert!(r.structure_initialization && r.data_synchronization);
        assert!(!r.data_initialization);
        assert_eq!(r.dts_instance_id.as_deref(), Some("dtsabc"));
        assert!(
            r.reserve.as_ref().unwrap().to_json().contains(UID),
            "the reserve map names the owning resource"
        );
        let legacy = legacy_configure(&m, &status, DtsEndpoint::default(), destination);
        assert_eq!(legacy.migration_job_id, "dtsabc");
        // Built requests are logged at debug level: their secrets never show.
        for debug in [format!("{r:?}"), format!("{legacy:?}")] {
            assert!(!debug.contains(secret), "{debug}");
            assert!(!debug.contains("LTAI5tPlantedKeyId0001"), "{debug}");
        }
    }

    #[test]
    fn build_turns_each_act_into_its_finished_call() {
        use super::super::decide::AlertRule;
        use super::super::endpoints::Account;
        use crate::aliyun::dts::MonitorRuleType;

        let m = migration(vec![MigrationType::Full]);
        let status = DtsMigrationStatus {
            dts_job_id: Some("job-1".into()),
            dts_instance_id: Some("dtsabc".into()),
            ..Default::default()
        };
        let secret = "Pl4nted-Db-Passw0rd";
        let accounts = Accounts {
            source: Some(Account {
                user: "etl".into(),
                password: SecretString::new(secret),
            }),
            destination: Some(Account {
                user: "LTAI5tPlantedKeyId0002".into(),
                password: SecretString::new("Pl4nted-AK-Secret"),
            }),
        };
        assert!(needs_accounts(&Act::Configure));
        let Call::Configure(r) = build(&m, &status, &Act::Configure, &accounts) else {
            panic!("a configure of the DtsJob generation");
        };
        assert_eq!(r.source.user_name.as_deref(), Some("etl"));
        assert_eq!(
            r.source.password.as_ref().map(|p| p.expose_secret()),
            Some(secret)
        );
        assert_eq!(r.source.instance_id.as_deref(), Some("pc-1"));
        assert_eq!(r.destination.region.as_deref(), Some("cn-shanghai"));
        assert_eq!(r.dts_job_id.as_deref(), Some("job-1"));
        let debug = format!("{accounts:?} {r:?}");
        assert!(
            !debug.contains(secret) && !debug.contains("LTAI5tPlantedKeyId0002"),
            "{debug}"
        );

        let Call::Purchase(p) = build(&m, &status, &Act::CreateInstance, &Accounts::default())
        else {
            panic!("a purchase");
        };
        assert_eq!(p.job_id.as_deref(), Some("job-1"));
        for (act, op) in [
            (Act::Start, TaskOp::Start),
            (Act::Suspend, TaskOp::Suspend),
            (Act::Stop, TaskOp::Stop),
        ] {
            assert!(!needs_accounts(&act));
            assert!(
                matches!(build(&m, &status, &act, &Accounts::default()), Call::Task(o) if o == op)
            );
        }
        let rules = Act::SyncMonitorRules {
            rules: vec![AlertRule {
                kind: MonitorRuleType::Delay,
                enabled: true,
                delay_seconds: Some(30),
                phones: vec!["1380000".into(), "1390000".into()],
            }],
            generation: 4,
        };
        let Call::MonitorRules {
            job,
            rules,
            generation,
        } = build(&m, &status, &rules, &Accounts::default())
        else {
            panic!("alert rules");
        };
        assert_eq!((job.as_str(), generation), ("job-1", 4));
        assert_eq!(rules[0].dts_job_id, "job-1");
        assert_eq!(rules[0].phone.as_deref(), Some("1380000,1390000"));
        assert_eq!(rules[0].delay_rule_time, Some(30));

        let mut legacy = m.clone();
        legacy.spec.api_generation = ApiGeneration::MigrationJob;
        let Call::LegacyConfigure(r) = build(&legacy, &status, &Act::Configure, &accounts) else {
            panic!("a configure of the MigrationJob generation");
        };
        assert_eq!(r.migration_job_id, "dtsabc");
        assert_eq!(r.source.user_name.as_deref(), Some("etl"));
        assert!(matches!(
            build(&legacy, &status, &Act::CreateInstance, &Accounts::default()),
            Call::LegacyPurchase(_)
        ));
    }
}
