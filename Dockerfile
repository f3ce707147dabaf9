# syntax=docker/dockerfile:1
# The warmflow worker image: what every Kubernetes resource (pod) runs.
#
#   docker build -t registry.example.com/warmflow-worker:0.1.0 .
#   docker push registry.example.com/warmflow-worker:0.1.0
#
# Flows are baked in by an image built FROM this one (see docs/kubernetes.md).

# --- build: full toolchain, dev dependencies, TypeScript compile --------------------
FROM node:20-slim AS build
# better-sqlite3 ships prebuilt binaries; the toolchain is the fallback when none matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY bench ./bench
COPY schema ./schema
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# --- runtime: production dependencies and compiled code only, non-root ----------------
FROM node:20-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
RUN groupadd --system --gid 10001 warmflow \
 && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --shell /usr/sbin/nologin warmflow
COPY --from=build --chown=root:root /app/package.json ./package.json
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --from=build --chown=root:root /app/bin ./bin
COPY --from=build --chown=root:root /app/schema ./schema
# Owned by root, run as 10001: the worker cannot modify its own code. /tmp is the only
# writable path (an emptyDir in the pod; the root filesystem is mounted read-only).
USER 10001:10001
EXPOSE 7470
ENTRYPOINT ["node", "bin/warmflow.js", "worker"]
CMD ["--listen", "0.0.0.0:7470"]
