//! The older migration-job API (`*MigrationJob*` operations), spoken as version 2020-01-01.
//! It does not accept MaxCompute as a destination; use it for RDS/ECS/self-managed targets.
//! Dotted parameter names (`SourceEndpoint.InstanceType`) and the documented typo
//! `MigrationMode.StructureIntialization` / `MigrationMode.DataIntialization`.

use super::{
    DtsClient, DtsEndpoint, DtsJobStatus, MigrationObject, Reserve, RpcParams,
    migration_object_json,
};
use crate::aliyun::error::Error;
use crate::aliyun::lenient::Fields;
use crate::aliyun::response::Ack;
use crate::aliyun::transport::Idempotency;

/// CreateMigrationJob: buys a pay-as-you-go migration instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateMigrationJobRequest {
    /// `Region`: the region of the **destination**.
    pub region: String,
    /// `small`, `medium`, `large`, `xlarge`, `2xlarge`.
    pub migration_job_class: String,
    /// Idempotency token (≤ 64 ASCII), e.g. derived from the Kubernetes object UID: a repeated
    /// create with the same token does not buy twice, so the call is retried after ambiguous
    /// failures only when a token is given.
    pub client_token: Option<String>,
}

/// ConfigureMigrationJob: configures and (by default) starts the migration.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigureMigrationJobRequest {
    pub migration_job_id: String,
    /// ≤ 32 characters.
    pub migration_job_name: String,
    /// Schema migration (`MigrationMode.StructureIntialization`).
    pub structure_initialization: bool,
    /// Full data migration (`MigrationMode.DataIntialization`).
    pub data_initialization: bool,
    /// Incremental migration (`MigrationMode.DataSynchronization`).
    pub data_synchronization: bool,
    pub source: DtsEndpoint,
    pub destination: DtsEndpoint,
    /// Sent as the `MigrationObject` JSON array in the form body.
    pub migration_object: Vec<MigrationObject>,
    /// `MigrationReserved`.
    pub migration_reserved: Option<Reserve>,
    /// Incremental start, unix seconds.
    pub checkpoint: Option<i64>,
}

impl DtsClient {
    /// CreateMigrationJob.
    pub async fn create_migration_job(
        &self,
        req: &CreateMigrationJobRequest,
    ) -> Result<String, Error> {
        let mut p = RpcParams::default();
        p.put("Region", &req.region)
            .put("MigrationJobClass", &req.migration_job_class)
            .opt("ClientToken", &req.client_token);
        let idempotency = if req.client_token.is_some() {
            Idempotency::ClientToken
        } else {
            Idempotency::NotIdempotent
        };
        let resp = self.call("CreateMigrationJob", p, idempotency).await?;
        Fields(&resp.body)
            .string(&["MigrationJobId"])
            .ok_or_else(|| Error::decode("CreateMigrationJob answered without MigrationJobId"))
    }

    /// ConfigureMigrationJob (reconfiguring the same instance converges, so it is retried).
    pub async fn configure_migration_job(
        &self,
        req: &ConfigureMigrationJobRequest,
    ) -> Result<Ack, Error> {
        let mut p = RpcParams::default();
        p.put("MigrationJobId", &req.migration_job_id)
            .put("MigrationJobName", &req.migration_job_name)
            .put(
                "MigrationMode.StructureIntialization",
                req.structure_initialization,
            )
            .put("MigrationMode.DataIntialization", req.data_initialization)
            .put(
                "MigrationMode.DataSynchronization",
                req.data_synchronization,
            )
            .opt("Checkpoint", &req.checkpoint)
            .opt(
                "MigrationReserved",
                &req.migration_reserved
                    .as_ref()
                    .filter(|r| !r.is_empty())
                    .map(Reserve::to_json),
            )
            .extend(req.source.legacy_params(false))
            .extend(req.destination.legacy_params(true))
            .form(
                "MigrationObject",
                migration_object_json(&req.migration_object),
            );
        let resp = self
            .call("ConfigureMigrationJob", p, Idempotency::Idempotent)
            .await?;
        Ok(Ack::from(&resp))
    }

    async fn migration_action(
        &self,
        action: &'static str,
        migration_job_id: &str,
        client_token: Option<&str>,
    ) -> Result<Ack, Error> {
        let mut p = RpcParams::default();
        p.put("MigrationJobId", migration_job_id)
            .opt("ClientToken", &client_token);
        let resp = self.call(action, p, Idempotency::Idempotent).await?;
        Ok(Ack::from(&resp))
    }

    /// StartMigrationJob: from `NotStarted`, `Suspending` or `MigrationFailed` (and after a
    /// fixed `PrecheckFailed`).
    pub async fn start_migration_job(&self, migration_job_id: &str) -> Result<Ack, Error> {
        self.migration_action("StartMigrationJob", migration_job_id, None)
            .await
    }

    /// SuspendMigrationJob: pauses (do not leave incremental paused for more than 6 hours).
    pub async fn suspend_migration_job(
        &self,
        migration_job_id: &str,
        client_token: Option<&str>,
    ) -> Result<Ack, Error> {
        self.migration_action("SuspendMigrationJob", migration_job_id, client_token)
            .await
    }

    /// StopMigrationJob: ends the migration (`Finished`, cannot be restarted).
    pub async fn stop_migration_job(
        &self,
        migration_job_id: &str,
        client_token: Option<&str>,
    ) -> Result<Ack, Error> {
        self.migration_action("StopMigrationJob", migration_job_id, client_token)
            .await
    }

    /// DeleteMigrationJob: releases the instance irrecoverably.
    pub async fn delete_migration_job(&self, migration_job_id: &str) -> Result<Ack, Error> {
        self.migration_action("DeleteMigrationJob", migration_job_id, None)
            .await
    }

    /// DescribeMigrationJobStatus, normalised into the same model as the new API (lag in
    /// seconds, precheck items from `PrecheckStatus.Detail.CheckItem[]`).
    pub async fn describe_migration_job_status(
        &self,
        migration_job_id: &str,
    ) -> Result<DtsJobStatus, Error> {
        let mut p = RpcParams::default();
        p.put("MigrationJobId", migration_job_id);
        let resp = self
            .call("DescribeMigrationJobStatus", p, Idempotency::Idempotent)
            .await?;
        Ok(DtsJobStatus::from_legacy_status(&resp.body))
    }
}
