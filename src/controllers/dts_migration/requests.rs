//! The DTS requests a DtsMigration stands for, built from the object and its status alone: act
//! resolves the endpoints' Secrets, then sends what these return. `Debug` of every request
//! masks the endpoints' user names and passwords (and the reserve map's secrets).

use kube::{Resource, ResourceExt};

use super::endpoints;
use crate::aliyun::dts::{
    ConfigureDtsJobRequest, ConfigureMigrationJobRequest, CreateDtsInstanceRequest,
    CreateMigrationJobRequest, DtsEndpoint, DtsJobType,
};
use crate::api::dts_migration::{DtsMigration, DtsMigrationStatus, MigrationType};

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
        migration_reserved: endpoints::reserve(&m.spec.reserve, &uid(m)),
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
        reserve: endpoints::reserve(&m.spec.reserve, &uid(m)),
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
}
