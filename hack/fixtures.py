#!/usr/bin/env python3
"""Live fixtures for the Argo CD health checks: objects the operator really wrote.

    fixtures.py record --kubeconfig K --out DIR   watch every kind of the API group on a cluster
                                                  (the e2e suite's) until SIGTERM/SIGINT and keep
                                                  one object per distinct state
    fixtures.py install --from DIR                replace config/argocd/<group>/<Kind>/testdata/live/
    fixtures.py table --lua BIN [--check]         run each kind's health.lua on its live fixtures
                                                  (Argo CD's engine, hack/argocd-lua) and write the
                                                  table of health per state into docs/argocd.md;
                                                  with --check, fail if the docs differ

`hack/test.sh fixtures` runs the end-to-end suite with the recorder and installs the result.
A state is the kind, phase, whether the status is for the current generation, the paused
annotation, and every condition's type, status and reason. Objects are normalised (namespace,
uid, resourceVersion and managed fields replaced or dropped) so a re-recording changes only
what the operator changed.
"""
import argparse
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading

import yaml

GROUP = "migration.aliyun-operator.dev"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CUSTOMIZATIONS = os.path.join(ROOT, "config", "argocd", GROUP)
DOCS = os.path.join(ROOT, "docs", "argocd.md")
BEGIN, END = "<!-- live-states:begin -->", "<!-- live-states:end -->"
KIND_ORDER = ["DataSource", "MmsJob", "DtsMigration", "DataWorksMigration", "Cutover"]
HEALTH_ORDER = ["Healthy", "Progressing", "Suspended", "Degraded", "Missing", "Unknown"]
NAMESPACE = "e2e"
# Messages are kept whole (they are what the health checks show).
HEADER = "# Recorded from a live object by hack/fixtures.py (hack/test.sh fixtures).\n# yamllint disable rule:line-length\n"
UID = "00000000-0000-4000-8000-000000000000"
# A credential that reached an object is a bug elsewhere; it must not also reach the repo.
FORBIDDEN = re.compile(r"LTAI[0-9A-Za-z]{8,}|-----BEGIN [A-Z ]*PRIVATE KEY-----")


def state_key(obj):
    meta, status = obj.get("metadata", {}), obj.get("status") or {}
    conditions = sorted(
        (c.get("type", ""), c.get("status", ""), c.get("reason", ""))
        for c in status.get("conditions") or []
    )
    current = status.get("observedGeneration") == meta.get("generation")
    paused = (meta.get("annotations") or {}).get(f"{GROUP}/paused") == "true"
    return [obj.get("kind"), status.get("phase") or "-", current, paused, conditions]


def normalise(obj):
    meta = obj["metadata"]
    ns = meta.get("namespace", "")
    keep = {
        "name": meta["name"],
        "namespace": NAMESPACE,
        "uid": UID,
        "generation": meta.get("generation", 1),
    }
    annotations = {
        k: v for k, v in (meta.get("annotations") or {}).items() if k.startswith(GROUP + "/")
    }
    if annotations:
        keep["annotations"] = annotations
    if meta.get("deletionTimestamp"):
        keep["deletionTimestamp"] = meta["deletionTimestamp"]
        keep["finalizers"] = meta.get("finalizers", [])
    out = {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": keep}
    for part in ("spec", "status"):
        if part in obj:
            out[part] = obj[part]
    text = json.dumps(out)
    if ns:
        # The test's random namespace shows up in messages ("ns/name not found").
        text = re.sub(rf"\b{re.escape(ns)}\b", NAMESPACE, text)
    if FORBIDDEN.search(text):
        raise ValueError(f"{obj['kind']} {ns}/{meta['name']} carries a credential-shaped value")
    return json.loads(text)


def slug(key):
    _kind, phase, current, paused, conditions = key
    ready = next((f"{s}-{r}" for t, s, r in conditions if t == "Ready"), "noready")
    digest = hashlib.sha1(json.dumps(key).encode()).hexdigest()[:8]
    phase = "nophase" if phase == "-" else phase
    name = f"{phase}-{ready}{'' if current else '-stale'}{'-paused' if paused else ''}-{digest}"
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def record(args):
    resources = subprocess.run(
        ["kubectl", "--kubeconfig", args.kubeconfig, "api-resources", f"--api-group={GROUP}", "-o", "name"],
        check=True, capture_output=True, text=True,
    ).stdout.split()
    seen, lock = {}, threading.Lock()
    procs = []

    def follow(resource):
        proc = subprocess.Popen(
            ["kubectl", "--kubeconfig", args.kubeconfig, "get", resource, "-A", "--watch", "-o", "json",
             "--request-timeout=0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        procs.append(proc)
        decoder, buf = json.JSONDecoder(), ""
        for chunk in iter(lambda: proc.stdout.readline(), ""):
            buf += chunk
            while buf.strip():
                try:
                    obj, end = decoder.raw_decode(buf.lstrip())
                except json.JSONDecodeError:
                    break
                buf = buf.lstrip()[end:]
                key = state_key(obj)
                ident = json.dumps(key)
                with lock:
                    if ident in seen:
                        continue
                    seen[ident] = True
                try:
                    fixture = normalise(obj)
                except ValueError as e:
                    print(f"fixtures: refused: {e}", file=sys.stderr)
                    continue
                path = os.path.join(args.out, obj["kind"], slug(key) + ".yaml")
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write(HEADER)
                    yaml.safe_dump(fixture, f, sort_keys=False, width=120)

    threads = [threading.Thread(target=follow, args=(r,), daemon=True) for r in resources]
    for t in threads:
        t.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    for p in procs:
        p.terminate()
    print(f"fixtures: {len(seen)} distinct states recorded in {args.out}", file=sys.stderr)


def install(args):
    for kind in sorted(os.listdir(args.source)):
        target = os.path.join(CUSTOMIZATIONS, kind, "testdata", "live")
        if not os.path.isdir(os.path.join(CUSTOMIZATIONS, kind)):
            print(f"fixtures: no health check for {kind}; skipped", file=sys.stderr)
            continue
        os.makedirs(target, exist_ok=True)
        for old in os.listdir(target):
            os.remove(os.path.join(target, old))
        files = sorted(os.listdir(os.path.join(args.source, kind)))
        for name in files:
            with open(os.path.join(args.source, kind, name)) as src, open(os.path.join(target, name), "w") as dst:
                dst.write(src.read())
        print(f"fixtures: {kind}: {len(files)} states", file=sys.stderr)


def evaluate(lua):
    rows = []
    for kind in KIND_ORDER:
        live = os.path.join(CUSTOMIZATIONS, kind, "testdata", "live")
        if not os.path.isdir(live):
            continue
        files = sorted(os.path.join(live, f) for f in os.listdir(live) if f.endswith(".yaml"))
        if not files:
            continue
        out = subprocess.run(
            [lua, "eval", os.path.join(CUSTOMIZATIONS, kind), *files], check=True, capture_output=True, text=True
        ).stdout
        for line in out.splitlines():
            result = json.loads(line)
            if "error" in result:
                raise SystemExit(f"{result['path']}: health.lua failed: {result['error']}")
            with open(result["path"]) as f:
                obj = yaml.safe_load(f)
            rows.append((kind, obj, result))
    return rows


def cell(text):
    text = (text or "").replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 110 else text[:107] + "..."


def render(rows):
    def order(row):
        kind, obj, result = row
        return (KIND_ORDER.index(kind), HEALTH_ORDER.index(result["status"]) if result["status"] in HEALTH_ORDER else 99,
                (obj.get("status") or {}).get("phase") or "", os.path.basename(result["path"]))

    lines = [
        BEGIN,
        "<!-- Generated by `hack/fixtures.py table` from the live fixtures; do not edit. -->",
        "",
        "| kind | phase | conditions | health | message | fixture |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for kind, obj, result in sorted(rows, key=order):
        status = obj.get("status") or {}
        conditions = ", ".join(
            f"{c.get('type')}={c.get('status')}" + (f" ({c['reason']})" if c.get("reason") else "")
            for c in sorted(status.get("conditions") or [], key=lambda c: c.get("type", ""))
        )
        meta = obj["metadata"]
        phase = status.get("phase") or "(none)"
        if status.get("observedGeneration") != meta.get("generation"):
            phase += ", older generation"
        if (meta.get("annotations") or {}).get(f"{GROUP}/paused") == "true":
            phase += ", paused annotation"
        fixture = os.path.relpath(result["path"], ROOT)
        lines.append(
            f"| {kind} | {cell(phase)} | {cell(conditions)} | **{result['status']}** | {cell(result['message'])} "
            f"| [{os.path.basename(fixture)}](../{fixture}) |"
        )
    lines += ["", f"{len(rows)} recorded states.", END]
    return "\n".join(lines)


def table(args):
    rows = evaluate(args.lua)
    with open(DOCS) as f:
        docs = f.read()
    if BEGIN not in docs or END not in docs:
        raise SystemExit(f"{DOCS} has no {BEGIN} ... {END} section")
    head, rest = docs.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    new = head + render(rows) + tail
    if args.check:
        if new != docs:
            raise SystemExit(
                "docs/argocd.md's table of recorded states is not what health.lua says about the live fixtures; "
                "run hack/fixtures.py table --lua <argocd-lua> and review the difference"
            )
        print(f"{len(rows)} live states: docs/argocd.md agrees with health.lua")
        return
    with open(DOCS, "w") as f:
        f.write(new)
    print(f"docs/argocd.md: {len(rows)} live states", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("--kubeconfig", required=True)
    r.add_argument("--out", required=True)
    i = sub.add_parser("install")
    i.add_argument("--from", dest="source", required=True)
    t = sub.add_parser("table")
    t.add_argument("--lua", required=True)
    t.add_argument("--check", action="store_true")
    args = parser.parse_args()
    {"record": record, "install": install, "table": table}[args.cmd](args)


if __name__ == "__main__":
    main()
