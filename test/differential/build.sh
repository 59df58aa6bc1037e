#!/usr/bin/env bash
# Builds the Istio oracle the differential tier asks: a small program (test/differential/istio)
# compiled from the pinned istio.io/istio module (go.mod and go.sum there) into
# test/differential/.cache/bin/istio-oracle. A rebuild is skipped while the stamp next to
# the binary matches the module files, the sources, this script and the Go version.
#
# Usage: test/differential/build.sh [--force]
# Environment: GO (go binary to use), DIFF_BUILD_JOBS (go build -p, default 2).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
self="$here/$(basename "${BASH_SOURCE[0]}")"
src="$here/istio"
bin="$here/.cache/bin"
stamp="$bin/.stamp"
force=0

for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,9p' "$self" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "differential build: unknown argument '$arg' (expected --force)" >&2; exit 2 ;;
  esac
done

say() { printf 'differential build: %s\n' "$*"; }
die() { printf 'differential build: ERROR: %s\n' "$*" >&2; exit 1; }

go_bin="${GO:-}"
if [[ -z "$go_bin" ]]; then
  go_bin="$(command -v go || true)"
  [[ -z "$go_bin" && -x /usr/local/go/bin/go ]] && go_bin=/usr/local/go/bin/go
fi
[[ -n "$go_bin" && -x "$go_bin" ]] || die "Go is not installed or not on PATH (set GO=/path/to/go).
  The differential tier compiles Istio's injector from the istio.io/istio module and needs
  the Go version test/differential/istio/go.mod asks for."

cd "$src"
go_version="$("$go_bin" env GOVERSION)" || die "'$go_bin env GOVERSION' failed (see above)."

inputs_hash() {
  {
    printf '%s\n' "$go_version" "$("$go_bin" env GOOS GOARCH)"
    cat "$self" go.mod go.sum
    find . \( -name '*.go' -o -name '*.s' \) -type f | LC_ALL=C sort | while read -r f; do printf '%s\n' "$f"; cat "$f"; done
  } | sha256sum | cut -d' ' -f1
}
want="$(inputs_hash)"

if [[ $force -eq 0 && -x "$bin/istio-oracle" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  say "istio-oracle in ${bin#"$PWD"/} is up to date ($go_version); nothing to do"
  exit 0
fi

mkdir -p "$bin"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$bin/.lock"
  flock 9
fi

jobs="${DIFF_BUILD_JOBS:-2}"
# The same flags as test/e2e/build.sh, so that both share Go's build cache.
export CGO_ENABLED=0
export GOFLAGS="-trimpath -mod=readonly -buildvcs=false"
start=$(date +%s)
say "using $go_bin ($go_version), go build -p $jobs"
say "downloading the modules istio.io/istio needs (first run: ~1 GB)..."
if ! "$go_bin" mod download; then
  die "could not download the Go modules (see the go output above).
  Check that the module proxy is reachable (GOPROXY=$("$go_bin" env GOPROXY)) and that
  test/differential/istio/go.sum is intact; nothing was built."
fi
say "compiling istio-oracle (first run: many minutes on 2 cores)..."
rm -f "$stamp"
if ! "$go_bin" build -p "$jobs" -ldflags="-s -w" -o "$bin/.istio-oracle.tmp" .; then
  rm -f "$bin/.istio-oracle.tmp"
  die "go build of istio-oracle failed (see the compiler output above)"
fi
mv -f "$bin/.istio-oracle.tmp" "$bin/istio-oracle"
printf '%s\n' "$want" >"$stamp"
say "done in $(( $(date +%s) - start ))s: $bin/istio-oracle"
