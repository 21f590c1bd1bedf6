# One image for both services; its command picks the service:
#   docker run IMAGE                                      the web (node services/web/dist/main.js)
#   docker run IMAGE node services/worker/dist/main.js    the worker
# Build with `docker build -t flotilla .` (BuildKit). tests/deploy-tests runs the build stage's
# steps for real and starts both services from its output, exactly as the commands below do.

# Pinned to a patch release; pin the digest as well (`…-bookworm-slim@sha256:…`) and let
# Renovate/Dependabot bump both. The major must match NODE_MAJOR in
# tools/devstack/bin/with-toolchain.sh (a test keeps them equal).
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS toolchain
# The pnpm release the repository is developed with (PNPM_VERSION in with-toolchain.sh).
ARG PNPM_VERSION=12.21.0
RUN npm install --global --no-fund --no-audit --no-update-notifier pnpm@${PNPM_VERSION}
WORKDIR /src

FROM toolchain AS build
# The lockfile alone decides what is downloaded, so this layer survives every source change.
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN pnpm fetch
COPY . .
RUN pnpm install --frozen-lockfile --offline
RUN pnpm exec tsc -b services/web services/worker
# Each service with only its production dependencies, workspace packages copied in (pnpm deploy
# needs injectWorkspacePackages). Only dist, node_modules and package.json go into the image:
# no sources, tests, devDependencies or compilers.
RUN pnpm --filter @flotilla/web --prod deploy .deploy/web \
 && pnpm --filter @flotilla/worker --prod deploy .deploy/worker \
 && for service in web worker; do \
      mkdir -p "image/services/$service" \
      && mv ".deploy/$service/package.json" ".deploy/$service/node_modules" ".deploy/$service/dist" "image/services/$service/"; \
    done

FROM ${NODE_IMAGE} AS runtime
# tini runs as PID 1: it forwards SIGTERM/SIGINT to node and reaps the processes node:cluster
# forks when WEB_CONCURRENCY > 1. Pinned to the Debian bookworm release (any rebuild of it, for
# every architecture the image is built for).
RUN apt-get update \
 && apt-get install --yes --no-install-recommends 'tini=0.19.0-1*' \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
# Owned by root, readable by everyone: the process (any UID, group 0 on OpenShift) can run the
# code but not change it.
COPY --from=build /src/image/ /app/
# The numeric UID of the image's `node` user: runAsNonRoot can verify a number, not a name.
USER 1000
EXPOSE 3000 3001
# For Docker and Compose (Kubernetes and Cloud Run use their own probes): the process answers
# /healthz on PORT, or on the default port of web (3000) or worker (3001) when PORT is unset.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const ports = process.env.PORT ? [process.env.PORT] : ['3000', '3001']; Promise.any(ports.map((port) => fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(4000) }).then((res) => { if (!res.ok) throw new Error(String(res.status)); }))).then(() => process.exit(0), () => process.exit(1));"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# Exec form, no npm or pnpm in between: signals reach node itself.
CMD ["node", "services/web/dist/main.js"]
