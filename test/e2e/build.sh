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
force=0

for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,9p' "$self" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "e2e build: unknown argument '$arg' (expected --force)" >&2; exit 2 ;;
  esac
done

say() { printf 'e2e build: %s\n' "$*"; }
die() { printf 'e2e build: ERROR: %s\n' "$*" >&2; exit 1; }

# --- Go toolchain -------------------------------------------------------------------
go_bin="${GO:-}"
if [[ -z "$go_bin" ]]; then
  go_bin="$(command -v go || true)"
  [[ -z "$go_bin" && -x /usr/local/go/bin/go ]] && go_bin=/usr/local/go/bin/go
fi
[[ -n "$go_bin" && -x "$go_bin" ]] || die "Go is not installed or not on PATH (set GO=/path/to/go).
  The e2e harness compiles kube-apiserver and etcd from source and needs Go >= 1.22
  (go.mod asks for Go 1.26; an older go downloads that toolchain unless GOTOOLCHAIN=local)."

cd "$harness"
# (An older go switches to the toolchain go.mod asks for here, and says so on stderr.)
go_version="$("$go_bin" env GOVERSION)" || die "'$go_bin env GOVERSION' failed (see above).
  An older Go must be allowed to download the toolchain go.mod asks for: set GOTOOLCHAIN=auto."
need_go="$(sed -n 's/^go \([0-9.]*\)$/\1/p' go.mod)"
if [[ "$(printf '%s\n' "$need_go" "${go_version#go}" | sort -V | head -1)" != "$need_go" ]]; then
  die "$go_version is older than Go $need_go, which test/e2e/harness/go.mod needs, and it did not
  switch toolchains. Set GOTOOLCHAIN=auto (it downloads go$need_go from the module proxy) or install Go >= $need_go."
fi

# --- Up to date? --------------------------------------------------------------------
inputs_hash() {
  {
    printf '%s\n' "$go_version" "$("$go_bin" env GOOS GOARCH)"
    cat "$self" go.mod go.sum
    find . -name '*.go' -type f | LC_ALL=C sort | while read -r f; do printf '%s\n' "$f"; cat "$f"; done
  } | sha256sum | cut -d' ' -f1
}
want="$(inputs_hash)"

if [[ $force -eq 0 && -x "$bin/kube-apiserver" && -x "$bin/etcd" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  say "kube-apiserver and etcd in ${bin#"$PWD"/} are up to date ($go_version); nothing to do"
  exit 0
fi

mkdir -p "$bin"
# One build at a time per checkout (two `make e2e` in parallel would fight over the outputs).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$bin/.lock"
  flock 9
fi

jobs="${E2E_BUILD_JOBS:-2}"
export CGO_ENABLED=0
export GOFLAGS="-trimpath -mod=readonly -buildvcs=false"
start=$(date +%s)

say "using $go_bin ($go_version), go build -p $jobs"

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
