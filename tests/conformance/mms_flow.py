"""MMS flow through the official MaxCompute SDK: list sources, scan, browse the catalogue,
create a job (async task → job id), stop/start it, let a planned failure happen, read task
logs (verification counts), retry, timers, delete; and refuse tampered signatures."""

import json

from alibabacloud_maxcompute20220104 import models as m
from alibabacloud_maxcompute20220104.client import Client
from alibabacloud_tea_openapi.models import Config

from harness import AK_ID, AK_SECRET, ENDPOINT, Flow, admin, wait_until


def client(secret=AK_SECRET, key=AK_ID):
    cfg = Config(access_key_id=key, access_key_secret=secret, endpoint=ENDPOINT,
                 protocol="http", region_id="cn-hangzhou")
    return Client(cfg)


def flow(f):
    mc = f.spy(client())

    # Data sources: exact name → one id; a shared name → several candidates.
    body = f.call("ListMmsDataSources name=hive-prod", mc.list_mms_data_sources,
                  m.ListMmsDataSourcesRequest(name="hive-prod"))
    exact = [s for s in body.data.object_list if s.name == "hive-prod"]
    f.check("name filter is a substring match with one exact hit",
            len(exact) == 1 and any(s.name == "hive-prod-archive" for s in body.data.object_list))
    sid = str(exact[0].id)
    body = f.call("ListMmsDataSources (all)", mc.list_mms_data_sources, m.ListMmsDataSourcesRequest())
    f.check("two sources share the name bq-analytics",
            sum(1 for s in body.data.object_list if s.name == "bq-analytics") == 2)
    body = f.call("ListMmsDataSources type=BIGQUERY paged", mc.list_mms_data_sources,
                  m.ListMmsDataSourcesRequest(type="BIGQUERY", page_num=1, page_size=1))
    f.check("paging carries total", body.data.total == 2 and len(body.data.object_list) == 1)
    body = f.call("GetMmsDataSource withConfig", mc.get_mms_data_source, sid,
                  m.GetMmsDataSourceRequest(with_config=True, lang="en_US"))
    f.check("config items are returned", len(body.data.config) >= 2 and body.data.type == "HIVE")
    f.call("ListMmsDataSourceConfigItems Hive", mc.list_mms_data_source_config_items,
           m.ListMmsDataSourceConfigItemsRequest(source_type="Hive"))

    # Metadata scan fills the catalogue.
    body = f.call("ListMmsDbs before scan", mc.list_mms_dbs, sid, m.ListMmsDbsRequest())
    f.check("catalogue empty before the scan", body.data.total == 0)
    scan_id = str(f.call("CreateMmsFetchMetadataJob", mc.create_mms_fetch_metadata_job, sid,
                         m.CreateMmsFetchMetadataJobRequest()).data.scan_id)

    def scan_done():
        d = f.call("GetMmsFetchMetadataJob", mc.get_mms_fetch_metadata_job, sid, scan_id).data
        return d if d.status != "SCAN_DOING" else None

    scan = wait_until("metadata scan", scan_done, timeout=30)
    f.check("scan finished", scan.status == "SCAN_DONE" and json.loads(scan.result)["tables"] == 6)
    f.call("GetMmsAsyncTask (scan id)", mc.get_mms_async_task, sid, scan_id)

    body = f.call("ListMmsDbs sorted by numRows", mc.list_mms_dbs, sid,
                  m.ListMmsDbsRequest(sorter=m.ListMmsDbsRequestSorter(num_rows="desc")))
    dbs = {d.name: d for d in body.data.object_list}
    f.check("databases scanned", set(dbs) == {"sales", "marketing"} and body.data.object_list[0].name == "sales")
    f.call("GetMmsDb", mc.get_mms_db, sid, str(dbs["sales"].id))
    body = f.call("ListMmsTables status+sorter", mc.list_mms_tables, sid,
                  m.ListMmsTablesRequest(db_name="sales", status=["INIT"],
                                         sorter=m.ListMmsTablesRequestSorter(num_rows="desc"),
                                         page_size=10))
    tables = {t.name: t for t in body.data.object_list}
    f.check("tables scanned", set(tables) == {"orders", "customers", "order_items", "events"})
    f.call("GetMmsTable", mc.get_mms_table, sid, str(tables["events"].id))
    body = f.call("ListMmsPartitions", mc.list_mms_partitions, sid,
                  m.ListMmsPartitionsRequest(table_name="events", page_num=2, page_size=50))
    f.check("events has 180 partitions", body.data.total == 180 and len(body.data.object_list) == 50)
    f.call("GetMmsPartition", mc.get_mms_partition, sid, str(body.data.object_list[0].id))
    f.call("UpdateMmsTable (target name)", mc.update_mms_table, sid, str(tables["customers"].id),
           m.UpdateMmsTableRequest(dst_name="customers"))

    # A planned failure: the customers data copy fails once.
    admin("POST", "/mms/failures", {"source": "hive-prod", "db": "sales", "table": "customers",
                                    "phase": "data", "times": 1})

    body = f.call("CreateMmsJob", mc.create_mms_job, sid,
                  m.CreateMmsJobRequest(name="sales-full", src_db_name="sales", enable_verification=True))
    async_id = str(body.data.async_task_id)
    f.expect_error("CreateMmsJob duplicate name", "JobNameDuplicated", mc.create_mms_job, sid,
                   m.CreateMmsJobRequest(name="sales-full", src_db_name="sales"))

    def created():
        d = f.call("GetMmsAsyncTask (TASK_CREATE)", mc.get_mms_async_task, sid, async_id).data
        return d if d.status != "DOING" else None

    task = wait_until("job creation", created, timeout=15)
    f.check("async task done with the job id", task.status == "DONE" and task.type == "TASK_CREATE" and task.object_id)
    job_id = str(task.object_id)

    body = f.call("GetMmsJob", mc.get_mms_job, sid, job_id)
    f.check("job started by itself", body.data.status == "DOING" and not body.data.stopped
            and body.data.type == "Database" and body.data.task_num == 9)
    f.call("StopMmsJob", mc.stop_mms_job, sid, job_id)
    body = f.call("GetMmsJob after stop", mc.get_mms_job, sid, job_id)
    f.check("job stopped", body.data.stopped)
    body = f.call("ListMmsTasks stopped job", mc.list_mms_tasks, sid, m.ListMmsTasksRequest(job_id=job_id, page_size=50))
    f.check("tasks stopped, none running", all(t.stopped or t.status == "DONE" for t in body.data.object_list)
            and not any(t.running for t in body.data.object_list))
    f.call("StartMmsJob", mc.start_mms_job, sid, job_id)
    f.expect_error("StartMmsJob on a running job", "InvalidJobStatus", mc.start_mms_job, sid, job_id)

    def settled():
        d = f.call("GetMmsJob (poll)", mc.get_mms_job, sid, job_id).data
        return d if d.status in ("DONE", "FAILED") else None

    job = wait_until("job to settle", settled, timeout=60)
    f.check("job FAILED once nothing else runs (customers data failed)", job.status == "FAILED")
    body = f.call("ListMmsTasks status=DATA_FAILED", mc.list_mms_tasks, sid,
                  m.ListMmsTasksRequest(job_id=job_id, status="DATA_FAILED"))
    f.check("one failed task: customers", body.data.total == 1 and body.data.object_list[0].src_table_name == "customers")
    failed_id = str(body.data.object_list[0].id)
    f.call("GetMmsTask", mc.get_mms_task, sid, failed_id)
    logs = f.call("ListMmsTaskLogs (failed)", mc.list_mms_task_logs, sid, failed_id).data
    f.check("failure is logged", any(l.status == "DATA_FAILED" for l in logs))

    f.call("RetryMmsJob", mc.retry_mms_job, sid, job_id)
    job = wait_until("job after retry", settled, timeout=60)
    f.check("job DONE after retry", job.status == "DONE" and job.task_done == job.task_num)
    body = f.call("GetMmsTask after retry", mc.get_mms_task, sid, failed_id)
    f.check("retried task counts the retry", body.data.status == "DONE" and body.data.retried_times == 1)
    logs = f.call("ListMmsTaskLogs (verification)", mc.list_mms_task_logs, sid, failed_id).data
    counts = [l.msg for l in logs if l.action.startswith("compare")]
    f.check("verification counts on both sides", counts and counts[-1] == "src: 350000, dst: 350000", str(counts))
    f.expect_error("RetryMmsTask on a DONE task", "InvalidTaskStatus", mc.retry_mms_task, sid, failed_id, m.RetryMmsTaskRequest())

    body = f.call("ListMmsTasks paged+sorted", mc.list_mms_tasks, sid,
                  m.ListMmsTasksRequest(job_id=job_id, page_num=2, page_size=5,
                                        sorter=m.ListMmsTasksRequestSorter(start_time="asc")))
    f.check("task paging", body.data.total == 9 and len(body.data.object_list) == 4)
    body = f.call("ListMmsTasks partition filter", mc.list_mms_tasks, sid,
                  m.ListMmsTasksRequest(partition="ds=2024-04-01/region=cn"))
    f.check("partition filter finds the events task", body.data.total == 1)
    body = f.call("ListMmsJobs name LIKE + status", mc.list_mms_jobs, sid,
                  m.ListMmsJobsRequest(name="sales", status="DONE", stopped=0,
                                       sorter=m.ListMmsJobsRequestSorter(status="desc")))
    f.check("job listed", body.data.total == 1 and str(body.data.object_list[0].id) == job_id)
    body = f.call("GetMmsDataSource counters", mc.get_mms_data_source, sid, m.GetMmsDataSourceRequest())
    f.check("tables done roll up", body.data.tables_done_num == 4 and body.data.partitions_done_num == 210)

    # Timers.
    timer_id = str(f.call("CreateMmsTimer", mc.create_mms_timer, sid,
                          m.CreateMmsTimerRequest(name="nightly-marketing", src_db_name="marketing",
                                                  schedule_type="Daily", value="02:00")).data.timer_id)
    f.call("ListMmsTimers", mc.list_mms_timers, sid, m.ListMmsTimersRequest(name="nightly"))
    f.call("GetMmsTimer", mc.get_mms_timer, sid, timer_id)
    f.call("UpdateMmsTimer (pause)", mc.update_mms_timer, sid, timer_id, m.UpdateMmsTimerRequest(stopped=True))
    f.call("TriggerMmsTimer", mc.trigger_mms_timer, sid, timer_id, m.TriggerMmsTimerRequest())
    body = f.call("ListMmsTimerLogs", mc.list_mms_timer_logs, sid, timer_id, m.ListMmsTimerLogsRequest())
    f.check("timer run logged", body.data.total == 1)
    body = f.call("ListMmsJobs timerId", mc.list_mms_jobs, sid, m.ListMmsJobsRequest(timer_id=int(timer_id)))
    wait_until("timer job", lambda: f.call("ListMmsJobs timerId (poll)", mc.list_mms_jobs, sid,
                                           m.ListMmsJobsRequest(timer_id=int(timer_id))).data.total == 1, timeout=15)
    f.call("DeleteMmsTimer", mc.delete_mms_timer, sid, timer_id)

    # An incremental round: the source grows by two partitions; a round copies those alone.
    # The first copy of one of them fails, and RetryMmsTask retries that task alone.
    timer_id = str(f.call("CreateMmsTimer (incremental)", mc.create_mms_timer, sid,
                          m.CreateMmsTimerRequest(name="hourly-items", src_db_name="sales",
                                                  tables=["order_items"], schedule_type="Hourly",
                                                  value="05", enable_verification=True)).data.timer_id)
    admin("POST", "/mms/sources/hive-prod/partitions",
          {"db": "sales", "table": "order_items", "values": ["ds=2024-07-01", "ds=2024-07-02"]})
    admin("POST", "/mms/failures", {"source": "hive-prod", "db": "sales", "table": "order_items",
                                    "phase": "data", "times": 1})
    f.call("TriggerMmsTimer (round)", mc.trigger_mms_timer, sid, timer_id, m.TriggerMmsTimerRequest())

    def round_job():
        body = f.call("ListMmsJobs timerId (round)", mc.list_mms_jobs, sid,
                      m.ListMmsJobsRequest(timer_id=int(timer_id)))
        jobs = body.data.object_list or []
        return jobs[0] if jobs and jobs[0].status in ("DONE", "FAILED") else None

    rnd = wait_until("the round to settle", round_job, timeout=60)
    f.check("the round failed (planned)", rnd.status == "FAILED", rnd.status)
    body = f.call("ListMmsTasks (round)", mc.list_mms_tasks, sid, m.ListMmsTasksRequest(job_id=rnd.id))
    f.check("the round copies only the new partitions: one task", body.data.total == 1, str(body.data.total))
    task_id = str(body.data.object_list[0].id)
    f.check("its task failed in the data phase", body.data.object_list[0].status == "DATA_FAILED")
    f.call("RetryMmsTask", mc.retry_mms_task, sid, task_id, m.RetryMmsTaskRequest())

    def task_done():
        t = f.call("GetMmsTask (retried)", mc.get_mms_task, sid, task_id).data
        return t if t.status == "DONE" else None

    t = wait_until("the retried task", task_done, timeout=60)
    f.check("the retried task is DONE, retried once", t.retried_times == 1, str(t.retried_times))
    f.check("the round is DONE after the task retry",
            f.call("GetMmsJob (round)", mc.get_mms_job, sid, str(rnd.id)).data.status == "DONE")
    f.call("DeleteMmsTimer (incremental)", mc.delete_mms_timer, sid, timer_id)

    f.call("DeleteMmsJob", mc.delete_mms_job, sid, job_id)
    f.expect_error("GetMmsJob after delete", "JobNotFound", mc.get_mms_job, sid, job_id)

    # Tampered credentials are refused.
    f.expect_error("wrong secret", "SignatureDoesNotMatch", client(secret="not-the-secret").list_mms_data_sources,
                   m.ListMmsDataSourcesRequest())
    f.expect_error("unknown AccessKeyId", "InvalidAccessKeyId.NotFound",
                   client(key="LTAI5tNobodyKnowsThisKey").list_mms_data_sources, m.ListMmsDataSourcesRequest())


if __name__ == "__main__":
    Flow("mms_flow").run(flow)
