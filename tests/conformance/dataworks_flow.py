"""DataWorks Migration Assistant flow through the official DataWorks SDK (dataworks-public
2020-05-18): export a workspace, download the package from the export's pre-signed URL, upload
it with the SDK's own CreateImportMigrationAdvance (OpenPlatform AuthorizeFileUpload, the OSS
form POST, then CreateImportMigration with the uploaded object), import it into another
workspace, and check the status values, steps, listings and refusals on the way.

The Advance flow sends its OSS form POST over HTTPS to `<Bucket>.<Endpoint>` (hard-coded in
the SDK); offline there is neither DNS for that host nor TLS in the simulator. `oss_to_simulator`
changes only the transport of that one request (plain HTTP through the simulator as an HTTP
proxy, the Host header unchanged): the form, its fields and the PackageFile URL the SDK derives
from the grant are the SDK's own.
"""

import io
import json
import urllib.request

from alibabacloud_dataworks_public20200518 import models as m
from alibabacloud_dataworks_public20200518.client import Client
from alibabacloud_tea_openapi.models import Config
from darabonba.core import DaraCore
from darabonba.runtime import RuntimeOptions

from harness import AK_ID, AK_SECRET, ENDPOINT, Flow, admin, wait_until

SOURCE = 10001  # sales_dev in the demo scenario
TARGET = 10002  # sales_prod
ENGINES = json.dumps({"ODPS": {"sales_dev_odps": "sales_prod_odps"}})
OSS_POSTS = []


def oss_to_simulator():
    """Routes the SDK's HTTPS form POST to `<bucket>.oss-*.aliyuncs.com` to the simulator."""
    original = DaraCore.do_action

    def do_action(request, runtime_option=None):
        host = (request.headers or {}).get("host", "")
        if ".oss-" in host and host.endswith(".aliyuncs.com"):
            OSS_POSTS.append({"host": host, "method": request.method,
                              "content_type": request.headers.get("content-type", "")})
            request.protocol = "HTTP"
            runtime_option = dict(runtime_option or {}, httpProxy=f"http://{ENDPOINT}")
        return original(request, runtime_option)

    DaraCore.do_action = staticmethod(do_action)


def client():
    cfg = Config(access_key_id=AK_ID, access_key_secret=AK_SECRET, endpoint=ENDPOINT,
                 protocol="http", region_id="cn-hangzhou", open_platform_endpoint=ENDPOINT)
    c = Client(cfg)
    # alibabacloud_tea_openapi 0.4.6 declares Config.open_platform_endpoint but never copies it
    # to the client attribute the Advance flow reads (it would call openplatform.aliyuncs.com).
    c._open_platform_endpoint = ENDPOINT
    return c


def download(url):
    """GET of the export's pre-signed URL (not an SDK call: the SDK has none for it), over
    plain HTTP through the simulator like the OSS POST above."""
    url = "http://" + url.split("://", 1)[1]
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": f"http://{ENDPOINT}"}))
    with opener.open(url, timeout=10) as r:
        return r.read()


def refused(f, what, code, fn, *args):
    """A business refusal: HTTP 200 with `Success: false` and `ErrorCode`
    (docs/cloud-apis.md#dataworks-wire-quirks; some models, e.g. CreateExportMigration's,
    declare no ErrorCode, so the raw body is read), or a gateway error the SDK raises, with
    `code` either way."""
    f.last_raw = None
    try:
        body = fn(*args).body
    except Exception as e:  # noqa: BLE001 - the SDK raises gateway errors
        f.check(f"{what} -> {code}", getattr(e, "code", None) == code, str(e))
        return
    raw = f.last_raw or {}
    f.check(f"{what} -> Success false, {code}",
            body.success is False and raw.get("Success") is False and raw.get("ErrorCode") == code, raw)


def wait_status(f, dw, project, mid, done):
    def poll():
        d = f.call(f"GetMigrationSummary {mid}", dw.get_migration_summary,
                   m.GetMigrationSummaryRequest(project_id=project, migration_id=mid)).data
        return d if d.status in done else None

    return wait_until(f"task {mid} in {done}", poll, timeout=60, interval=0.5)


def flow(f):
    oss_to_simulator()
    dw = f.spy(client())

    # Export sales_dev.
    body = f.call("CreateExportMigration FULL", dw.create_export_migration,
                  m.CreateExportMigrationRequest(project_id=SOURCE, name="sdk_export_1", export_mode="FULL",
                                                 export_object_status="SAVED", description="sdk conformance"))
    export_id = body.data
    f.check("export id is a number", isinstance(export_id, int) and export_id > 0)
    d = f.call("GetMigrationSummary (created)", dw.get_migration_summary,
               m.GetMigrationSummaryRequest(project_id=SOURCE, migration_id=export_id)).data
    f.check("a new export waits in INIT", d.status == "INIT" and d.name == "sdk_export_1", d.status)
    refused(f, "CreateExportMigration with a taken name", "1100010409", dw.create_export_migration,
                   m.CreateExportMigrationRequest(project_id=SOURCE, name="sdk_export_1", export_mode="FULL"))
    refused(f, "CreateExportMigration INCREMENTAL without IncrementalSince", "MissingParameter",
                   dw.create_export_migration,
                   m.CreateExportMigrationRequest(project_id=SOURCE, name="sdk_export_2", export_mode="INCREMENTAL"))
    started = f.call("StartMigration (export)", dw.start_migration,
                     m.StartMigrationRequest(project_id=SOURCE, migration_id=export_id))
    f.check("StartMigration answers Data true", started.data is True)
    d = wait_status(f, dw, SOURCE, export_id, {"EXPORT_SUCCESS", "EXPORT_ERROR"})
    f.check("export succeeded with a pre-signed .zip URL",
            d.status == "EXPORT_SUCCESS" and ".zip?" in (d.download_url or "") and "Signature=" in d.download_url,
            d.status)
    steps = f.call("GetMigrationProcess (export)", dw.get_migration_process,
                   m.GetMigrationProcessRequest(project_id=SOURCE, migration_id=export_id)).data
    f.check("every export step SUCCESS", steps and all(s.task_status == "SUCCESS" for s in steps),
            [(s.task_name, s.task_status) for s in steps])
    listed = f.call("ListMigrations EXPORT", dw.list_migrations,
                    m.ListMigrationsRequest(project_id=SOURCE, migration_type="EXPORT", page_number=1, page_size=10))
    f.check("ListMigrations pages the export",
            listed.data.total_count >= 1 and any(x.id == export_id and x.migration_type == "EXPORT"
                                                 for x in listed.data.migrations))
    package = download(d.download_url)
    f.check("the package is a zip", package[:2] == b"PK", package[:8])

    # Import it into sales_prod through the SDK's Advance upload.
    runtime = RuntimeOptions()
    request = m.CreateImportMigrationAdvanceRequest(
        project_id=TARGET, name="sdk_import_1", package_type="DATAWORKS_MODEL",
        package_file_object=io.BytesIO(package), calculate_engine_map=ENGINES,
        resource_group_map=json.dumps({"SCHEDULER_RESOURCE_GROUP": {"group_sales_dev": "group_sales_prod"}}),
        workspace_map=json.dumps({"sales_dev": "sales_prod"}),
        commit_rule=json.dumps({"resourceAutoCommit": True, "functionAutoCommit": True}),
        description="sdk conformance")
    body = f.call("CreateImportMigrationAdvance (AuthorizeFileUpload, OSS POST, CreateImportMigration)",
                  dw.create_import_migration_advance, request, runtime)
    import_id = body.data
    f.check("the SDK posted the package to the granted bucket once",
            len(OSS_POSTS) == 1 and OSS_POSTS[0]["method"] == "POST"
            and OSS_POSTS[0]["content_type"].startswith("multipart/form-data"), OSS_POSTS)
    tasks = {t["id"]: t for t in admin("GET", "/dataworks/migrations")}
    package_file = tasks[import_id]["packageFile"]
    f.check("PackageFile is the SDK's http://<bucket>.<endpoint>/<key>",
            package_file.startswith("http://") and OSS_POSTS[0]["host"] in package_file and "?" not in package_file,
            package_file)
    d = f.call("GetMigrationSummary (import created)", dw.get_migration_summary,
               m.GetMigrationSummaryRequest(project_id=TARGET, migration_id=import_id)).data
    f.check("a new import is EDITING", d.status == "EDITING", d.status)
    f.call("StartMigration (import)", dw.start_migration,
           m.StartMigrationRequest(project_id=TARGET, migration_id=import_id))
    d = wait_status(f, dw, TARGET, import_id, {"IMPORT_SUCCESS", "IMPORT_ERROR", "PARTIAL_SUCCESS"})
    f.check("import succeeded", d.status == "IMPORT_SUCCESS", d.status)
    steps = f.call("GetMigrationProcess (import)", dw.get_migration_process,
                   m.GetMigrationProcessRequest(project_id=TARGET, migration_id=import_id)).data
    f.check("steps start with IMPORE_PREPARE (sic) and all succeeded",
            steps[0].task_name == "IMPORE_PREPARE" and all(s.task_status == "SUCCESS" for s in steps),
            [(s.task_name, s.task_status) for s in steps])
    ws = {w["id"]: w for w in admin("GET", "/state")["dataworks"]["workspaces"]}
    f.check("sales_prod holds the exported workflows", len(ws[TARGET]["imported"]) == 2, ws[TARGET])
    refused(f, "StartMigration on a finished import", "1100010400", dw.start_migration,
                   m.StartMigrationRequest(project_id=TARGET, migration_id=import_id))

    # A package whose engine instance has no mapping fails the import; StartMigration on the
    # IMPORT_ERROR task re-imports (the simulator's reading of the console's Re-import).
    request.name = "sdk_import_2"
    request.calculate_engine_map = json.dumps({"ODPS": {"other_odps": "sales_prod_odps"}})
    request.package_file_object = io.BytesIO(package)
    bad_id = f.call("CreateImportMigrationAdvance without the engine mapping",
                    dw.create_import_migration_advance, request, runtime).data
    f.call("StartMigration (unmapped import)", dw.start_migration,
           m.StartMigrationRequest(project_id=TARGET, migration_id=bad_id))
    d = wait_status(f, dw, TARGET, bad_id, {"IMPORT_SUCCESS", "IMPORT_ERROR", "PARTIAL_SUCCESS"})
    f.check("an unmapped engine instance fails the import", d.status == "IMPORT_ERROR", d.status)
    listed = f.call("ListMigrations IMPORT", dw.list_migrations,
                    m.ListMigrationsRequest(project_id=TARGET, migration_type="IMPORT"))
    failed = [x for x in listed.data.migrations if x.id == bad_id]
    f.check("ListMigrations carries the failure message naming the instance",
            failed and "sales_dev_odps" in (failed[0].message or ""), failed and failed[0].message)
    f.call("StartMigration on IMPORT_ERROR (re-import)", dw.start_migration,
           m.StartMigrationRequest(project_id=TARGET, migration_id=bad_id))
    d = wait_status(f, dw, TARGET, bad_id, {"IMPORT_SUCCESS", "IMPORT_ERROR", "PARTIAL_SUCCESS"})
    f.check("the re-import fails again for the same reason", d.status == "IMPORT_ERROR", d.status)

    # Refusals: unknown package type, a package that is not in OSS.
    refused(f, "CreateImportMigration with an unknown PackageType", "InvalidParameter",
                   dw.create_import_migration,
                   m.CreateImportMigrationRequest(project_id=TARGET, name="sdk_import_3", package_type="ZIP",
                                                  package_file=package_file, calculate_engine_map=ENGINES))
    refused(f, "CreateImportMigration with a package not in OSS", "InvalidParameter",
                   dw.create_import_migration,
                   m.CreateImportMigrationRequest(project_id=TARGET, name="sdk_import_4",
                                                  package_type="DATAWORKS_MODEL",
                                                  package_file="http://nowhere.oss-cn-hangzhou.aliyuncs.com/x.zip",
                                                  calculate_engine_map=ENGINES))


if __name__ == "__main__":
    Flow("dataworks_flow").run(flow)
