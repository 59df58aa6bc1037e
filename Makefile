# meshguard — every task a newcomer needs. `make run` and `make test` are the two that matter.
SHELL := /bin/bash
# Every target runs on the Node.js pinned in tools/node (Node 24 LTS from the npm registry),
# whatever the machine's own node is: its bin directory comes first on PATH, so npm, npx,
# tsc and tap all run on it. scripts/node-toolchain.sh installs it on first use.
NODE_TOOLS := tools/node
NODE_STAMP := $(NODE_TOOLS)/node_modules/.package-lock.json
export PATH := $(CURDIR)/$(NODE_TOOLS)/node_modules/.bin:$(PATH)
NODE_MODULES_STAMP := node_modules/.package-lock.json
TAP := npx tap
RESULTS := .tap-results

.PHONY: all deps node build run test unit fuzz chart helm-build e2e e2e-build differential differential-build lint typecheck bench schemas rules-doc clean help

all: build

help:
	@echo "make deps     install the pinned Node.js (tools/node) and the npm dependencies"
	@echo "make run      build and start the webhook standalone on examples/state.yaml (dev certs) and print two demo requests"
	@echo "make test     install what is needed and run every test tier (unit, cli, integration, manifests, fuzz, chart, e2e, differential)"
	@echo "make unit     the fast tiers only (unit, cli, integration, manifests), with coverage"
	@echo "make fuzz     the fuzz tier: generated inputs, bounded runs, seed printed (FUZZ_SEED=N replays)"
	@echo "make chart    build helm if missing and run the Helm chart tier (lint, chart = kustomize, schema, CI hooks)"
	@echo "make e2e      build kube-apiserver + etcd (and helm) if missing and run the end-to-end tier"
	@echo "make differential  build Istio's injector (istio.io/istio) if missing and compare meshguard with it"
	@echo "make bench    run the benchmarks (results in bench/results/*.json)"
	@echo "make lint     type-check everything"
	@echo "make schemas  regenerate policies/validation/compiled-schemas.ts after editing schemas.ts"
	@echo "make rules-doc regenerate docs/rules.md from the rule registry (policies/rules/)"

$(NODE_STAMP): $(NODE_TOOLS)/package.json $(NODE_TOOLS)/package-lock.json scripts/node-toolchain.sh
	bash scripts/node-toolchain.sh
	@touch $@

node: $(NODE_STAMP)

# Reinstalled when the lockfile or the pinned Node changes (a major Node version can change
# what a dependency's install step builds).
$(NODE_MODULES_STAMP): package.json package-lock.json $(NODE_STAMP)
	npm ci --no-audit --no-fund
	@touch $@

node_modules deps: $(NODE_MODULES_STAMP)

build: node_modules
	npm run build

# The same node flags as the image (its ENTRYPOINT and NODE_OPTIONS, Dockerfile); a manifests test keeps them equal.
# The example cluster view makes the two printed curl requests show a patch and a refusal
# (test/integration/make-run.test.ts runs them).
run: build
	node --max-semi-space-size=4 --max-old-space-size-percentage=50 dist/cli/main.js serve --state examples/state.yaml

# The serviceMesh validators are compiled ahead of time; a unit test fails when stale.
schemas: node_modules
	node --import @tapjs/typescript/import scripts/compile-schemas.ts

# docs/rules.md is generated from the rule registry; a unit test fails when stale.
rules-doc: node_modules
	node --import @tapjs/typescript/import scripts/rules-doc.ts

lint typecheck: node_modules
	npx tsc -p tsconfig.json --noEmit

# Every tier writes TAP to $(RESULTS)/<tier>.tap; scripts/tap-summary.mjs adds them up.
unit: build
	@mkdir -p $(RESULTS)
	set -o pipefail; $(TAP) -R tap 2>&1 | tee $(RESULTS)/unit.tap

# Generated inputs in a fixed number of runs each; every file prints its fast-check seed,
# and FUZZ_SEED=<seed> (FUZZ_PATH=<path> to start at the shrunk case) replays a failure.
fuzz: build
	@mkdir -p $(RESULTS)
	set -o pipefail; $(TAP) -R tap --disable-coverage --allow-incomplete-coverage --allow-empty-coverage -j1 --timeout=900 test/fuzz/*.test.ts 2>&1 | tee $(RESULTS)/fuzz.tap

# helm, built from the Go module pinned in test/helm/go.mod (the chart tier and e2e use it).
helm-build:
	bash test/helm/build.sh

# The chart tier: needs the built CLI and helm, so it is not part of `make unit`.
chart: build helm-build
	@mkdir -p $(RESULTS)
	set -o pipefail; $(TAP) -R tap --disable-coverage --allow-incomplete-coverage --allow-empty-coverage -j1 --timeout=900 test/chart/*.test.ts 2>&1 | tee $(RESULTS)/chart.tap

e2e-build:
	bash test/e2e/build.sh

e2e: build e2e-build helm-build
	@mkdir -p $(RESULTS)
	set -o pipefail; $(TAP) -R tap --disable-coverage --allow-incomplete-coverage --allow-empty-coverage -j1 --timeout=900 test/e2e/*.test.ts 2>&1 | tee $(RESULTS)/e2e.tap

differential-build:
	bash test/differential/build.sh

# Thousands of generated cases against Istio's own injector; the seed is printed in the TAP.
differential: build differential-build
	@mkdir -p $(RESULTS)
	set -o pipefail; $(TAP) -R tap --disable-coverage --allow-incomplete-coverage --allow-empty-coverage -j1 --timeout=900 test/differential/*.test.ts 2>&1 | tee $(RESULTS)/differential.tap

test: node_modules
	@rm -rf $(RESULTS)
	@status=0; \
	mkdir -p $(RESULTS); \
	if $(MAKE) --no-print-directory lint; then printf 'TAP version 14\n1..1\nok 1 - typecheck\n' > $(RESULTS)/lint.tap; \
	else printf 'TAP version 14\n1..1\nnot ok 1 - typecheck\n' > $(RESULTS)/lint.tap; status=1; fi; \
	$(MAKE) --no-print-directory unit || status=1; \
	$(MAKE) --no-print-directory fuzz || status=1; \
	$(MAKE) --no-print-directory chart || status=1; \
	$(MAKE) --no-print-directory e2e || status=1; \
	$(MAKE) --no-print-directory differential || status=1; \
	node scripts/tap-summary.mjs $(RESULTS) lint unit fuzz chart e2e differential || status=1; \
	exit $$status

# Each benchmark measures its baseline in the same run and writes bench/results/*.json.
bench: build e2e-build
	node bench/check-throughput.mjs
	node --import @tapjs/typescript/import bench/admission-load.ts
	node --import @tapjs/typescript/import bench/live-memory.ts
	node --import @tapjs/typescript/import bench/live-memory.ts --pods 10000 --analysis-objects 0 --out live-memory-10k.json
	node --import @tapjs/typescript/import bench/runtime.ts $(if $(COMPARE_NODE),--compare-node $(COMPARE_NODE))
	node --import @tapjs/typescript/import bench/admit-core.ts $(if $(ADMIT_BEFORE),--before $(ADMIT_BEFORE))
	node --import @tapjs/typescript/import bench/apiserver-admission.ts

clean:
	rm -rf dist .tap $(RESULTS) coverage
