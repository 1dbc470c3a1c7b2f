use serde_json::json;

use super::*;

#[test]
fn import_request_sends_json_fields_as_one_string_each() {
    let req = CreateImportMigrationRequest {
        project_id: 42,
        name: "amo_ns_x_i1".into(),
        package_type: "DATAWORKS_MODEL".into(),
        package_file: "http://b.oss-cn-hangzhou.aliyuncs.com/k.zip".into(),
        calculate_engine_map: json!({"ODPS": {"src": "dst"}}),
        commit_rule: json!({"resourceAutoCommit": false}),
        resource_group_map: None,
        workspace_map: Some(json!({"src_ws": "dst_ws"})),
        description: Some(String::new()),
    };
    let form = req.form();
    let get = |k: &str| form.iter().find(|(x, _)| x == k).map(|(_, v)| v.as_str());
    assert_eq!(get("ProjectId"), Some("42"));
    assert_eq!(get("CalculateEngineMap"), Some(r#"{"ODPS":{"src":"dst"}}"#));
    assert_eq!(get("WorkspaceMap"), Some(r#"{"src_ws":"dst_ws"}"#));
    assert_eq!(get("ResourceGroupMap"), None);
    assert_eq!(get("Description"), None, "an empty description is not sent");
    assert_eq!(get("RegionId"), None, "the endpoint names the region");
}

#[test]
fn summaries_parse_leniently_and_know_both_status_sets() {
    let s = MigrationSummary::from_value(&json!({
        "MigrationId": "7", "Status": "PARTIAL_SUCCESS", "GmtModified": 1700000000000i64,
        "DownloadUrl": "********",
    }));
    assert_eq!(s.migration_id, Some(7));
    assert_eq!(s.status, Some(MigrationStatus::PartialSuccess));
    assert!(s.has_download_url);
    assert_eq!(MigrationStatus::parse("FAILURE"), MigrationStatus::Failure);
    assert_eq!(
        MigrationStatus::parse("CANCELLING"),
        MigrationStatus::Other("CANCELLING".into())
    );
    assert_eq!(StepStatus::parse("INT"), StepStatus::Init);
}

#[test]
fn the_advance_flow_package_file_has_no_signature() {
    let grant = UploadGrant {
        bucket: "dw-upload".into(),
        endpoint: "oss-cn-hangzhou.aliyuncs.com".into(),
        object_key: "dataworks/1/pkg.zip".into(),
        use_accelerate: false,
        access_key_id: SecretString::new("STS.id"),
        signature: SecretString::new("sig"),
        encoded_policy: SecretString::new("policy"),
        security_token: None,
    };
    assert_eq!(
        grant.package_file(),
        "http://dw-upload.oss-cn-hangzhou.aliyuncs.com/dataworks/1/pkg.zip"
    );
    let shown = format!("{grant:?}");
    assert!(
        !shown.contains("sig\"") && !shown.contains("STS.id"),
        "{shown}"
    );
}
