# syntax=docker/dockerfile:1
# meshguard image: `meshguard serve` and `meshguard sync-status` (one image, two
# containers in manifests/base/deployment.yaml).
#   docker build -t meshguard:0.1.0 .

ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: full dependency tree, compile TypeScript to dist/ ------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Manifests first: the npm ci layer is reused until the lockfile changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY policies ./policies
COPY server ./server
COPY syncer ./syncer
COPY cli ./cli
COPY certs ./certs
RUN npm run build

# --- production dependencies only ---------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No dev dependencies (TypeScript, tap, ...); no install scripts: none of the runtime
# dependencies needs one, and none gets to run code at build time.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force

# --- runtime ------------------------------------------------------------------------
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# package.json is needed at run time: "type": "module" makes dist/*.js ES modules.
COPY --from=deps /app/package.json ./package.json
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# Numeric uid/gid (no passwd entry needed) so Kubernetes can verify runAsNonRoot;
# matches runAsUser/runAsGroup in the Deployment. Files stay root-owned and read-only
# to this user; the root filesystem is mounted read-only in the cluster anyway.
USER 65532:65532
# 8443 admission (HTTPS), 9090 webhook metrics, 9091 status-syncer metrics/health.
# The old generation is half the container's memory limit (node reads the cgroup limit;
# 256 MB under the webhook's 512Mi): the rest is for buffers, code and the young generation,
# so that the worst request body a client can send is collected before the kernel kills the
# pod (test/fuzz/admission.test.ts runs the server this way and checks its peak RSS).
# That cap is in NODE_OPTIONS, not on the command line: node applies command-line flags
# after NODE_OPTIONS, so a cap here would silently override the one a Deployment sets
# (manifests and chart set NODE_OPTIONS to this same default; test/manifests).
ENV NODE_OPTIONS=--max-old-space-size-percentage=50
EXPOSE 8443 9090 9091
ENTRYPOINT ["node", "--max-semi-space-size=4", "/app/dist/cli/main.js"]
CMD ["serve"]
