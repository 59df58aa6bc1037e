#!/usr/bin/env bash
# Builds the helm the chart tests run, from the Go module pinned by test/helm/go.mod and
# go.sum (the `tool helm.sh/helm/v3/cmd/helm` directive), into test/helm/.cache/bin/helm.
# A rebuild is skipped while the stamp written next to the binary matches the module
# files, this script and the Go version.
#
# Usage: test/helm/build.sh [--force]
# Environment: GO (go binary to use), HELM_BUILD_JOBS (go build -p, default 2).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
self="$here/$(basename "${BASH_SOURCE[0]}")"
bin="$here/.cache/bin"
stamp="$bin/.stamp"
# shellcheck source=../go-toolchain.sh
source "$here/../go-toolchain.sh"
go_build_script "helm build" "$self" "$@"   # say, die, --force/--help

# --- Go toolchain and up to date? ----------------------------------------------------
go_toolchain "$here" "The helm of the chart tests"
want="$(go_inputs_hash "$self" go.mod go.sum)"

if [[ $force -eq 0 && -x "$bin/helm" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  say "helm in ${bin#"$PWD"/} is up to date ($go_version); nothing to do"
  exit 0
fi

go_build_env "$bin" "${HELM_BUILD_JOBS:-2}"

# --- Modules ------------------------------------------------------------------------
say "downloading the Go modules helm needs (first run only)..."
if ! "$go_bin" list -deps helm.sh/helm/v3/cmd/helm >/dev/null; then
  die "could not resolve or download the Go modules (see the go output above).
  Check that the module proxy is reachable (GOPROXY=$("$go_bin" env GOPROXY)) and that
  test/helm/go.sum is intact; nothing was built."
fi

# --- Compile ------------------------------------------------------------------------
# Stamp the release into the binary (`helm version`) as helm's own Makefile does; without
# it helm reports v3.x-dev and charts' kubeVersion checks see a development build.
helm_version="$("$go_bin" list -m -f '{{.Version}}' helm.sh/helm/v3)" || die "cannot read the helm version from go.mod"
k8s_version="$("$go_bin" list -m -f '{{.Version}}' k8s.io/client-go)" || die "cannot read the client-go version from go.mod"
k8s_minor="${k8s_version#v0.}"; k8s_minor="${k8s_minor%%.*}"
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version -X helm.sh/helm/v3/internal/version.metadata= -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
ldflags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$k8s_minor"
ldflags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$k8s_minor"

t0=$(date +%s)
say "compiling helm $helm_version..."
rm -f "$stamp"
if ! "$go_bin" build -p "$jobs" -ldflags="$ldflags" -o "$bin/.helm.tmp" helm.sh/helm/v3/cmd/helm; then
  rm -f "$bin/.helm.tmp"
  die "go build of helm failed (see the compiler output above)"
fi
mv -f "$bin/.helm.tmp" "$bin/helm"
say "built helm in $(( $(date +%s) - t0 ))s"

"$bin/helm" version --short >/dev/null 2>&1 || die "the built helm does not run"
printf '%s\n' "$want" >"$stamp"

say "done in $(( $(date +%s) - start ))s: helm $("$bin/helm" version --short)"
say "binary: $bin/helm"
