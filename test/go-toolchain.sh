# Sourced by the scripts that build reference programs from Go modules under test/
# (test/e2e/build.sh: kube-apiserver and etcd; test/helm/build.sh: helm). The caller
# calls go_build_script first.
#
#   go_build_script LABEL SELF ARG...  defines say() and die() (prefixed with LABEL), reads
#                                  the arguments: --force sets force=1, --help prints
#                                  SELF's header comment
#   go_toolchain MODULE_DIR WHAT   finds Go, cd's into MODULE_DIR, checks the Go version
#                                  its go.mod asks for; sets go_bin and go_version
#   go_build_env BIN JOBS          creates BIN and holds its lock (one build at a time per
#                                  checkout), sets the build flags every reference build
#                                  shares (so all of them share Go's build cache), jobs
#                                  (go build -p) and start
#   go_inputs_hash FILE...         sha256 of the Go version and platform, the FILEs, this
#                                  file and every *.go under the current directory: the
#                                  stamp that says a build is up to date

go_build_script() {
  local label="$1" self="$2" arg
  shift 2
  eval "say() { printf '$label: %s\\n' \"\$*\"; }"
  eval "die() { printf '$label: ERROR: %s\\n' \"\$*\" >&2; exit 1; }"
  force=0
  for arg in "$@"; do
    case "$arg" in
      --force) force=1 ;;
      -h|--help) sed -n '2,/^set /p' "$self" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
      *) echo "$label: unknown argument '$arg' (expected --force)" >&2; exit 2 ;;
    esac
  done
}

go_toolchain() {
  local module_dir="$1" what="$2" need_go
  go_bin="${GO:-}"
  if [[ -z "$go_bin" ]]; then
    go_bin="$(command -v go || true)"
    [[ -z "$go_bin" && -x /usr/local/go/bin/go ]] && go_bin=/usr/local/go/bin/go
  fi
  cd "$module_dir"
  need_go="$(sed -n 's/^go \([0-9.]*\)$/\1/p' go.mod)"
  [[ -n "$go_bin" && -x "$go_bin" ]] || die "Go is not installed or not on PATH (set GO=/path/to/go).
  $what is compiled from source and needs Go >= 1.22
  (go.mod asks for Go $need_go; an older go downloads that toolchain unless GOTOOLCHAIN=local)."
  # (An older go switches to the toolchain go.mod asks for here, and says so on stderr.)
  go_version="$("$go_bin" env GOVERSION)" || die "'$go_bin env GOVERSION' failed (see above).
  An older Go must be allowed to download the toolchain go.mod asks for: set GOTOOLCHAIN=auto."
  if [[ "$(printf '%s\n' "$need_go" "${go_version#go}" | sort -V | head -1)" != "$need_go" ]]; then
    die "$go_version is older than Go $need_go, which ${module_dir#"$(git -C "$module_dir" rev-parse --show-toplevel 2>/dev/null)"/}/go.mod needs, and it did not
  switch toolchains. Set GOTOOLCHAIN=auto (it downloads go$need_go from the module proxy) or install Go >= $need_go."
  fi
}

go_inputs_hash() {
  {
    printf '%s\n' "$go_version" "$("$go_bin" env GOOS GOARCH)"
    cat "$@" "${BASH_SOURCE[0]}"
    find . -path ./.cache -prune -o -name '*.go' -type f -print | LC_ALL=C sort | while read -r f; do printf '%s\n' "$f"; cat "$f"; done
  } | sha256sum | cut -d' ' -f1
}

go_build_env() {
  local dir="$1"
  mkdir -p "$dir"
  # Two `make` runs in parallel in one checkout would fight over the outputs.
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$dir/.lock"
    flock 9
  fi
  jobs="$2"
  export CGO_ENABLED=0
  export GOFLAGS="-trimpath -mod=readonly -buildvcs=false"
  start=$(date +%s)
  say "using $go_bin ($go_version), go build -p $jobs"
}
