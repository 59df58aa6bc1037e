#!/usr/bin/env bash
# Builds the binaries the end-to-end tests run: kube-apiserver and etcd, both from the
# Go module in test/e2e/harness (versions pinned there by go.mod and go.sum), into
# test/e2e/.cache/bin/. A rebuild is skipped while the stamp written next to the
# binaries matches the module files, this script and the Go version.
#
# Usage: test/e2e/build.sh [--force]
# Environment: GO (go binary to use), E2E_BUILD_JOBS (go build -p, default 2).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
self="$here/$(basename "${BASH_SOURCE[0]}")"
harness="$here/harness"
bin="$here/.cache/bin"
stamp="$bin/.stamp"
# shellcheck source=../go-toolchain.sh
source "$here/../go-toolchain.sh"
go_build_script "e2e build" "$self" "$@"   # say, die, --force/--help

# --- Go toolchain and up to date? ----------------------------------------------------
go_toolchain "$harness" "The e2e harness (kube-apiserver and etcd)"
want="$(go_inputs_hash "$self" go.mod go.sum)"

if [[ $force -eq 0 && -x "$bin/kube-apiserver" && -x "$bin/etcd" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  say "kube-apiserver and etcd in ${bin#"$PWD"/} are up to date ($go_version); nothing to do"
  exit 0
fi

go_build_env "$bin" "${E2E_BUILD_JOBS:-2}"

# --- Modules ------------------------------------------------------------------------
say "downloading the Go modules kube-apiserver and etcd need (first run: ~570 MB)..."
if ! "$go_bin" list -deps ./cmd/kube-apiserver go.etcd.io/etcd/server/v3 >/dev/null; then
  die "could not resolve or download the Go modules (see the go output above).
  Check that the module proxy is reachable (GOPROXY=$("$go_bin" env GOPROXY)) and that
  test/e2e/harness/go.sum is intact; nothing was built."
fi

# --- Compile ------------------------------------------------------------------------
# Stamp the release into the binary (/version, kube-apiserver --version) as the upstream
# release build does; without it the server reports v0.0.0-master.
k8s_version="$("$go_bin" list -m -f '{{.Version}}' k8s.io/kubernetes)" || die "cannot read the k8s.io/kubernetes version from go.mod"
k8s_minor="${k8s_version#v1.}"; k8s_minor="${k8s_minor%%.*}"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor -X $pkg.gitTreeState=clean"
done

build() { # name package ldflags
  local name="$1" pkg="$2" flags="$3" t0=$(date +%s)
  say "compiling $name ($pkg)..."
  if ! "$go_bin" build -p "$jobs" -ldflags="$flags" -o "$bin/.$name.tmp" "$pkg"; then
    rm -f "$bin/.$name.tmp"
    die "go build of $name failed (see the compiler output above)"
  fi
  mv -f "$bin/.$name.tmp" "$bin/$name"
  say "built $name in $(( $(date +%s) - t0 ))s"
}
rm -f "$stamp"
build kube-apiserver ./cmd/kube-apiserver "$ldflags"
build etcd go.etcd.io/etcd/server/v3 "-s -w"

"$bin/kube-apiserver" --version >/dev/null 2>&1 || die "the built kube-apiserver does not run"
"$bin/etcd" --version >/dev/null 2>&1 || die "the built etcd does not run"
printf '%s\n' "$want" >"$stamp"

say "done in $(( $(date +%s) - start ))s: $("$bin/kube-apiserver" --version), etcd $("$bin/etcd" --version | sed -n 's/^etcd Version: //p')"
say "binaries: $bin"
