"""YAML-level checks of hack/check-addon.sh; `python hack/addon_checks.py <command> [args]`."""
import copy
import difflib
import glob
import json
import os
import re
import sys

import yaml

GROUP = "migration.aliyun-operator.dev"
KINDS = {"DataSource": "datasources", "MmsJob": "mmsjobs", "DtsMigration": "dtsmigrations", "Cutover": "cutovers",
         "DataWorksMigration": "dataworksmigrations"}
CHART = "charts/aliyun-migration-operator"
SKIP_KINDS = {  # kinds kubernetes-validate cannot know; everything else must validate
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}
BUILTIN_GROUPS = {"v1", "apps/v1", "policy/v1", "rbac.authorization.k8s.io/v1", "coordination.k8s.io/v1",
                  "apiextensions.k8s.io/v1", "networking.k8s.io/v1"}
problems = []


def read(path):
    with open(path) as f:
        return f.read()


def fail(msg):
    problems.append(msg)


def docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def index(objs):
    return {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objs}


def finish():
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


# --- builtin-only ------------------------------------------------------------------------------
def builtin_only(outdir, *paths):
    os.makedirs(outdir, exist_ok=True)
    n = 0
    for path in paths:
        for i, d in enumerate(docs(path)):
            api, kind = d.get("apiVersion"), d.get("kind")
            if (api, kind) in SKIP_KINDS or str(api).startswith(GROUP + "/"):
                continue
            if api not in BUILTIN_GROUPS:
                fail(f"{path}: {kind} has apiVersion {api}, neither built in nor known to be skipped")
                continue
            n += 1
            with open(os.path.join(outdir, f"{os.path.basename(path)}-{i}.yaml"), "w") as f:
                yaml.safe_dump(d, f)
    if n == 0:
        fail("nothing to validate")
    finish()


# --- rendered chart invariants -------------------------------------------------------------------
CONTROLLER_RULES = [
    {"apiGroups": [GROUP], "resources": ["datasources", "mmsjobs", "dtsmigrations", "cutovers", "dataworksmigrations"],
     "verbs": ["get", "list", "watch", "patch", "update"]},
    {"apiGroups": [GROUP], "resources": [f"{p}/status" for p in ["datasources", "mmsjobs", "dtsmigrations", "cutovers", "dataworksmigrations"]],
     "verbs": ["get", "patch", "update"]},
    {"apiGroups": [GROUP], "resources": [f"{p}/finalizers" for p in ["datasources", "mmsjobs", "dtsmigrations", "cutovers", "dataworksmigrations"]],
     "verbs": ["update"]},
    # By name only unless the chart value watchSecrets (then get, list, watch).
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
    {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
]
SELF_REVIEW = {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews"], "verbs": ["create"]}
LEASE_RULES = [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                "verbs": ["get", "list", "watch", "create", "update", "patch"]}]
# Credentials kept for deletionPolicy Delete, in the operator's own namespace only.
CLEANUP_RULES = [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "create", "patch", "delete"]}]


def container(objs):
    deps = [o for o in objs if o["kind"] == "Deployment"]
    if len(deps) != 1:
        fail(f"expected one Deployment, found {len(deps)}")
        return None, None
    return deps[0], deps[0]["spec"]["template"]["spec"]["containers"][0]


def common_invariants(name, objs):
    dep, c = container(objs)
    if not c:
        return
    pod = dep["spec"]["template"]["spec"]
    psc, csc = pod.get("securityContext", {}), c.get("securityContext", {})
    if not (psc.get("runAsNonRoot") and psc.get("runAsUser") == 65532):
        fail(f"{name}: pod must run as non-root uid 65532")
    if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        fail(f"{name}: seccompProfile RuntimeDefault missing")
    want = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True, "privileged": False}
    for k, v in want.items():
        if csc.get(k) != v:
            fail(f"{name}: container securityContext.{k} must be {v}")
    if csc.get("capabilities", {}).get("drop") != ["ALL"]:
        fail(f"{name}: capabilities must drop ALL")
    res = c.get("resources", {})
    for part in ("requests", "limits"):
        for r in ("cpu", "memory"):
            if r not in res.get(part, {}):
                fail(f"{name}: resources.{part}.{r} missing")
    probes = {p: c.get(p, {}).get("httpGet", {}) for p in ("livenessProbe", "readinessProbe", "startupProbe")}
    if probes["livenessProbe"].get("path") != "/healthz" or probes["readinessProbe"].get("path") != "/readyz":
        fail(f"{name}: liveness must probe /healthz and readiness /readyz")
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    args = c.get("args", [])
    if args[:1] != ["run"]:
        fail(f"{name}: args must start with the run subcommand: {args}")
    addr = [a for a in args if a.startswith("--metrics-addr=")]
    if not addr or addr[0].rsplit(":", 1)[1] != str(ports.get("metrics")):
        fail(f"{name}: --metrics-addr does not match the metrics container port")
    for p in probes.values():
        if p and p.get("port") != "metrics":
            fail(f"{name}: probes must use the metrics port")
    grace = [int(a.split("=")[1]) for a in args if a.startswith("--shutdown-grace-seconds=")]
    if not grace or pod.get("terminationGracePeriodSeconds", 30) < grace[0] + 5:
        fail(f"{name}: terminationGracePeriodSeconds must be >= --shutdown-grace-seconds + 5")
    envs = {e["name"]: e for e in c.get("env", [])}
    for e in ("POD_NAME", "POD_NAMESPACE"):
        if "fieldRef" not in envs.get(e, {}).get("valueFrom", {}):
            fail(f"{name}: {e} must come from the downward API")
    for e in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"):
        if e in envs and "value" in envs[e]:
            fail(f"{name}: {e} must come from a Secret, never a literal value")
    replicas = dep["spec"]["replicas"]
    leader = "--leader-elect" in args
    if replicas > 1 and not leader:
        fail(f"{name}: {replicas} replicas without --leader-elect")
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objs}
    lease_roles = [o for o in objs if o["kind"] == "Role" and o["metadata"]["name"].endswith("-leader-election")]
    if leader:
        if len(lease_roles) != 1 or lease_roles[0]["rules"] != LEASE_RULES:
            fail(f"{name}: leader election needs exactly the lease Role {LEASE_RULES}")
        elif lease_roles[0]["metadata"]["namespace"] != dep["metadata"]["namespace"]:
            fail(f"{name}: the lease Role must be in the operator's namespace")
    elif lease_roles:
        fail(f"{name}: lease Role without leader election")
    cleanup = [o for o in objs if o["kind"] == "Role" and o["metadata"]["name"].endswith("-cleanup-credentials")]
    if (len(cleanup) != 1 or cleanup[0]["rules"] != CLEANUP_RULES
            or cleanup[0]["metadata"]["namespace"] != dep["metadata"]["namespace"]):
        fail(f"{name}: exactly one cleanup-credentials Role granting {CLEANUP_RULES} in the operator's namespace")
    pdbs = [o for o in objs if o["kind"] == "PodDisruptionBudget"]
    if replicas > 1 and (len(pdbs) != 1 or pdbs[0]["spec"].get("minAvailable") != 1):
        fail(f"{name}: {replicas} replicas need a PodDisruptionBudget with minAvailable 1")
    if replicas == 1 and pdbs:
        fail(f"{name}: a PDB with a single replica blocks node drains")
    for o in objs:
        for r in o.get("rules", []) if o["kind"] in ("Role", "ClusterRole") else []:
            if "*" in r.get("verbs", []) or "*" in r.get("resources", []) or "*" in r.get("apiGroups", []):
                fail(f"{name}: wildcard in {o['kind']} {o['metadata']['name']}: {r}")
    # Every ServiceAccount the bindings name is the one the pods run as.
    sa = pod.get("serviceAccountName")
    for o in objs:
        if o["kind"] in ("RoleBinding", "ClusterRoleBinding"):
            for s in o["subjects"]:
                if (s["kind"], s["name"], s.get("namespace")) != ("ServiceAccount", sa, dep["metadata"]["namespace"]):
                    fail(f"{name}: {o['kind']} {o['metadata']['name']} binds {s}, not the operator's ServiceAccount")
    return dep, c, args, envs, kinds


def chart_invariants(renderdir):
    r = {os.path.basename(p)[:-5]: docs(p) for p in glob.glob(f"{renderdir}/*.yaml")}
    for name, objs in r.items():
        common_invariants(name, objs)

    d = r["default"]
    dep, c, args, envs, _kinds = common_invariants("default", d)
    if dep["spec"]["replicas"] != 2 or "--log-format=json" not in args:
        fail("default: 2 replicas with --log-format=json expected")
    crs = [o for o in d if o["kind"] == "ClusterRole"]
    if len(crs) != 1 or crs[0]["rules"] != CONTROLLER_RULES + [SELF_REVIEW]:
        fail("default: the ClusterRole must hold exactly the controllers' rules:\n" + yaml.safe_dump(crs))
    if any(o["kind"] == "Role" and o["metadata"]["name"].endswith("-cutover") for o in d):
        fail("default: no Cutover target may be granted by default")
    aff = dep["spec"]["template"]["spec"].get("affinity", {}).get("podAntiAffinity", {})
    if "requiredDuringSchedulingIgnoredDuringExecution" in aff or not aff:
        fail("default: anti-affinity must be soft (preferred)")
    for t in dep["spec"]["template"]["spec"].get("topologySpreadConstraints", []):
        if t["whenUnsatisfiable"] != "ScheduleAnyway":
            fail("default: topology spread must be soft (ScheduleAnyway)")
    if not [o for o in d if o["kind"] == "Service" and o["metadata"]["name"].endswith("-metrics")]:
        fail("default: metrics Service missing")

    other = r["other-release"]
    names = {o["metadata"]["name"] for o in other}
    if "amo-aliyun-migration-operator" not in names or any(o["metadata"].get("namespace") not in (None, "data-platform") for o in other):
        fail("other-release: names must derive from the release and objects live in its namespace")
    dep, c, args, envs, _kinds = common_invariants("other-release", other)
    if "--lease-name=amo-aliyun-migration-operator" not in args:
        fail("other-release: the Lease name must derive from the release (two releases, two Leases)")

    ns = r["namespaced"]
    dep, c, args, envs, _kinds = common_invariants("namespaced", ns)
    if "--namespace=shop" not in args:
        fail("namespaced: --namespace=shop missing")
    roles = [o for o in ns if o["kind"] == "Role" and o["metadata"]["name"] == "aliyun-migration-operator"]
    if len(roles) != 1 or roles[0]["metadata"]["namespace"] != "shop" or roles[0]["rules"] != CONTROLLER_RULES:
        fail("namespaced: the controllers' rules must be a Role in namespace shop")
    for o in ns:
        if o["kind"] == "ClusterRole" and o["rules"] != [SELF_REVIEW]:
            fail(f"namespaced: ClusterRole {o['metadata']['name']} grants more than SelfSubjectAccessReview")

    w = r["rrsa-webhook"]
    sa = next(o for o in w if o["kind"] == "ServiceAccount")
    if sa["metadata"].get("annotations", {}).get("pod-identity.alibabacloud.com/role-name") != "amo-operator":
        fail("rrsa-webhook: ServiceAccount annotation pod-identity.alibabacloud.com/role-name missing")
    dep, c, args, envs, _kinds = common_invariants("rrsa-webhook", w)
    if "ALIBABA_CLOUD_ROLE_ARN" in envs:
        fail("rrsa-webhook: the webhook injects the env; the chart must not")

    m = r["rrsa-manual"]
    dep, c, args, envs, _kinds = common_invariants("rrsa-manual", m)
    token = "/var/run/secrets/ack.alibabacloud.com/rrsa-tokens/token"
    if envs.get("ALIBABA_CLOUD_OIDC_TOKEN_FILE", {}).get("value") != token:
        fail("rrsa-manual: ALIBABA_CLOUD_OIDC_TOKEN_FILE")
    for e in ("ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN"):
        if not envs.get(e, {}).get("value"):
            fail(f"rrsa-manual: {e} missing")
    mounts = {v["mountPath"]: v for v in c.get("volumeMounts", [])}
    vols = {v["name"]: v for v in dep["spec"]["template"]["spec"].get("volumes", [])}
    mount = mounts.get(os.path.dirname(token))
    if not mount or not mount.get("readOnly"):
        fail("rrsa-manual: token volume must be mounted read-only at " + os.path.dirname(token))
    else:
        src = vols[mount["name"]]["projected"]["sources"][0]["serviceAccountToken"]
        if src.get("audience") != "sts.aliyuncs.com" or src.get("path") != "token":
            fail("rrsa-manual: projected token needs audience sts.aliyuncs.com and path token")
    for e in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"):
        ref = envs.get(e, {}).get("valueFrom", {}).get("secretKeyRef", {})
        if ref.get("name") != "amo-operator-access-key":
            fail(f"rrsa-manual: {e} must come from Secret amo-operator-access-key")

    mon = r["monitoring"]
    common_invariants("monitoring", mon)
    sm = [o for o in mon if o["kind"] == "ServiceMonitor"]
    svc = [o for o in mon if o["kind"] == "Service"]
    if len(sm) != 1 or len(svc) != 1:
        fail("monitoring: one ServiceMonitor and one Service expected")
    else:
        sel = sm[0]["spec"]["selector"]["matchLabels"]
        if any(svc[0]["metadata"]["labels"].get(k) != v for k, v in sel.items()):
            fail("monitoring: the ServiceMonitor does not select the metrics Service")
        if sm[0]["spec"]["endpoints"][0]["port"] not in [p["name"] for p in svc[0]["spec"]["ports"]]:
            fail("monitoring: the ServiceMonitor port is not a port of the Service")
        if sm[0]["metadata"]["labels"].get("release") != "kube-prometheus-stack":
            fail("monitoring: serviceMonitor.labels not applied")
    netpol = [o for o in mon if o["kind"] == "NetworkPolicy"]
    if len(netpol) != 1 or [p["port"] for r in netpol[0]["spec"]["ingress"] for p in r["ports"]] != ["metrics"]:
        fail("monitoring: the NetworkPolicy must admit the metrics port and nothing else")
    if any(o["kind"] == "NetworkPolicy" for o in d):
        fail("default: no NetworkPolicy unless enabled")
    rules = [o for o in mon if o["kind"] == "PrometheusRule"]
    if len(rules) != 1:
        fail("monitoring: PrometheusRule missing")

    ct = r["cutover-targets"]
    common_invariants("cutover-targets", ct)
    cut = {o["metadata"]["namespace"]: o for o in ct if o["kind"] == "Role" and o["metadata"]["name"].endswith("-cutover")}
    if set(cut) != {"shop", "billing"}:
        fail(f"cutover-targets: Roles expected in shop and billing, found {sorted(cut)}")
    for nsname, role in cut.items():
        for rule in role["rules"]:
            if rule["verbs"] != ["create"] and not rule.get("resourceNames"):
                fail(f"cutover-targets: {nsname}: {rule} is not limited by resourceNames")
            if rule["verbs"] == ["create"] and rule["resources"] != ["secrets"]:
                fail(f"cutover-targets: {nsname}: only secrets may be created ({rule})")

    single = r["single-replica"]
    dep, c, args, envs, _kinds = common_invariants("single-replica", single)
    if "--log-format=text" not in args or not any(a.startswith("--cloud-endpoint=") for a in args):
        fail("single-replica: --log-format=text and --cloud-endpoint expected")
    finish()


# --- chart defaults == config/default, and friends -----------------------------------------------
def normalize(o):
    o = copy.deepcopy(o)
    o["metadata"].pop("labels", None)
    o["metadata"].pop("annotations", None)
    tmpl = o.get("spec", {}).get("template", {}).get("metadata") if isinstance(o.get("spec"), dict) else None
    if tmpl:
        tmpl.pop("labels", None)
        tmpl.pop("annotations", None)
    return o


def compare(label, chart_objs, kustomize_objs, ignore_kinds=()):
    a = {k: normalize(v) for k, v in index(chart_objs).items() if k[0] not in ignore_kinds}
    b = {k: normalize(v) for k, v in index(kustomize_objs).items() if k[0] not in ignore_kinds}
    for k in sorted(set(a) | set(b), key=str):
        if k not in a:
            fail(f"{label}: {k} only in the kustomize output")
        elif k not in b:
            fail(f"{label}: {k} only in the chart")
        elif a[k] != b[k]:
            diff = difflib.unified_diff(yaml.safe_dump(a[k]).splitlines(), yaml.safe_dump(b[k]).splitlines(),
                                        "chart", "kustomize", lineterm="", n=2)
            fail(f"{label}: {k} differs (labels and annotations aside):\n" + "\n".join(diff))


def equivalence(render, kustomize):
    compare("config/default vs chart defaults", docs(f"{render}/default-crds.yaml"), docs(f"{kustomize}/default.yaml"),
            ignore_kinds=("Namespace",))
    # config/rbac: the RBAC part of the chart defaults, plus the namespace.
    rbac_kinds = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
    compare("config/rbac vs chart defaults", [o for o in docs(f"{render}/default.yaml") if o["kind"] in rbac_kinds],
            [o for o in docs(f"{kustomize}/rbac.yaml") if o["kind"] != "Namespace"])
    compare("config/prometheus vs chart monitoring",
            [o for o in docs(f"{render}/monitoring.yaml") if o["kind"] in ("ServiceMonitor", "PrometheusRule")],
            docs(f"{kustomize}/prometheus.yaml"))
    # The example Cutover Role is what cutoverTargets renders for its first entry.
    example = docs("config/rbac/cutover-role-example.yaml")
    rendered = [o for o in docs(f"{render}/cutover-targets.yaml")
                if o["kind"] in ("Role", "RoleBinding") and o["metadata"]["name"].endswith("-cutover")
                and o["metadata"]["namespace"] == "shop"]
    compare("config/rbac/cutover-role-example.yaml vs chart cutoverTargets", rendered, example)

    rbac = docs(f"{kustomize}/rbac.yaml")
    # config/rbac is what the e2e tests apply before anything else: only core APIs, no CRDs.
    allowed = {"v1", "rbac.authorization.k8s.io/v1", "coordination.k8s.io/v1"}
    for o in rbac:
        if o["apiVersion"] not in allowed:
            fail(f"config/rbac: {o['kind']} {o['apiVersion']} is not a core RBAC or lease API")
    sa_binding = [o for o in rbac if o["kind"] == "ClusterRoleBinding"]
    want = {"kind": "ServiceAccount", "name": "aliyun-migration-operator", "namespace": "amo-system"}
    if len(sa_binding) != 1 or sa_binding[0]["subjects"] != [want]:
        fail(f"config/rbac: the ClusterRole must be bound to {want}")
    le = [o for o in rbac if o["kind"] in ("Role", "RoleBinding")]
    if len(le) != 4 or any(o["metadata"]["namespace"] != "amo-system" for o in le):
        fail("config/rbac: the leader-election and cleanup-credentials Roles/RoleBindings must live in amo-system")
    if not any(o["kind"] == "Namespace" and o["metadata"]["name"] == "amo-system" for o in rbac):
        fail("config/rbac: Namespace amo-system missing (needed to apply it on its own)")

    argocd = [o for o in docs(f"{kustomize}/argocd.yaml") if o["kind"] == "ConfigMap"]
    data = argocd[0]["data"] if len(argocd) == 1 else {}
    if argocd and argocd[0]["metadata"]["name"] != "argocd-cm":
        fail("config/argocd: the component must keep the name argocd-cm")
    if data.get("url") != "https://argocd.example.com":
        fail("config/argocd: the component must merge into argocd-cm, not replace it")
    for kind in KINDS:
        key = f"resource.customizations.health.{GROUP}_{kind}"
        if data.get(key) != read(f"config/argocd/{GROUP}/{kind}/health.lua"):
            fail(f"config/argocd: {key} is not {kind}/health.lua")
    actions = yaml.safe_load(data.get(f"resource.customizations.actions.{GROUP}_Cutover", "{}"))
    if not actions or actions.get("discovery.lua") != read(f"config/argocd/{GROUP}/Cutover/actions/discovery.lua"):
        fail("config/argocd: the Cutover actions key is missing or stale")
    finish()


# --- values.schema.json and template guards reject bad values ------------------------------------
def reject_cases():
    # name, helm --set/--set-string/-f arguments, text the error must contain
    cases = [
        ("unknown logFormat", ["--set", "logFormat=xml"], "logFormat"),
        ("replicaCount not an integer", ["--set-string", "replicaCount=two"], "replicaCount"),
        ("inline access key", ["--set", "credentials.environment.accessKeyId=LTAI5tExampleKeyId"], "accessKeyId"),
        ("typo in a key", ["--set", "leaderElection.enable=true"], "enable"),
        ("malformed role ARN", ["--set", "credentials.rrsa.enabled=true", "--set", "credentials.rrsa.injectedByWebhook=false",
                                "--set", "credentials.rrsa.roleArn=amo-operator",
                                "--set", "credentials.rrsa.oidcProviderArn=acs:ram::1:oidc-provider/x"], "roleArn"),
        ("RRSA without the webhook and without ARNs", ["--set", "credentials.rrsa.enabled=true",
                                                       "--set", "credentials.rrsa.injectedByWebhook=false"], "roleArn"),
        ("wildcard verb in cutoverTargets", ["--set", "cutoverTargets[0].namespace=shop",
                                             "--set", "cutoverTargets[0].extraRules[0].apiGroups[0]=apps",
                                             "--set", "cutoverTargets[0].extraRules[0].resources[0]=deployments",
                                             "--set", "cutoverTargets[0].extraRules[0].verbs[0]=*"], "verbs"),
        ("two replicas without leader election", ["--set", "leaderElection.enabled=false"], "leaderElection.enabled"),
        ("grace period shorter than shutdown grace + 5", ["--set", "terminationGracePeriodSeconds=20"], "terminationGracePeriodSeconds"),
        ("cutover target outside the watched namespace", ["--set", "watchNamespace=shop",
                                                         "--set", "cutoverTargets[0].namespace=billing"], "not watched"),
        ("a log level RUST_LOG does not know", ["--set", "logLevel=verbose"], "logLevel"),
        ("a directive without a level", ["--set-string", "logLevel=info\\,aliyun_migration_operator"], "logLevel"),
        ("an empty image tag", ["--set-string", "image.tag="], "tag"),
        ("an image tag with a space", ["--set-string", "image.tag=1.0 beta"], "tag"),
        ("ServiceMonitor without the metrics Service", ["--set", "metrics.serviceMonitor.enabled=true",
                                                       "--set", "metrics.service.enabled=false"], "metrics.service.enabled"),
    ]
    print(json.dumps(cases))


# --- Argo CD ---------------------------------------------------------------------------------------
LUA_TABLE = re.compile(r"^local\s+([A-Z_]+)\s*=\s*\{(.*?)\}", re.DOTALL | re.MULTILINE)


def crd(kind):
    with open(f"crds/{KINDS[kind]}.yaml") as f:
        return yaml.safe_load(f)


def phase_tables():
    for kind, plural in KINDS.items():
        enum = set(crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]
                   ["properties"]["phase"]["enum"])
        src = read(f"config/argocd/{GROUP}/{kind}/health.lua")
        seen = {}
        for table, body in LUA_TABLE.findall(src):
            for phase in re.findall(r"([A-Za-z]+)\s*=\s*true", body):
                if phase in seen:
                    fail(f"{kind}: phase {phase} in both {seen[phase]} and {table}")
                seen[phase] = table
        unknown = set(seen) - enum
        missing = enum - set(seen)
        if unknown:
            fail(f"{kind}/health.lua names phases the CRD does not have: {sorted(unknown)}")
        if missing:
            fail(f"{kind}/health.lua does not classify phases {sorted(missing)} (crds/{plural}.yaml)")
        for phrase in re.findall(r'phase [=~]= "([A-Za-z]+)"', src):
            if phrase not in enum:
                fail(f"{kind}/health.lua compares with unknown phase {phrase}")
        # Action discovery scripts enable actions by phase: their phase names must exist too.
        discovery = f"config/argocd/{GROUP}/{kind}/actions/discovery.lua"
        if os.path.exists(discovery):
            dsrc = read(discovery)
            named = {p for _, body in LUA_TABLE.findall(dsrc) for p in re.findall(r"([A-Za-z]+)\s*=\s*true", body)}
            named |= set(re.findall(r'phase [=~]= "([A-Za-z]+)"', dsrc))
            if named - enum:
                fail(f"{discovery} names phases the CRD does not have: {sorted(named - enum)}")
    finish()


def lua_block(src, first_line, ends):
    """The lines of `src` from the one starting with `first_line` through its `ends`-th `end`."""
    lines = src.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(first_line)]
    if len(starts) != 1:
        return None
    block, closed = [], 0
    for line in lines[starts[0]:]:
        block.append(line)
        closed += line == "end"
        if closed == ends:
            return "\n".join(block)
    return None


# The blocks every health.lua carries word for word (a fix to one is a fix to all), as
# (first line, how many top-level `end`s close it, the kinds that must carry it).
SHARED_LUA = [
    ("local function condition(", 1, KINDS),
    ("local function first(", 1, KINDS),
    ("-- One rule on every kind: Stalled=True", 1, KINDS),
    # Only kinds with a Healthy phase that shows live cloud values need the Synced rule.
    ("-- Synced=False: the last reconcile", 1, ("DataSource", "DtsMigration")),
]


def lua_shared():
    for first_line, ends, kinds in SHARED_LUA:
        blocks = {}
        for kind in KINDS:
            src = read(f"config/argocd/{GROUP}/{kind}/health.lua")
            block = lua_block(src, first_line, ends)
            if kind in kinds and block is None:
                fail(f"{kind}/health.lua lacks the shared block starting {first_line!r}")
            elif kind not in kinds and block is not None:
                fail(f"{kind}/health.lua carries the block starting {first_line!r}, which it does not use")
            elif block is not None:
                blocks[kind] = block
        variants = {}
        for kind, block in blocks.items():
            variants.setdefault(block, []).append(kind)
        if len(variants) > 1:
            (a, ka), (b, kb) = list(variants.items())[:2]
            diff = "\n".join(difflib.unified_diff(a.splitlines(), b.splitlines(), "/".join(ka), "/".join(kb),
                                                   lineterm=""))
            fail(f"the block starting {first_line!r} differs between health.lua files:\n{diff}")
    # A variable a script assigns but never reads is a rule that was meant and not applied.
    for kind in KINDS:
        src = read(f"config/argocd/{GROUP}/{kind}/health.lua")
        for name in re.findall(r"^local ([a-z][A-Za-z]*) = ", src, re.MULTILINE):
            if not re.search(rf"\b{name}\b(?!\s*=[^=])", src.split(f"local {name} = ", 1)[1]):
                fail(f"{kind}/health.lua assigns {name} and never reads it")
    finish()


def strict(schema):
    """The CRD schema with unknown fields forbidden: a field the API server would prune is a typo."""
    schema = copy.deepcopy(schema)

    def walk(s):
        if isinstance(s, dict):
            if s.get("type") == "object" and "properties" in s and "additionalProperties" not in s \
                    and not s.get("x-kubernetes-preserve-unknown-fields"):
                s["additionalProperties"] = False
            for v in s.values():
                walk(v)
        elif isinstance(s, list):
            for v in s:
                walk(v)
    walk(schema)
    return schema


def testdata_schema():
    from openapi_schema_validator import OAS30Validator
    count = 0
    for kind in KINDS:
        schema = strict(crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
        schema["properties"]["metadata"] = {"type": "object", "required": ["name", "namespace", "generation", "uid"]}
        schema["properties"]["apiVersion"] = {"type": "string", "enum": [f"{GROUP}/v1alpha1"]}
        schema["properties"]["kind"] = {"type": "string", "enum": [kind]}
        schema["required"] = ["apiVersion", "kind", "metadata", "spec"]
        validator = OAS30Validator(schema)
        files = glob.glob(f"config/argocd/{GROUP}/{kind}/**/*.yaml", recursive=True)
        files = [f for f in files if "/testdata/" in f]
        if len([f for f in files if "/actions/" not in f]) < 4:
            fail(f"{kind}: fewer than 4 health test inputs")
        for path in files:
            for d in docs(path):
                if d.get("kind") != kind or d.get("apiVersion") != f"{GROUP}/v1alpha1":
                    fail(f"{path}: not a {GROUP}/v1alpha1 {kind}")
                    continue
                for err in validator.iter_errors(d):
                    fail(f"{path}: {'.'.join(map(str, err.absolute_path))}: {err.message}")
                count += 1
    print(f"{count} test objects checked against crds/")
    finish()


def block(text, indent):
    pad = " " * indent
    return "".join((pad + line if line.strip() else "\n") if line != "\n" else "\n"
                   for line in text.splitlines(True))


def argocd_actions():
    """config/argocd/cutover-actions.yaml: the argocd-cm value for the Cutover actions."""
    base = f"config/argocd/{GROUP}/Cutover/actions"
    out = ["# Generated by `hack/check-addon.sh --sync` from " + base + "/;",
           "# do not edit. The value of argocd-cm key resource.customizations.actions." + GROUP + "_Cutover.",
           "discovery.lua: |", block(read(f"{base}/discovery.lua"), 2).rstrip("\n"), "definitions:"]
    for name in sorted(os.listdir(base)):
        script = f"{base}/{name}/action.lua"
        if os.path.isfile(script):
            out += [f"  - name: {name}", "    action.lua: |", block(read(script), 6).rstrip("\n")]
    text = "\n".join(out) + "\n"
    parsed = yaml.safe_load(text)
    assert parsed["discovery.lua"] == read(f"{base}/discovery.lua")
    for d in parsed["definitions"]:
        assert d["action.lua"] == read(f"{base}/{d['name']}/action.lua"), d["name"]
    sys.stdout.write(text)


def promql(*paths):
    import promql_parser
    n = 0
    for path in paths:
        for d in docs(path):
            if d["kind"] != "PrometheusRule":
                continue
            for group in d["spec"]["groups"]:
                for rule in group["rules"]:
                    n += 1
                    try:
                        promql_parser.parse(rule["expr"])
                    except Exception as e:  # noqa: BLE001 (the parser raises plain exceptions)
                        fail(f"{path}: {rule.get('alert')}: {e}")
    if n == 0:
        fail("no alert rules found")
    print(f"{n} rules parse")
    finish()


# --- Dockerfile buildable by construction --------------------------------------------------------
def dockerfile():
    import tomllib
    text = read("Dockerfile")
    cargo = tomllib.loads(read("Cargo.toml"))
    copies = re.findall(r"^COPY\s+(?!--from)(.+?)\s+\S+$", text, re.MULTILINE)
    copied = [p for line in copies for p in line.split()]
    if "build" in cargo.get("package", {}) or os.path.exists("build.rs"):
        fail("Cargo.toml has a build script; the Dockerfile must copy it")
    if "workspace" in cargo:
        fail("Cargo.toml declares a workspace; the Dockerfile copies a single crate")
    for section in ("dependencies", "build-dependencies"):
        for name, dep in cargo.get(section, {}).items():
            if isinstance(dep, dict) and ("path" in dep or "git" in dep):
                fail(f"dependency {name} comes from a path or git: not reachable in the image build")
    targets = [cargo.get("lib", {}).get("path", "src/lib.rs")] + [b["path"] for b in cargo.get("bin", [])]
    for t in targets:
        if not t.startswith("src/"):
            fail(f"target {t} is outside src/, which is all the Dockerfile copies")
        if f"src/{os.path.basename(t)}" != t or os.path.basename(t) not in text:
            fail(f"the dependency-caching step must create a placeholder for {t}")
    for needed in ("Cargo.toml", "Cargo.lock", "src"):
        if needed not in copied:
            fail(f"Dockerfile does not COPY {needed}")
    builds = re.findall(r"cargo build[^\n]*", text)
    if not builds or any("--locked" not in b or "--release" not in b for b in builds):
        fail("every cargo build must use --locked --release (the image builds what Cargo.lock pins)")
    if any("--no-default-features" not in b for b in builds):
        fail("every cargo build must use --no-default-features (no simulator or sandbox in the image)")
    bins = [b["name"] for b in cargo.get("bin", [])]
    if f'ENTRYPOINT ["/{bins[0]}"]' not in text or 'CMD ["run"]' not in text:
        fail("ENTRYPOINT/CMD must run the operator binary with the run subcommand")
    final = text.split("\nFROM ")[-1]
    if not re.search(r"^USER\s+65532", final, re.MULTILINE):
        fail("the final stage must run as uid 65532")
    # Files the crate embeds at compile time must be in the build context and copied.
    ignore = [line.strip() for line in read(".dockerignore").splitlines() if line.strip() and not line.startswith("#")]
    def shipped(target):
        in_copy = any(target == c or target.startswith(c.rstrip("/") + "/") for c in copied)
        in_context = ignore[:1] != ["*"] or any(
            target == i[1:].rstrip("/") or target.startswith(i[1:].rstrip("/") + "/")
            for i in ignore if i.startswith("!"))
        return in_copy and in_context
    for rs in glob.glob("src/**/*.rs", recursive=True):
        if rs.startswith(("src/sim/", "src/sandbox/")):
            continue  # behind the feature `sim`, which the image does not build
        source = read(rs)
        test_only = os.path.basename(rs) == "tests.rs" or "/tests/" in rs
        # An inline `#[cfg(test)] mod tests` block: embeds after it are test-only.
        test_block = re.search(r"#\[cfg\(test\)\]\s*mod\s+tests\s*\{", source)
        for m in re.finditer(r'include_(?:str|bytes)!\(\s*"([^"]+)"', source):
            target = os.path.normpath(os.path.join(os.path.dirname(rs), m.group(1)))
            if test_only or (test_block and m.start() > test_block.start()):
                continue
            if not shipped(target):
                fail(f"{rs} embeds {target}, outside what the Dockerfile copies")
    for needed in ("!Cargo.toml", "!Cargo.lock", "!src/"):
        if ignore[:1] == ["*"] and needed not in ignore:
            fail(f".dockerignore excludes everything but does not re-include {needed[1:]}")
    if "target" not in " ".join(ignore) and ignore[:1] != ["*"]:
        fail(".dockerignore must exclude target/")
    finish()


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {
        "builtin-only": builtin_only, "chart-invariants": chart_invariants, "equivalence": equivalence,
        "reject-cases": reject_cases, "phase-tables": phase_tables, "lua-shared": lua_shared, "testdata-schema": testdata_schema,
        "argocd-actions": argocd_actions, "promql": promql, "dockerfile": dockerfile,
    }[cmd](*args)
