//! The precheck's permission items as a condition of their own: whether the database accounts
//! DTS uses may do what the task needs, and what least privilege is for the source account.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use crate::api::conditions::Desired;
use crate::api::dts_migration::{
    DtsMigrationSpec, DtsMigrationStatus, MigrationType, PrecheckItem,
};

pub const PRIVILEGES_SUFFICIENT: &str = "PrivilegesSufficient";

/// Whether a precheck item is about an account's permissions (`CHECK_AUTH_SRC`,
/// `CHECK_SUPER_AUTH_DEST`, `…_PRIVILEGE…`).
pub fn is_privilege_item(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    name.contains("AUTH") || name.contains("PRIV") || name.contains("GRANT")
}

/// What the source account needs, and no more, for a MySQL-family source.
fn least_privilege(spec: &DtsMigrationSpec) -> &'static str {
    if spec.migration_types.contains(&MigrationType::Incremental) {
        "least privilege for a MySQL-family source account: SELECT on the migrated objects plus REPLICATION SLAVE and REPLICATION CLIENT, not SUPER"
    } else {
        "least privilege for a MySQL-family source account: SELECT on the migrated objects (REPLICATION SLAVE and REPLICATION CLIENT only with incremental migration; never SUPER)"
    }
}

/// `PrivilegesSufficient` from this observation's precheck; the previous one while the
/// precheck has not reported (an item that was not read is not taken for one that passed).
pub fn privileges_condition(
    spec: &DtsMigrationSpec,
    status: &DtsMigrationStatus,
    prev: &[Condition],
) -> Desired {
    let precheck = status.precheck.as_ref();
    let lacking: Vec<&PrecheckItem> = precheck
        .map(|p| p.items.iter().collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|i| is_privilege_item(&i.name) && !i.result.eq_ignore_ascii_case("success"))
        .collect();
    if !lacking.is_empty() {
        let items = lacking
            .iter()
            .map(|i| format!("{} ({}): {}", i.name, i.result, i.reason))
            .collect::<Vec<_>>()
            .join("; ");
        return Desired::false_(
            PRIVILEGES_SUFFICIENT,
            "PrivilegesMissing",
            format!(
                "{items}. Grant what is missing and run the precheck again; {}",
                least_privilege(spec)
            ),
        );
    }
    let finished = precheck.is_some_and(|p| {
        p.status.eq_ignore_ascii_case("finished") || p.status.eq_ignore_ascii_case("failed")
    });
    if finished {
        return Desired::true_(
            PRIVILEGES_SUFFICIENT,
            "PrivilegeItemsPassed",
            format!(
                "the precheck's permission items passed (DTS does not report extra grants: check that the account has no more than it needs); {}",
                least_privilege(spec)
            ),
        );
    }
    super::carried(prev, PRIVILEGES_SUFFICIENT).unwrap_or_else(|| {
        Desired::unknown(
            PRIVILEGES_SUFFICIENT,
            "NotChecked",
            format!(
                "the precheck has not reported yet; {}",
                least_privilege(spec)
            ),
        )
    })
}
