"""DTS flow through the official DTS SDK: purchase, configure PolarDB → MaxCompute, poll through
precheck to incremental with lag < 5 s, suspend/resume, monitor rules, stop, delete; a
precheck failure reported item by item and fixed; data verification with inconsistent rows
(CanSwitch, per-table results, differing rows); the legacy migration-job API; and the
refusal of tampered signatures."""

import json

from alibabacloud_dts20200101 import models as d
from alibabacloud_dts20200101.client import Client
from alibabacloud_tea_openapi.models import Config

from harness import AK_ID, AK_SECRET, ENDPOINT, Flow, admin, wait_until

SOURCE = "pc-bp1simdemo0polardb"


def client(secret=AK_SECRET, key=AK_ID, token=None):
    cfg = Config(access_key_id=key, access_key_secret=secret, security_token=token,
                 endpoint=ENDPOINT, protocol="http", region_id="cn-hangzhou")
    return Client(cfg)


def configure_request(instance_id, reserve=None, data_check=None, db_list=None):
    return d.ConfigureDtsJobRequest(
        dts_instance_id=instance_id,
        dts_job_name="shop-to-maxcompute",
        job_type="MIGRATION",
        structure_initialization=True,
        data_initialization=True,
        data_synchronization=True,
        source_endpoint_instance_type="PolarDB",
        source_endpoint_engine_name="PolarDB",
        source_endpoint_instance_id=SOURCE,
        source_endpoint_region="cn-hangzhou",
        source_endpoint_user_name="dts_reader",
        source_endpoint_password="not-a-real-password",
        destination_endpoint_instance_type="ODPS",
        destination_endpoint_engine_name="ODPS",
        destination_endpoint_region="cn-hangzhou",
        destination_endpoint_data_base_name="mc_shop",
        destination_endpoint_user_name="LTAI5tDestinationProjectKey",
        destination_endpoint_password="not-a-real-secret",
        db_list=json.dumps(db_list or {"shop": {"name": "shop", "all": True}}),
        reserve=json.dumps(reserve or {"targetTableMode": "2"}),
        data_check_configure=json.dumps(data_check) if data_check else None,
        region_id="cn-hangzhou",
    )


def purchase(f, dts, what):
    body = f.call(what, dts.create_dts_instance, d.CreateDtsInstanceRequest(
        pay_type="PostPaid", type="MIGRATION", source_region="cn-hangzhou", destination_region="cn-hangzhou",
        source_endpoint_engine_name="PolarDB", destination_endpoint_engine_name="odps",
        instance_class="small", region_id="cn-hangzhou"))
    f.check(f"{what}: ids shaped like DTS ids", body.instance_id == "dts" + body.job_id and len(body.job_id) == 15)
    return body.instance_id, body.job_id


def new_api(f):
    dts = f.spy(client())
    instance_id, job_id = purchase(f, dts, "CreateDtsInstance")
    body = f.call("DescribeDtsJobDetail (DtsInstanceID)", dts.describe_dts_job_detail,
                  d.DescribeDtsJobDetailRequest(dts_instance_id=instance_id, region_id="cn-hangzhou"))
    f.check("purchased instance is NotConfigured", body.status == "NotConfigured")

    body = f.call("ConfigureDtsJob (PolarDB → ODPS)", dts.configure_dts_job, configure_request(instance_id))
    f.check("configure answers both ids", body.dts_job_id == job_id and body.dts_instance_id == instance_id)
    body = f.call("DescribeDtsJobDetail after configure", dts.describe_dts_job_detail,
                  d.DescribeDtsJobDetailRequest(dts_job_id=job_id))
    f.check("configure starts the precheck", body.status == "Prechecking")
    body = f.call("DescribePreCheckStatus 01", dts.describe_pre_check_status,
                  d.DescribePreCheckStatusRequest(dts_job_id=job_id, job_code="01", struct_type="before"))
    f.check("precheck items listed", body.total >= 8)

    seen = set()

    def caught_up():
        detail = f.call("DescribeDtsJobDetail (poll)", dts.describe_dts_job_detail,
                        d.DescribeDtsJobDetailRequest(dts_job_id=job_id))
        seen.add(detail.status)
        sync = detail.data_synchronization_status.status
        return detail if detail.status == "Migrating" and sync in ("Migrating", "Catched") and detail.delay < 5000 else None

    detail = wait_until("incremental with lag < 5 s", caught_up, timeout=60, interval=0.3)
    f.check("walked Prechecking → Migrating", {"Prechecking", "Migrating"} <= seen, str(seen))
    f.check("checkpoint follows the lag", detail.checkpoint > 0)
    body = f.call("DescribeDtsJobs", dts.describe_dts_jobs,
                  d.DescribeDtsJobsRequest(dts_job_id=job_id, job_type="MIGRATION", page_size=20, page_number=1,
                                           region="cn-hangzhou"))
    item = body.dts_job_list[0]
    f.check("phase statuses in DescribeDtsJobs",
            item.structure_initialization_status.status == "Finished"
            and item.data_initialization_status.status == "Finished"
            and item.precheck_status.status == "Finished"
            and all(x.check_result == "Success" for x in item.precheck_status.detail)
            and item.destination_endpoint.engine_name == "ODPS")
    for code in ("02", "03", "04"):
        f.call(f"DescribePreCheckStatus {code}", dts.describe_pre_check_status,
               d.DescribePreCheckStatusRequest(dts_job_id=job_id, job_code=code, struct_type="before",
                                               page_no="1", page_size="10"))
    body = f.call("ListJobStep", dts.list_job_step, d.ListJobStepRequest(dts_job_id=job_id))
    f.check("four steps", len(body.job_steps) == 4)

    f.call("CreateJobMonitorRule (delay)", dts.create_job_monitor_rule,
           d.CreateJobMonitorRuleRequest(dts_job_id=job_id, type="delay", state="Y", delay_rule_time=5))
    body = f.call("DescribeJobMonitorRule", dts.describe_job_monitor_rule, d.DescribeJobMonitorRuleRequest(dts_job_id=job_id))
    f.check("monitor rule stored", body.monitor_rules[0].delay_rule_time == 5)

    f.call("SuspendDtsJob", dts.suspend_dts_job, d.SuspendDtsJobRequest(dts_job_id=job_id))
    body = f.call("DescribeDtsJobDetail suspended", dts.describe_dts_job_detail, d.DescribeDtsJobDetailRequest(dts_job_id=job_id))
    f.check("job suspended", body.status == "Suspending")
    f.call("StartDtsJob (resume)", dts.start_dts_job, d.StartDtsJobRequest(dts_job_id=job_id))
    body = f.call("DescribeDtsJobDetail resumed", dts.describe_dts_job_detail, d.DescribeDtsJobDetailRequest(dts_job_id=job_id))
    f.check("job migrating again", body.status == "Migrating")

    f.call("StopDtsJob", dts.stop_dts_job, d.StopDtsJobRequest(dts_job_id=job_id))
    body = f.call("DescribeDtsJobDetail stopped", dts.describe_dts_job_detail, d.DescribeDtsJobDetailRequest(dts_job_id=job_id))
    f.check("stopped job is Finished", body.status == "Finished")
    body = f.call("StartDtsJob on Finished (business error)", dts.start_dts_job, d.StartDtsJobRequest(dts_job_id=job_id))
    f.check("InvalidJobStatus in a 200 body", body.success is False and body.err_code == "InvalidJobStatus")
    f.call("DeleteDtsJob", dts.delete_dts_job, d.DeleteDtsJobRequest(dts_job_id=job_id, dts_instance_id=instance_id))
    body = f.call("DescribeDtsJobDetail after delete", dts.describe_dts_job_detail, d.DescribeDtsJobDetailRequest(dts_job_id=job_id))
    f.check("released job is gone", body.success is False and body.err_code == "Forbidden.InstanceNotFound")


def precheck_failure(f):
    dts = f.spy(client())
    instance_id, job_id = purchase(f, dts, "CreateDtsInstance (precheck case)")
    f.call("ConfigureDtsJob without auto start", dts.configure_dts_job,
           configure_request(instance_id, {"autoStartModulesAfterConfig": "none", "targetTableMode": "2"}))
    body = f.call("DescribeDtsJobDetail NotStarted", dts.describe_dts_job_detail, d.DescribeDtsJobDetailRequest(dts_job_id=job_id))
    f.check("configured job waits", body.status == "NotStarted")
    admin("POST", f"/dts/jobs/{job_id}/precheck", {"item": "CHECK_BINLOG", "result": "Failed",
                                                    "message": "loose_polar_log_bin is OFF",
                                                    "repair": "Set loose_polar_log_bin=ON"})
    f.call("StartDtsJob (precheck)", dts.start_dts_job, d.StartDtsJobRequest(dts_job_id=job_id))

    def failed():
        b = f.call("DescribeDtsJobDetail (poll precheck)", dts.describe_dts_job_detail,
                   d.DescribeDtsJobDetailRequest(dts_job_id=job_id))
        return b.status == "PrecheckFailed"

    wait_until("PrecheckFailed", failed, timeout=30)
    body = f.call("DescribeDtsJobs (failed item)", dts.describe_dts_jobs, d.DescribeDtsJobsRequest(dts_job_id=job_id))
    details = {x.check_item: x for x in body.dts_job_list[0].precheck_status.detail}
    f.check("DescribeDtsJobs Detail names the failed item",
            details["CHECK_BINLOG"].check_result == "Failed"
            and details["CHECK_BINLOG"].failed_reason == "loose_polar_log_bin is OFF"
            and details["CHECK_CONN_SRC"].check_result == "Success")
    body = f.call("DescribePreCheckStatus (failed item)", dts.describe_pre_check_status,
                  d.DescribePreCheckStatusRequest(dts_job_id=job_id, job_code="01"))
    states = {x.item: x.state for x in body.job_progress}
    f.check("DescribePreCheckStatus JobProgress names the failed item",
            states["CHECK_BINLOG"] == "Failed" and body.error_item == 1 and body.state == "Failed")
    admin("POST", f"/dts/jobs/{job_id}/precheck", {"item": "CHECK_BINLOG", "result": "Success"})
    f.call("StartDtsJob (re-run precheck)", dts.start_dts_job, d.StartDtsJobRequest(dts_job_id=job_id))

    def migrating():
        b = f.call("DescribeDtsJobDetail (poll re-run)", dts.describe_dts_job_detail,
                   d.DescribeDtsJobDetailRequest(dts_job_id=job_id))
        return b.status == "Migrating"

    wait_until("precheck passes after the fix", migrating, timeout=30)
    f.call("DeleteDtsJob (precheck case)", dts.delete_dts_job, d.DeleteDtsJobRequest(dts_instance_id=instance_id))


def precheck_warning(f):
    dts = f.spy(client())
    instance_id, job_id = purchase(f, dts, "CreateDtsInstance (warning case)")
    f.call("ConfigureDtsJob without auto start (warning case)", dts.configure_dts_job,
           configure_request(instance_id, {"autoStartModulesAfterConfig": "none", "targetTableMode": "2"}))
    admin("POST", f"/dts/jobs/{job_id}/precheck", {"item": "CHECK_DEST_TABLE_EMPTY", "result": "Warning",
                                                    "message": "orders_base is not empty", "canSkip": True})
    f.call("StartDtsJob (precheck with a warning)", dts.start_dts_job, d.StartDtsJobRequest(dts_job_id=job_id))

    def status():
        return f.call("DescribeDtsJobDetail (poll warning)", dts.describe_dts_job_detail,
                      d.DescribeDtsJobDetailRequest(dts_job_id=job_id)).status

    wait_until("a warning holds the precheck", lambda: status() == "PrecheckFailed", timeout=30)
    body = f.call("DescribePreCheckStatus (warning)", dts.describe_pre_check_status,
                  d.DescribePreCheckStatusRequest(dts_job_id=job_id, job_code="01"))
    item = {x.item: x for x in body.job_progress}["CHECK_DEST_TABLE_EMPTY"]
    f.check("DescribePreCheckStatus shows a skippable warning", item.state == "Warning" and item.can_skip is True)
    # What the operator sends: codes and full names, both JSON arrays (the SDK's own types).
    f.call("SkipPreCheck", dts.skip_pre_check,
           d.SkipPreCheckRequest(dts_job_id=job_id, skip=True, skip_pre_check_items='["CHECK_DEST_TABLE_EMPTY"]',
                                 skip_pre_check_names='["CHECK_DEST_TABLE_EMPTY_DETAIL"]'))
    f.call("StartDtsJob (re-run precheck after the skip)", dts.start_dts_job, d.StartDtsJobRequest(dts_job_id=job_id))
    wait_until("the skipped warning no longer holds the task", lambda: status() == "Migrating", timeout=30)
    f.call("DeleteDtsJob (warning case)", dts.delete_dts_job, d.DeleteDtsJobRequest(dts_instance_id=instance_id))


def legacy_api(f):
    dts = f.spy(client())
    req = d.CreateMigrationJobRequest(region="cn-hangzhou", migration_job_class="small", client_token="conformance-legacy-1")
    first = f.call("CreateMigrationJob", dts.create_migration_job, req).migration_job_id
    again = f.call("CreateMigrationJob (same ClientToken)", dts.create_migration_job, req).migration_job_id
    f.check("ClientToken makes the purchase idempotent", first == again)
    endpoint = d.ConfigureMigrationJobRequestSourceEndpoint(instance_type="RDS", instance_id="rm-bp1simsource",
                                                             engine_name="MySQL", region="cn-hangzhou",
                                                             user_name="dts", password="not-real")
    f.expect_error("ConfigureMigrationJob to MaxCompute is refused", "InvalidParameter", dts.configure_migration_job,
                   d.ConfigureMigrationJobRequest(
                       migration_job_id=first, migration_job_name="to-odps", migration_object='[{"DBName":"shop"}]',
                       migration_mode=d.ConfigureMigrationJobRequestMigrationMode(
                           structure_intialization=True, data_intialization=True, data_synchronization=False),
                       source_endpoint=endpoint,
                       destination_endpoint=d.ConfigureMigrationJobRequestDestinationEndpoint(instance_type="ODPS")))
    f.call("ConfigureMigrationJob (RDS → RDS)", dts.configure_migration_job, d.ConfigureMigrationJobRequest(
        migration_job_id=first, migration_job_name="shop-rds", region_id="cn-hangzhou",
        migration_object='[{"DBName":"shop","TableIncludes":[{"TableName":"customer"},{"TableName":"orders"}]}]',
        migration_mode=d.ConfigureMigrationJobRequestMigrationMode(
            structure_intialization=True, data_intialization=True, data_synchronization=True),
        source_endpoint=endpoint,
        destination_endpoint=d.ConfigureMigrationJobRequestDestinationEndpoint(
            instance_type="RDS", instance_id="rm-bp1simtarget", engine_name="MySQL", region="cn-hangzhou",
            data_base_name="shop", user_name="dts", password="not-real")))

    def migrating():
        b = f.call("DescribeMigrationJobStatus (poll)", dts.describe_migration_job_status,
                   d.DescribeMigrationJobStatusRequest(migration_job_id=first))
        return b if b.migration_job_status == "Migrating" and b.data_synchronization_status.status in ("Migrating", "Catched") else None

    status = wait_until("legacy job migrating", migrating, timeout=30)
    f.check("legacy status shapes", status.task_id == first[3:] and status.precheck_status.status == "Finished"
            and len(status.precheck_status.detail.check_item) >= 8 and status.migration_mode.data_synchronization)
    body = f.call("DescribeMigrationJobs", dts.describe_migration_jobs,
                  d.DescribeMigrationJobsRequest(migration_job_name="shop", page_num=1, page_size=10, region_id="cn-hangzhou"))
    jobs = body.migration_jobs.migration_job
    f.check("legacy list wrapper", len(jobs) == 1 and jobs[0].migration_job_id == first
            and jobs[0].migration_object.synchronous_object[0].table_list.table == ["customer", "orders"])
    f.call("DescribeMigrationJobDetail", dts.describe_migration_job_detail, d.DescribeMigrationJobDetailRequest(
        migration_job_id=first, page_num=1, page_size=10,
        migration_mode=d.DescribeMigrationJobDetailRequestMigrationMode(data_initialization=True)))
    f.call("SuspendMigrationJob", dts.suspend_migration_job, d.SuspendMigrationJobRequest(migration_job_id=first))
    f.call("StartMigrationJob", dts.start_migration_job, d.StartMigrationJobRequest(migration_job_id=first))
    f.call("StopMigrationJob", dts.stop_migration_job, d.StopMigrationJobRequest(migration_job_id=first))
    body = f.call("DescribeMigrationJobStatus (stopped)", dts.describe_migration_job_status,
                  d.DescribeMigrationJobStatusRequest(migration_job_id=first))
    f.check("stopped legacy job is Finished", body.migration_job_status == "Finished")
    f.call("DeleteMigrationJob", dts.delete_migration_job, d.DeleteMigrationJobRequest(migration_job_id=first))
    body = f.call("DescribeMigrationJobStatus (deleted)", dts.describe_migration_job_status,
                  d.DescribeMigrationJobStatusRequest(migration_job_id=first))
    f.check("deleted legacy job → InvalidJobId", body.err_code == "InvalidJobId")


def data_check(f):
    dts = f.spy(client())
    instance_id, job_id = purchase(f, dts, "CreateDtsInstance (data check)")
    f.call("ConfigureDtsJob (full and incremental check)", dts.configure_dts_job,
           configure_request(instance_id, data_check={"fullDataCheck": True, "incrementalDataCheck": True}))
    admin("POST", f"/dts/jobs/{job_id}/check-diff", {"table": "orders", "diffCount": 42})
    admin("POST", f"/dts/jobs/{job_id}/check-diff", {"table": "customer", "diffCount": 3, "checkType": 2})

    def finished():
        body = f.call("DescribeDtsJobs (poll check)", dts.describe_dts_jobs,
                      d.DescribeDtsJobsRequest(dts_job_id=job_id, job_type="MIGRATION", region="cn-hangzhou"))
        item = body.dts_job_list[0]
        return item if item.full_data_check_status.status == "Finished" else None

    item = wait_until("the full data check finished", finished, timeout=60, interval=0.3)
    full = item.full_data_check_status
    f.check("a full check with inconsistent rows says CanSwitch false",
            full.can_switch is False and full.error_message == "42 inconsistent row(s)")
    f.check("the incremental check reports its own inconsistencies",
            item.migration_mode.inc_data_check is True
            and item.inc_data_check_status.error_message == "3 inconsistent row(s)")
    body = f.call("DescribeDataCheckTableDetails (full)", dts.describe_data_check_table_details,
                  d.DescribeDataCheckTableDetailsRequest(dts_job_id=job_id, check_type=1, page_size=100))
    orders = [t for t in body.table_details if t.source_tb_name == "orders"][0]
    f.check("per-table results count differing rows",
            orders.diff_count == 42 and orders.finish_count == orders.total_count and body.diff_table_count == 1)
    body = f.call("DescribeDataCheckTableDetails (incremental, inconsistent only)",
                  dts.describe_data_check_table_details,
                  d.DescribeDataCheckTableDetailsRequest(dts_job_id=job_id, check_type=2, status="6"))
    f.check("the incremental check lists its table", [t.source_tb_name for t in body.table_details] == ["customer"])
    body = f.call("DescribeDataCheckTableDiffDetails", dts.describe_data_check_table_diff_details,
                  d.DescribeDataCheckTableDiffDetailsRequest(dts_job_id=job_id, check_type=1, db_name="shop",
                                                             tb_name="orders", page_size=10))
    f.check("differing rows listed", body.diff_count == 42 and len(body.diff_details) == 10)
    f.call("DeleteDtsJob (data check)", dts.delete_dts_job,
           d.DeleteDtsJobRequest(dts_job_id=job_id, dts_instance_id=instance_id))


SCOPED = {"shop": {"name": "shop", "all": False, "dml_op": "insert,update,delete", "Table": {
    "orders": {"name": "orders", "all": False, "ddl_op": "alter table",
               "column": {"id": {"name": "id"}, "note": {"name": "remark"}}}}}}
TYPED_RESERVE = {"targetTableMode": "0", "maxRetryTime": "3600", "retry.blind.seconds": "600",
                 "fullDynamicConfig": {"dts.datamove.blaster.qps.max": 500, "dts.datamove.source.bps.max": 10485760},
                 "incDynamicConfig": {"dts.datamove.source.rps.max": 2000}, "dbListCaseChangeMode": "dest_lower"}


def scope_and_schema_changes(f):
    """Statement scope, a column map and typed Reserve keys are taken; the DDL the incremental
    stage meets is listed by DescribePreCheckStatus StructType=after, a MaxCompute refusal with
    its statement; malformed scope and retry windows are refused."""
    dts = f.spy(client())
    instance_id, job_id = purchase(f, dts, "CreateDtsInstance (scope case)")
    f.call("ConfigureDtsJob (dml_op, ddl_op, column, typed Reserve)", dts.configure_dts_job,
           configure_request(instance_id, TYPED_RESERVE, db_list=SCOPED))

    def incremental():
        b = f.call("DescribeDtsJobDetail (poll scope)", dts.describe_dts_job_detail,
                   d.DescribeDtsJobDetailRequest(dts_job_id=job_id))
        return b.status == "Migrating" and b.data_synchronization_status.status in ("Migrating", "Catched")

    wait_until("scoped task in its incremental stage", incremental, timeout=60, interval=0.3)
    admin("POST", f"/dts/jobs/{job_id}/ddl", {"table": "shop.orders", "sql": "ALTER TABLE orders ADD COLUMN tag VARCHAR(8)"})
    admin("POST", f"/dts/jobs/{job_id}/ddl", {"table": "shop.orders", "sql": "ALTER TABLE orders DROP COLUMN note"})
    body = f.call("DescribePreCheckStatus 02 after", dts.describe_pre_check_status,
                  d.DescribePreCheckStatusRequest(dts_job_id=job_id, job_code="02", struct_type="after",
                                                  page_no="1", page_size="100"))
    by_sql = {x.ddl_sql: x for x in body.job_progress}
    f.check("DDL during incremental listed with its statement and outcome",
            body.total == 2 and body.error_item == 1
            and by_sql["ALTER TABLE orders ADD COLUMN tag VARCHAR(8)"].state == "Success"
            and by_sql["ALTER TABLE orders DROP COLUMN note"].state == "Failed"
            and by_sql["ALTER TABLE orders DROP COLUMN note"].names == "orders")
    f.call("DeleteDtsJob (scope case)", dts.delete_dts_job, d.DeleteDtsJobRequest(dts_instance_id=instance_id))

    instance_id, _ = purchase(f, dts, "CreateDtsInstance (refused scope)")
    bad_scope = {"shop": {"name": "shop", "all": True, "dml_op": "insert,upsert"}}
    f.expect_error("dml_op outside insert/update/delete", "InvalidParameter", dts.configure_dts_job,
                   configure_request(instance_id, db_list=bad_scope))
    f.expect_error("retry.blind.seconds not below maxRetryTime", "InvalidParameter", dts.configure_dts_job,
                   configure_request(instance_id, {"maxRetryTime": "600", "retry.blind.seconds": "600"}))
    f.call("DeleteDtsJob (refused scope)", dts.delete_dts_job, d.DeleteDtsJobRequest(dts_instance_id=instance_id))


def refusals(f):
    f.expect_error("wrong secret", "SignatureDoesNotMatch", client(secret="tampered").describe_dts_jobs,
                   d.DescribeDtsJobsRequest())
    f.expect_error("unknown AccessKeyId", "InvalidAccessKeyId.NotFound",
                   client(key="LTAI5tNobodyKnowsThisKey").describe_dts_jobs, d.DescribeDtsJobsRequest())
    requests = admin("GET", "/requests?action=DescribeDtsJobs")
    f.check("refusals are logged without secrets",
            any(r["code"] == "SignatureDoesNotMatch" for r in requests)
            and all("secret" not in json.dumps(r).lower() for r in requests))


def flow(f):
    new_api(f)
    precheck_failure(f)
    precheck_warning(f)
    data_check(f)
    scope_and_schema_changes(f)
    legacy_api(f)
    refusals(f)


if __name__ == "__main__":
    Flow("dts_flow").run(flow)
