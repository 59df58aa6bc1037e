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

# shellcheck source=../go-toolchain.sh
source "$here/../go-toolchain.sh"
go_build_script "differential build" "$self" "$@"   # say, die, --force/--help

# --- Go toolchain and up to date? ----------------------------------------------------
go_toolchain "$src" "The differential tier's Istio oracle"
# The assembly stub that lets the oracle link istio-cni's unexported doAddRun counts too.
mapfile -t asm < <(find . -path ./.cache -prune -o -name '*.s' -type f -print | LC_ALL=C sort)
want="$(go_inputs_hash "$self" go.mod go.sum "${asm[@]}")"

if [[ $force -eq 0 && -x "$bin/istio-oracle" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  say "istio-oracle in ${bin#"$PWD"/} is up to date ($go_version); nothing to do"
  exit 0
fi

go_build_env "$bin" "${DIFF_BUILD_JOBS:-2}"
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
