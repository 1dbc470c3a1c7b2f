#!/usr/bin/env bash
# Conformance of the simulator with the official Alibaba Cloud Python SDKs.
#
# Installs the pinned SDKs from PyPI into a cached virtualenv (once), starts
# `aliyun-migration-operator sim --listen 127.0.0.1:0` (building it if missing), runs the MMS,
# DTS, STS and DataWorks flows against it, stops it, and exits non-zero on any failure. Bounded in time.
#
#   AMO_CACHE_DIR   cache root (default ~/.cache/aliyun-migration-operator)
#   AMO_SIM_BIN     simulator binary (default target/debug/aliyun-migration-operator)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/conformance"
CACHE="${AMO_CACHE_DIR:-$HOME/.cache/aliyun-migration-operator}"
PACKAGES=(
  "alibabacloud_tea_openapi==0.4.6"
  "alibabacloud_maxcompute20220104==7.2.0"
  "alibabacloud_dts20200101==5.11.7"
  "alibabacloud_sts20150401==1.2.0"
  "alibabacloud_dataworks_public20200518==10.1.1"
)
# One virtualenv per package list: worktrees pinning different lists share the cache without
# rebuilding each other's environment.
VENV="$CACHE/venv-sdk-$(printf '%s\n' "${PACKAGES[@]}" | sha256sum | cut -c1-12)"
BIN="${AMO_SIM_BIN:-$ROOT/target/debug/aliyun-migration-operator}"
started=$(date +%s)

mkdir -p "$CACHE"
stamp="$VENV/.packages"
if [[ ! -x "$VENV/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "${PACKAGES[*]}" ]]; then
  echo "conformance: installing ${PACKAGES[*]} into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  timeout 600 "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PACKAGES[@]}"
  echo "${PACKAGES[*]}" > "$stamp"
fi

if [[ ! -x "$BIN" ]]; then
  echo "conformance: building the simulator"
  (cd "$ROOT" && timeout 1200 cargo build --quiet --bin aliyun-migration-operator)
fi

work="$(mktemp -d)"
sim_pid=""
cleanup() {
  if [[ -n "$sim_pid" ]] && kill -0 "$sim_pid" 2>/dev/null; then
    kill -TERM "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$BIN" sim --listen 127.0.0.1:0 --seed 7 >"$work/sim.out" 2>"$work/sim.err" &
sim_pid=$!
url=""
for _ in $(seq 1 200); do
  url="$(sed -n 's/^listening on //p' "$work/sim.out" | head -n1)"
  [[ -n "$url" ]] && break
  if ! kill -0 "$sim_pid" 2>/dev/null; then
    echo "conformance: the simulator exited early" >&2
    cat "$work/sim.err" >&2
    exit 1
  fi
  sleep 0.1
done
if [[ -z "$url" ]]; then
  echo "conformance: the simulator did not start" >&2
  exit 1
fi
export SIM_ENDPOINT="${url#http://}"
echo "conformance: simulator at $url"

passed=0
failed=0
for flow in mms_flow dts_flow sts_flow dataworks_flow; do
  if (cd "$HERE" && timeout 300 "$VENV/bin/python" -u "$flow.py"); then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "conformance: $flow failed; simulator log:" >&2
    tail -n 20 "$work/sim.err" >&2 || true
  fi
done

echo "conformance: took $(( $(date +%s) - started )) s"
echo "conformance: $passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
