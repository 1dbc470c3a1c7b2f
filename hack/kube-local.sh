#!/usr/bin/env bash
# kube-local.sh - a real Kubernetes API server (kube-apiserver v1.37 + etcd 3.6, both built
# from Go modules) on 127.0.0.1 for the project's tests. No kubelet, scheduler or
# controller-manager.
#
#   hack/kube-local.sh build        build/validate the cached kube-apiserver, kubectl, etcd
#   hack/kube-local.sh up [DIR]     start etcd + kube-apiserver; last stdout line:
#                                   export KUBECONFIG=DIR/kubeconfig
#   hack/kube-local.sh down [DIR]   stop what `up` started; remove DIR if `up` created it
#   hack/kube-local.sh env [DIR]    print the export line again
#   hack/kube-local.sh bin          print the directory holding kubectl of the same version
#
# DIR defaults to a new temp dir for `up`, and to the last `up` DIR for down/env.
# AMO_KUBE_VERSION=1.36.3 (any k8s.io/kubernetes release the Go module proxy serves) builds
# and runs that version instead of the pinned default. See hack/README-kube-local.md.
# AMO_KUBE_CONTROLLERS=namespace (a kube-controller-manager --controllers list) also runs
# kube-controller-manager of the same release with those controllers only, e.g. so that a
# deleted namespace is emptied and removed as on a real cluster; built on first use, cached.
set -euo pipefail

# The pins (hack/kube-build/*/go.mod say the same; a test checks it).
readonly DEFAULT_K8S_VERSION=v1.37.2
readonly ETCD_VERSION=v3.6.16
readonly MIN_GO=1.26.0 # what k8s.io/kubernetes v1.37 declares
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

K8S_VERSION=${AMO_KUBE_VERSION:-$DEFAULT_K8S_VERSION}
K8S_VERSION=v${K8S_VERSION#v}
[[ $K8S_VERSION =~ ^v1\.([0-9]+)\.[0-9]+$ ]] ||
  { echo "AMO_KUBE_VERSION must be a release like 1.37.2 (got '${AMO_KUBE_VERSION-}')" >&2; exit 1; }
K8S_MINOR=${BASH_REMATCH[1]}
readonly K8S_VERSION K8S_MINOR

CACHE_DIR=${AMO_CACHE_DIR:-${HOME:?HOME is not set}/.cache/aliyun-migration-operator}
BIN_DIR=$CACHE_DIR/kubernetes-$K8S_VERSION
APISERVER_BIN=$BIN_DIR/kube-apiserver
KUBECTL_BIN=$BIN_DIR/kubectl
KCM_BIN=$BIN_DIR/kube-controller-manager
CONTROLLERS=${AMO_KUBE_CONTROLLERS:-}
[[ -z $CONTROLLERS || $CONTROLLERS =~ ^[a-z,*-]+$ ]] ||
  { echo "AMO_KUBE_CONTROLLERS must be a kube-controller-manager --controllers list (got '$CONTROLLERS')" >&2; exit 1; }
ETCD_BIN=$CACHE_DIR/etcd-$ETCD_VERSION/etcd
LAST_RUN_FILE=$CACHE_DIR/last-run
READY_TIMEOUT=${AMO_KUBE_READY_TIMEOUT:-60}   # seconds for /readyz after start
STOP_TIMEOUT=${AMO_KUBE_STOP_TIMEOUT:-20}     # seconds between SIGTERM and SIGKILL
BUILD_TIMEOUT=${AMO_KUBE_BUILD_TIMEOUT:-3600} # seconds for `go build` (and for the build lock)
readonly OWNED_MARKER=.kube-local-owned-tmpdir # DIR was made by `up` via mktemp -> `down` removes it
readonly RUN_MARKER=.kube-local                # DIR is (or was) used by kube-local.sh

log() { printf '[kube-local %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for _v in READY_TIMEOUT STOP_TIMEOUT BUILD_TIMEOUT; do
  [[ ${!_v} =~ ^[0-9]+$ ]] || die "AMO_KUBE_$_v must be a whole number of seconds (got '${!_v}')"
done
unset _v

usage() {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
}

# ---------------------------------------------------------------------------
# dependencies (Debian packages, installed by name with apt-get)
# ---------------------------------------------------------------------------
as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

apt_get() {
  as_root env DEBIAN_FRONTEND=noninteractive timeout 900 \
    apt-get -q -y -o DPkg::Lock::Timeout=300 "$@" >&2
}

# install_pkgs PKG... - install the missing Debian packages; one retry (after
# `apt-get update`) on failure, because apt failures here are usually transient.
install_pkgs() {
  (($# > 0)) || return 0
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install these packages by hand: $*"
  log "installing Debian packages: $*"
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    apt_get update || log "apt-get update failed (will retry)"
  fi
  if apt_get install --no-install-recommends "$@"; then
    return 0
  fi
  log "apt-get install failed; retrying once after apt-get update"
  sleep 5
  apt_get update || log "apt-get update failed"
  apt_get install --no-install-recommends "$@" || die "apt-get install $* failed twice"
}

# ensure_deps build|up
ensure_deps() {
  local -a missing=()
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v flock >/dev/null 2>&1 || missing+=(util-linux)
  case $1 in
    build) ;;
    up)
      command -v openssl >/dev/null 2>&1 || missing+=(openssl)
      ;;
  esac
  install_pkgs "${missing[@]}"
}

# ---------------------------------------------------------------------------
# build (Go modules through the Go module proxy)
# ---------------------------------------------------------------------------
binary_reports() { # BIN EXPECTED-SUBSTRING [VERSION-ARGS...] (default --version)
  [[ -x $1 ]] || return 1
  local v
  # Captured, not piped into `grep -q`: with pipefail, grep exiting at the first match can
  # kill the writer with SIGPIPE and fail the check (seen under load), which means a rebuild.
  local -a args=("${@:3}")
  ((${#args[@]})) || args=(--version)
  v=$(timeout 30 "$1" "${args[@]}" 2>/dev/null) || return 1
  [[ $v == *"$2"* ]]
}

core_binaries_ok() {
  binary_reports "$APISERVER_BIN" "Kubernetes $K8S_VERSION" &&
    binary_reports "$ETCD_BIN" "etcd Version: ${ETCD_VERSION#v}" &&
    binary_reports "$KUBECTL_BIN" "$K8S_VERSION" version --client
}

controller_manager_ok() {
  [[ -z $CONTROLLERS ]] || binary_reports "$KCM_BIN" "Kubernetes $K8S_VERSION"
}

binaries_ok() {
  core_binaries_ok && controller_manager_ok
}

cmd_build() {
  mkdir -p "$CACHE_DIR"
  if binaries_ok; then
    log "using cached kube-apiserver and kubectl $K8S_VERSION, etcd $ETCD_VERSION ($CACHE_DIR)"
    return 0
  fi
  # Subshell: the lock fd (9) is closed when it ends, so no process started
  # later by `up` inherits the lock.
  (
    if ! flock -n 9; then
      log "another kube-local build holds $CACHE_DIR/build.lock; waiting (max ${BUILD_TIMEOUT}s)"
      flock -w "$BUILD_TIMEOUT" 9 || die "timed out waiting for $CACHE_DIR/build.lock"
    fi
    if binaries_ok; then
      log "using cached binaries, built by a concurrent call"
      exit 0
    fi
    build_locked
  ) 9>"$CACHE_DIR/build.lock"
}

# go_cmd: the machine's Go when it is new enough; otherwise the go command fetches the
# toolchain k8s.io/kubernetes needs from the Go module proxy (GOTOOLCHAIN).
GO_TOOLCHAIN=local
check_go() {
  command -v go >/dev/null 2>&1 ||
    die "Go is not installed: kube-apiserver $K8S_VERSION is built from the Go module k8s.io/kubernetes (needs Go >= $MIN_GO; Go >= 1.21 can fetch it by itself)"
  local have
  have=$(go env GOVERSION 2>/dev/null) || have=
  have=${have#go}
  if [[ -z $have ]] || ! printf '%s\n%s\n' "$MIN_GO" "$have" | sort -V -C; then
    if [[ -n $have ]] && printf '%s\n%s\n' 1.21.0 "$have" | sort -V -C; then
      GO_TOOLCHAIN=go$MIN_GO
      log "Go $have is older than $MIN_GO; the go command fetches go$MIN_GO from the module proxy"
    else
      die "Go ${have:-?} is too old to build kube-apiserver $K8S_VERSION (needs >= $MIN_GO, or >= 1.21 to fetch it)"
    fi
  fi
}

# module_dir NAME PINNED-DIR: the committed module when building the pinned version, else a
# generated one (go.mod with every k8s.io staging module replaced by the matching v0.x).
k8s_module_dir() {
  local work=$1
  if [[ $K8S_VERSION == "$DEFAULT_K8S_VERSION" && -f $HERE/kube-build/kubernetes/go.sum ]]; then
    printf '%s\n' "$HERE/kube-build/kubernetes"
    return
  fi
  local dir=$work/kubernetes staging=v0.${K8S_VERSION#v1.}
  mkdir -p "$dir"
  log "generating a build module for k8s.io/kubernetes $K8S_VERSION (staging modules at $staging)"
  curl -fsS --retry 3 "$(go env GOPROXY | cut -d, -f1)/k8s.io/kubernetes/@v/$K8S_VERSION.mod" -o "$dir/upstream.mod" ||
    die "the Go module proxy does not serve k8s.io/kubernetes $K8S_VERSION"
  {
    printf 'module aliyun-migration-operator/hack/kube-build/kubernetes\n\ngo %s\n\n' "$(awk '/^go /{print $2; exit}' "$dir/upstream.mod")"
    printf 'tool (\n\tk8s.io/kubernetes/cmd/kube-apiserver\n\tk8s.io/kubernetes/cmd/kube-controller-manager\n\tk8s.io/kubernetes/cmd/kubectl\n)\n\n'
    printf 'require k8s.io/kubernetes %s\n\nreplace (\n' "$K8S_VERSION"
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\t\1 => \1 '"$staging"'#p' "$dir/upstream.mod"
    printf ')\n'
  } >"$dir/go.mod"
  rm -f "$dir/upstream.mod"
  (cd "$dir" && go_env go mod tidy) >>"$CACHE_DIR/build.log" 2>&1 ||
    { tail -n 30 "$CACHE_DIR/build.log" >&2; die "go mod tidy for k8s.io/kubernetes $K8S_VERSION failed"; }
  printf '%s\n' "$dir"
}

go_env() {
  env -u GOFLAGS -u GOOS -u GOARCH -u GOBIN GOTOOLCHAIN="$GO_TOOLCHAIN" CGO_ENABLED=0 \
    GOCACHE="$GO_BUILD_CACHE" GOFLAGS=-mod=mod "$@"
}

build_locked() {
  local start=$SECONDS work=$CACHE_DIR/build buildlog=$CACHE_DIR/build.log
  ensure_deps build
  check_go
  local avail_kb
  avail_kb=$(df -Pk "$CACHE_DIR" | awk 'NR==2 {print $4}')
  ((avail_kb > 5 * 1024 * 1024)) ||
    die "the build needs ~5 GiB free under $CACHE_DIR (only $((avail_kb / 1024)) MiB free)"
  rm -rf "$work"
  mkdir -p "$work"
  # The Go build cache (~3 GiB) lives in the build dir and goes with it; only binaries stay.
  GO_BUILD_CACHE=$work/gocache
  # shellcheck disable=SC2064 # expand $work now
  trap "rm -rf -- $(printf %q "$work")" EXIT
  : >"$buildlog"

  local mod
  mod=$(k8s_module_dir "$work")
  local vpkg=k8s.io/component-base/version cpkg=k8s.io/client-go/pkg/version ldflags="-s -w" p
  for p in $vpkg $cpkg; do
    ldflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$K8S_MINOR -X $p.gitTreeState=clean"
  done
  mkdir -p "$work/bin"
  local core=1
  core_binaries_ok && core=0
  local -a cmds=()
  ((core)) && cmds+=(k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)
  controller_manager_ok || cmds+=(k8s.io/kubernetes/cmd/kube-controller-manager)
  log "building ${cmds[*]##*/} $K8S_VERSION from the Go module k8s.io/kubernetes (~5 min cold each; log: $buildlog)"
  if ! (cd "$mod" && go_env timeout "$BUILD_TIMEOUT" go build -trimpath -ldflags "$ldflags" -o "$work/bin/" \
    "${cmds[@]}") >>"$buildlog" 2>&1; then
    tail -n 40 "$buildlog" >&2
    die "go build of ${cmds[*]##*/} $K8S_VERSION failed (full log: $buildlog)"
  fi
  mkdir -p "$BIN_DIR" "${ETCD_BIN%/*}"
  if [[ -x $work/bin/kube-controller-manager ]]; then
    binary_reports "$work/bin/kube-controller-manager" "Kubernetes $K8S_VERSION" ||
      die "the built kube-controller-manager does not report $K8S_VERSION"
    mv -f "$work/bin/kube-controller-manager" "$KCM_BIN"
  fi
  if ((core)); then
    log "building etcd $ETCD_VERSION from the Go module go.etcd.io/etcd/server/v3"
    if ! (cd "$HERE/kube-build/etcd" && go_env timeout "$BUILD_TIMEOUT" go build -trimpath -ldflags "-s -w" \
      -o "$work/bin/etcd" go.etcd.io/etcd/server/v3) >>"$buildlog" 2>&1; then
      tail -n 40 "$buildlog" >&2
      die "go build of etcd $ETCD_VERSION failed (full log: $buildlog)"
    fi
    binary_reports "$work/bin/kube-apiserver" "Kubernetes $K8S_VERSION" ||
      die "the built kube-apiserver does not report $K8S_VERSION"
    binary_reports "$work/bin/etcd" "etcd Version: ${ETCD_VERSION#v}" ||
      die "the built etcd does not report $ETCD_VERSION"
    mv -f "$work/bin/kube-apiserver" "$APISERVER_BIN"
    mv -f "$work/bin/kubectl" "$KUBECTL_BIN"
    mv -f "$work/bin/etcd" "$ETCD_BIN"
  fi
  rm -rf "$work"
  trap - EXIT
  log "built $(du -sh "$BIN_DIR" | cut -f1) of Kubernetes $K8S_VERSION binaries and etcd $ETCD_VERSION in $((SECONDS - start)) s; Go build cache removed"
}

# ---------------------------------------------------------------------------
# run-dir helpers
# ---------------------------------------------------------------------------
abs_dir() { realpath -m -- "$1"; }

# dir_for_existing [DIR] -> the DIR argument, or the one recorded in last-run
dir_for_existing() {
  if [[ -n ${1-} ]]; then
    abs_dir "$1"
  elif [[ -s $LAST_RUN_FILE ]]; then
    head -n 1 "$LAST_RUN_FILE"
  fi
}

record_last_run() {
  local tmp
  tmp=$(mktemp "$CACHE_DIR/last-run.XXXXXX")
  printf '%s\n' "$1" >"$tmp"
  mv -f "$tmp" "$LAST_RUN_FILE"
}

# pid_is_ours DIR PID: PID is alive and its command line mentions DIR (guards
# against pid reuse and zombies, whose cmdline is empty).
pid_is_ours() {
  local dir=$1 pid=$2 cmd
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
  [[ $cmd == *"$dir/"* ]]
}

# proc_state PID: the state letter from /proc/PID/stat (R, S, Z...), empty if gone.
proc_state() {
  sed 's/^.*) //' 2>/dev/null <"/proc/$1/stat" | cut -d' ' -f1 || true
}

# reap PID: collect the exit status of a dead child of this shell. Never blocks:
# `wait` is only called once PID is a zombie or gone.
reap() {
  local st
  st=$(proc_state "$1")
  if [[ -z $st || $st == Z ]]; then
    wait "$1" 2>/dev/null || true
  fi
}

# stop_pidfile DIR NAME: SIGTERM, then SIGKILL after STOP_TIMEOUT s.
stop_pidfile() {
  local dir=$1 name=$2 pidfile="$1/$2.pid" pid i
  [[ -f $pidfile ]] || return 0
  pid=$(<"$pidfile")
  if pid_is_ours "$dir" "$pid"; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
      pid_is_ours "$dir" "$pid" || break
      sleep 0.1
    done
    if pid_is_ours "$dir" "$pid"; then
      log "$name (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 100; i++)); do
        pid_is_ours "$dir" "$pid" || break
        sleep 0.1
      done
      pid_is_ours "$dir" "$pid" && die "could not stop $name (pid $pid)"
    fi
  fi
  reap "$pid" # if it is our child (up's failure path)
  rm -f "$pidfile"
}

stop_all() {
  local dir=$1
  stop_pidfile "$dir" controller-manager
  stop_pidfile "$dir" apiserver
  stop_pidfile "$dir" etcd
}

# start_bg DIR NAME LOG CMD...: start CMD in its own session, stdin/stdout/stderr
# detached from the caller (so `eval "$(kube-local.sh up)"` does not hang).
START_PID=
start_bg() {
  local dir=$1 name=$2 logf=$3
  shift 3
  : >"$logf"
  (
    # Close every inherited fd above 2 (a caller's pipe must not be held open).
    for fd in /proc/"$BASHPID"/fd/*; do
      fd=${fd##*/}
      if ((fd > 2)); then eval "exec $fd>&-"; fi
    done
    exec setsid "$@"
  ) </dev/null >>"$logf" 2>&1 &
  START_PID=$!
  printf '%s\n' "$START_PID" >"$dir/$name.pid"
  # Until the child has exec'd, its cmdline is this script's; wait (max 10 s)
  # so that pid_is_ours is meaningful from here on (every CMD mentions DIR/).
  local i st
  for ((i = 0; i < 200; i++)); do
    pid_is_ours "$dir" "$START_PID" && return 0
    st=$(proc_state "$START_PID")
    [[ -n $st && $st != Z ]] || return 0 # died before exec: the caller reports it
    sleep 0.05
  done
  log "warning: $name (pid $START_PID) did not start within 10 s"
}

free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

tail_logs() {
  local dir=$1 f
  for f in etcd.log apiserver.log controller-manager.log; do
    [[ -s $dir/$f ]] || continue
    printf '%s\n' "----- last 50 lines of $dir/$f -----" >&2
    tail -n 50 "$dir/$f" >&2
  done
}

rss_mib() {
  awk '/^VmRSS:/ {printf "%d", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo '?'
}

# ---------------------------------------------------------------------------
# certificates, tokens, kubeconfigs
# ---------------------------------------------------------------------------
gen_certs() {
  local c=$1/certs
  mkdir -p "$c"
  cat >"$c/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = amo-kube-local
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
EOF
  (
    umask 077
    openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 3650 \
      -config "$c/openssl.cnf" -extensions v3_ca -subj /CN=amo-kube-local-ca \
      -keyout "$c/ca.key" -out "$c/ca.crt"
    openssl req -new -newkey rsa:2048 -nodes -sha256 \
      -config "$c/openssl.cnf" -subj /CN=kube-apiserver \
      -keyout "$c/apiserver.key" -out "$c/apiserver.csr"
    openssl x509 -req -sha256 -days 825 -in "$c/apiserver.csr" \
      -CA "$c/ca.crt" -CAkey "$c/ca.key" -set_serial "0x$(openssl rand -hex 12)" \
      -extfile "$c/openssl.cnf" -extensions v3_server -out "$c/apiserver.crt"
    openssl genrsa -out "$c/sa.key" 2048
    openssl rsa -in "$c/sa.key" -pubout -out "$c/sa.pub"
  ) >/dev/null 2>"$c/openssl.log" || { cat "$c/openssl.log" >&2; die "openssl failed"; }
  chmod 0644 "$c/ca.crt" "$c/apiserver.crt"
  openssl verify -CAfile "$c/ca.crt" "$c/apiserver.crt" >/dev/null ||
    die "generated serving certificate does not verify against the CA"
}

write_tokens() {
  (
    umask 077
    cat >"$1/tokens.csv" <<'EOF'
admin-token,admin,admin,"system:masters"
operator-token,system:serviceaccount:amo-system:aliyun-migration-operator,amo-operator-sa-uid,"system:serviceaccounts,system:serviceaccounts:amo-system,system:authenticated"
EOF
  )
}

# write_kubeconfig FILE SERVER CA_FILE USER TOKEN
write_kubeconfig() {
  local file=$1 server=$2 ca=$3 user=$4 token=$5 tmp
  tmp=$(umask 077 && mktemp "$file.XXXXXX")
  cat >"$tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: amo-kube-local
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 <"$ca")
users:
- name: $user
  user:
    token: $token
contexts:
- name: amo-kube-local
  context:
    cluster: amo-kube-local
    user: $user
    namespace: default
current-context: amo-kube-local
preferences: {}
EOF
  mv -f "$tmp" "$file"
}

# ---------------------------------------------------------------------------
# up
# ---------------------------------------------------------------------------
UP_DIR='' UP_OWNED=0 UP_DONE=0
up_exit_trap() {
  local rc=$?
  if ((UP_DONE == 0)) && [[ -n $UP_DIR ]]; then
    log "up did not complete; stopping what it started"
    stop_all "$UP_DIR" || true
    if ((UP_OWNED)); then rm -rf -- "$UP_DIR"; fi
  fi
  exit "$rc"
}

up_fail() {
  log "ERROR: $*"
  tail_logs "$UP_DIR"
  exit 1
}

start_etcd() {
  local dir=$1 attempt client peer i
  for attempt in 1 2 3; do
    read -r client peer < <(free_ports 2)
    rm -rf "$dir/etcd"
    start_bg "$dir" etcd "$dir/etcd.log" "$ETCD_BIN" --name amo-kube-local --data-dir "$dir/etcd" \
      --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
      --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "amo-kube-local=http://127.0.0.1:$peer" --initial-cluster-state new \
      --initial-cluster-token "amo-kube-local-$$" --logger zap
    for ((i = 0; i < 300; i++)); do # 30 s
      if curl -fsS --max-time 2 "http://127.0.0.1:$client/health" 2>/dev/null | grep -q '"health":"true"'; then
        ETCD_PORT=$client ETCD_PEER_PORT=$peer
        return 0
      fi
      if ! pid_is_ours "$dir" "$START_PID"; then
        reap "$START_PID"
        if grep -q 'address already in use' "$dir/etcd.log"; then
          log "etcd port race on $client/$peer (attempt $attempt); picking new ports"
          continue 2
        fi
        up_fail "etcd exited during startup"
      fi
      sleep 0.1
    done
    up_fail "etcd was not healthy within 30 s"
  done
  up_fail "etcd could not get free ports after 3 attempts"
}

start_apiserver() {
  local dir=$1 attempt port i body c=$1/certs deadline
  for attempt in 1 2 3; do
    read -r port < <(free_ports 1)
    start_bg "$dir" apiserver "$dir/apiserver.log" "$APISERVER_BIN" \
      --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
      --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
      --secure-port="$port" \
      --cert-dir="$c" --tls-cert-file="$c/apiserver.crt" --tls-private-key-file="$c/apiserver.key" \
      --client-ca-file="$c/ca.crt" \
      --token-auth-file="$dir/tokens.csv" \
      --authorization-mode=RBAC \
      --service-account-issuer=https://kubernetes.default.svc.cluster.local \
      --service-account-key-file="$c/sa.pub" --service-account-signing-key-file="$c/sa.key" \
      --service-cluster-ip-range=10.0.0.0/24 \
      --endpoint-reconciler-type=none \
      --disable-admission-plugins=ServiceAccount \
      --allow-privileged=true \
      --profiling=false
    deadline=$((SECONDS + READY_TIMEOUT))
    while ((SECONDS < deadline)); do
      body=$(curl -sS --max-time 3 --cacert "$c/ca.crt" -H "Authorization: Bearer admin-token" \
        "https://127.0.0.1:$port/readyz" 2>/dev/null) || true
      if [[ $body == ok ]]; then
        APISERVER_PORT=$port
        return 0
      fi
      if ! pid_is_ours "$dir" "$START_PID"; then
        reap "$START_PID"
        if grep -q 'address already in use' "$dir/apiserver.log"; then
          log "kube-apiserver port race on $port (attempt $attempt); picking a new port"
          continue 2
        fi
        up_fail "kube-apiserver exited during startup"
      fi
      sleep 0.25
    done
    body=$(printf '%s\n' "$body" | grep -E '^\[-\]|failed' | tr '\n' ' ' || true)
    up_fail "kube-apiserver /readyz not ok within ${READY_TIMEOUT}s (failing checks: ${body:-no answer})"
  done
  up_fail "kube-apiserver could not get a free port after 3 attempts"
}

# start_controller_manager DIR: kube-controller-manager with the AMO_KUBE_CONTROLLERS only,
# as the admin identity, without leader election or a serving port.
start_controller_manager() {
  local dir=$1 i
  start_bg "$dir" controller-manager "$dir/controller-manager.log" "$KCM_BIN" \
    --kubeconfig="$dir/kubeconfig" --controllers="$CONTROLLERS" \
    --leader-elect=false --secure-port=0 --use-service-account-credentials=false
  for ((i = 0; i < 300; i++)); do # 30 s
    grep -q 'Caches are synced' "$dir/controller-manager.log" 2>/dev/null && return 0
    pid_is_ours "$dir" "$START_PID" || { reap "$START_PID"; up_fail "kube-controller-manager exited during startup"; }
    sleep 0.1
  done
  up_fail "kube-controller-manager did not sync its caches within 30 s"
}

cmd_up() {
  local start=$SECONDS dir
  cmd_build
  ensure_deps up

  if [[ -n ${1-} ]]; then
    dir=$(abs_dir "$1")
    if [[ -d $dir ]]; then
      if [[ -f $dir/apiserver.pid || -f $dir/etcd.pid ]]; then
        local p
        for p in apiserver etcd; do
          if [[ -f $dir/$p.pid ]] && pid_is_ours "$dir" "$(<"$dir/$p.pid")"; then
            die "$dir already has a running $p; run '$0 down $dir' first"
          fi
        done
      fi
      if [[ -n $(ls -A -- "$dir") && ! -f $dir/$RUN_MARKER ]]; then
        die "$dir is not empty and was not created by kube-local.sh; refusing to use it"
      fi
      # A fresh cluster every time: drop a previous run's state.
      rm -rf -- "$dir/etcd" "$dir/certs" "$dir"/*.pid "$dir"/*.log
    fi
    mkdir -p "$dir"
  else
    dir=$(mktemp -d "${TMPDIR:-/tmp}/amo-kube-local.XXXXXX")
    : >"$dir/$OWNED_MARKER"
    UP_OWNED=1
  fi
  : >"$dir/$RUN_MARKER"
  UP_DIR=$dir
  trap up_exit_trap EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  record_last_run "$dir"

  log "starting etcd and kube-apiserver $K8S_VERSION in $dir"
  gen_certs "$dir"
  write_tokens "$dir"
  ETCD_PORT='' ETCD_PEER_PORT='' APISERVER_PORT=''
  start_etcd "$dir"
  start_apiserver "$dir"

  local server="https://127.0.0.1:$APISERVER_PORT"
  write_kubeconfig "$dir/kubeconfig" "$server" "$dir/certs/ca.crt" admin admin-token
  write_kubeconfig "$dir/kubeconfig-operator" "$server" "$dir/certs/ca.crt" \
    aliyun-migration-operator operator-token
  [[ -z $CONTROLLERS ]] || start_controller_manager "$dir"
  cat >"$dir/kube-local.env" <<EOF
AMO_KUBE_DIR=$dir
AMO_KUBE_SERVER=$server
AMO_KUBE_APISERVER_PORT=$APISERVER_PORT
AMO_KUBE_ETCD_ENDPOINT=http://127.0.0.1:$ETCD_PORT
AMO_KUBE_ETCD_PEER_PORT=$ETCD_PEER_PORT
AMO_KUBE_CA_FILE=$dir/certs/ca.crt
AMO_KUBE_ADMIN_TOKEN=admin-token
AMO_KUBE_OPERATOR_TOKEN=operator-token
AMO_KUBE_KUBECONFIG=$dir/kubeconfig
AMO_KUBE_KUBECONFIG_OPERATOR=$dir/kubeconfig-operator
AMO_KUBE_VERSION=$K8S_VERSION
AMO_KUBE_BIN_DIR=$BIN_DIR
AMO_KUBE_CONTROLLERS=$CONTROLLERS
EOF
  UP_DONE=1
  trap - EXIT INT TERM
  log "ready in $((SECONDS - start)) s: apiserver $server (pid $(<"$dir/apiserver.pid"), RSS $(rss_mib "$(<"$dir/apiserver.pid")") MiB), etcd http://127.0.0.1:$ETCD_PORT (pid $(<"$dir/etcd.pid"))"
  log "operator kubeconfig (RBAC as system:serviceaccount:amo-system:aliyun-migration-operator): $dir/kubeconfig-operator"
  printf 'export KUBECONFIG=%q\n' "$dir/kubeconfig"
}

# ---------------------------------------------------------------------------
# down / env
# ---------------------------------------------------------------------------
cmd_down() {
  local dir
  dir=$(dir_for_existing "${1-}")
  if [[ -z $dir ]]; then
    log "no DIR given and nothing recorded in $LAST_RUN_FILE; nothing to stop"
    return 0
  fi
  if [[ ! -d $dir ]]; then
    log "$dir does not exist; nothing to stop"
  else
    [[ -f $dir/$RUN_MARKER ]] || die "$dir was not created by kube-local.sh up"
    stop_all "$dir"
    if [[ -f $dir/$OWNED_MARKER ]]; then
      rm -rf -- "$dir"
      log "stopped; removed temp dir $dir"
    else
      log "stopped; kept $dir (not a temp dir made by up)"
    fi
  fi
  if [[ -s $LAST_RUN_FILE && $(head -n 1 "$LAST_RUN_FILE") == "$dir" ]]; then
    rm -f "$LAST_RUN_FILE"
  fi
}

cmd_env() {
  local dir
  dir=$(dir_for_existing "${1-}")
  [[ -n $dir ]] || die "no DIR given and nothing recorded in $LAST_RUN_FILE; run '$0 up' first"
  [[ -f $dir/kubeconfig ]] || die "$dir/kubeconfig not found; run '$0 up' first"
  if [[ ! -f $dir/apiserver.pid ]] || ! pid_is_ours "$dir" "$(<"$dir/apiserver.pid")"; then
    die "kube-apiserver for $dir is not running; run '$0 up' first"
  fi
  printf 'export KUBECONFIG=%q\n' "$dir/kubeconfig"
}

main() {
  local cmd=${1-}
  (($# > 0)) && shift
  case $cmd in
    build) (($# == 0)) || die "usage: $0 build"; cmd_build ;;
    up) (($# <= 1)) || die "usage: $0 up [DIR]"; cmd_up "$@" ;;
    down) (($# <= 1)) || die "usage: $0 down [DIR]"; cmd_down "$@" ;;
    env) (($# <= 1)) || die "usage: $0 env [DIR]"; cmd_env "$@" ;;
    bin) (($# == 0)) || die "usage: $0 bin"; cmd_build && printf '%s\n' "$BIN_DIR" ;;
    -h | --help | help) usage ;;
    '') usage; die "missing command (build, up, down, env or bin)" ;;
    *) usage; die "unknown command '${cmd}' (expected build, up, down, env or bin)" ;;
  esac
}

main "$@"
