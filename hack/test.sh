#!/usr/bin/env bash
# The project's test command (README): unit and offline tests, then the end-to-end tests against
# a real kube-apiserver on loopback (hack/kube-local.sh) with the simulator and the operator as
# processes, then the official-SDK conformance test of the simulator and the add-on checks.
#
#   hack/test.sh            everything
#   hack/test.sh unit       only what needs no API server
#   hack/test.sh e2e [filter]  only the end-to-end tests (optionally filtered by name)
#   hack/test.sh sandbox    only the README's first command, until the sample cutover completes
#   hack/test.sh fixtures [filter]  the e2e tests with a recorder: refreshes the Argo CD live fixtures
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
what=${1:-all}
filter=${2:-}

log() { printf '\n==> %s\n' "$*" >&2; }

# kubectl of the same release as the local API server (built by kube-local.sh with it), first on
# PATH: the tests use whatever `kubectl` is there, and a machine may have none.
use_local_kubectl() {
  local bin
  bin=$(hack/kube-local.sh bin)
  export PATH="$bin:$PATH"
}
elapsed() { printf '%ss' "$((SECONDS - $1))"; }

run_unit() {
  local t0=$SECONDS
  log "unit and offline tests"
  cargo test --all-targets --quiet
  log "unit and offline tests passed in $(elapsed "$t0")"
}

run_e2e() {
  local t0=$SECONDS dir
  use_local_kubectl
  cargo build --quiet --bins
  dir=$(mktemp -d -t amo-e2e-XXXXXX)
  log "starting the local API server (and the namespace controller) in $dir"
  # The namespace controller empties and removes deleted namespaces as on a real cluster
  # (the namespace-deletion test needs it; no other controller runs).
  AMO_KUBE_CONTROLLERS=namespace hack/kube-local.sh up "$dir" >/dev/null
  # shellcheck disable=SC2064 # expand now: the trap must stop this very run
  trap "hack/kube-local.sh down '$dir' >/dev/null 2>&1 || true" EXIT
  log "end-to-end tests"
  AMO_E2E_KUBECONFIG="$dir/kubeconfig" cargo test --quiet --tests -- --ignored ${filter:+"$filter"} --test-threads "${AMO_E2E_THREADS:-2}"
  hack/kube-local.sh down "$dir" >/dev/null 2>&1 || true
  trap - EXIT
  log "end-to-end tests passed in $(elapsed "$t0")"
}

# The e2e suite with a recorder watching every kind: one object per distinct state the operator
# wrote becomes a live fixture of the Argo CD health checks (hack/fixtures.py), and the table of
# health per state in docs/argocd.md is regenerated (hack/check-addon.sh --sync). Review the diff.
run_fixtures() {
  local t0=$SECONDS dir out recorder
  use_local_kubectl
  cargo build --quiet --bins
  dir=$(mktemp -d -t amo-fixtures-XXXXXX)
  out=$dir/fixtures
  hack/kube-local.sh up "$dir" >/dev/null
  # shellcheck disable=SC2064 # expand now: the trap must stop this very run
  trap "hack/kube-local.sh down '$dir' >/dev/null 2>&1 || true" EXIT
  kubectl --kubeconfig "$dir/kubeconfig" apply --server-side -f crds/ >/dev/null
  python3 hack/fixtures.py record --kubeconfig "$dir/kubeconfig" --out "$out" &
  recorder=$!
  log "end-to-end tests, recording every state"
  AMO_E2E_KUBECONFIG="$dir/kubeconfig" cargo test --quiet --tests -- --ignored ${filter:+"$filter"} \
    --test-threads "${AMO_E2E_THREADS:-2}" || log "some end-to-end tests failed; recorded states kept"
  kill -TERM "$recorder"
  wait "$recorder" || true
  python3 hack/fixtures.py install --from "$out"
  hack/kube-local.sh down "$dir" >/dev/null 2>&1 || true
  trap - EXIT
  hack/check-addon.sh --sync >/dev/null || true
  log "fixtures recorded in $(elapsed "$t0"); review git diff config/argocd docs/argocd.md"
}

run_sandbox() {
  local t0=$SECONDS
  log "README's first command: sandbox --until-complete"
  cargo run --quiet -- sandbox --until-complete --timeout-seconds "${AMO_SANDBOX_TIMEOUT:-300}" >"${TMPDIR:-/tmp}/amo-sandbox.log" 2>&1 || {
    tail -40 "${TMPDIR:-/tmp}/amo-sandbox.log" >&2
    return 1
  }
  log "sandbox completed its cutover in $(elapsed "$t0")"
}

run_extra() {
  use_local_kubectl
  local script
  for script in tests/conformance/run.sh hack/check-addon.sh; do
    if [[ -x $script ]]; then
      local t0=$SECONDS
      log "$script"
      "$root/$script"
      log "$script passed in $(elapsed "$t0")"
    fi
  done
}

case $what in
  unit) run_unit ;;
  e2e) run_e2e ;;
  sandbox) run_sandbox ;;
  all) run_unit; run_e2e; run_sandbox; run_extra ;;
  fixtures) run_fixtures ;;
  *) echo "usage: hack/test.sh [all|unit|e2e [filter]|sandbox|fixtures [filter]]" >&2; exit 2 ;;
esac
log "all requested tests passed"
