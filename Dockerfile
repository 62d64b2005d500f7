# syntax=docker/dockerfile:1
# The services' image: one image for all of them, the service chosen by SERVICE
# (order, inventory, payment, notification, shipping, status, orchestrator), at build
# time (--build-arg SERVICE=order) or at run time (-e SERVICE=order).
#
#   docker build -t orderflow/service:0.1.0 .
#   docker run -e SERVICE=order -e KAFKA_BROKERS=kafka:9092 -e DATABASE_URL=postgres://... -p 8080:8080 orderflow/service:0.1.0
#
# The services run their TypeScript through tsx (a production dependency): there is no
# emit step, so the build stage's "build" is the type check, which gates the image.
ARG NODE_VERSION=22

FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /app
ENV CI=true NPM_CONFIG_AUDIT=false NPM_CONFIG_FUND=false NPM_CONFIG_UPDATE_NOTIFIER=false
# Manifests first: the dependency layers are reused until a package.json or the lockfile changes.
COPY package.json package-lock.json ./
COPY packages/contracts/package.json packages/contracts/
COPY packages/platform/package.json packages/platform/
COPY services/order/package.json services/order/
COPY services/inventory/package.json services/inventory/
COPY services/payment/package.json services/payment/
COPY services/notification/package.json services/notification/
COPY services/shipping/package.json services/shipping/
COPY services/status/package.json services/status/
COPY services/orchestrator/package.json services/orchestrator/
COPY apps/orderflow/package.json apps/orderflow/
COPY apps/web/package.json apps/web/
RUN --mount=type=cache,target=/root/.npm npm ci
COPY tsconfig.base.json tsconfig.json ./
COPY config config
COPY packages packages
COPY services services
RUN npx tsc -p tsconfig.json --noEmit
# Production dependencies only, of the root (tsx) and the service workspaces: no web UI, no test tools.
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --include-workspace-root \
      --workspace=@orderflow/contracts --workspace=@orderflow/platform \
      --workspace=@orderflow/order --workspace=@orderflow/inventory --workspace=@orderflow/payment \
      --workspace=@orderflow/notification --workspace=@orderflow/shipping --workspace=@orderflow/status \
      --workspace=@orderflow/orchestrator \
 && rm -f tsconfig.json tsconfig.base.json

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
WORKDIR /app
# HOST: the services listen on 127.0.0.1 unless told otherwise. DATA_DIR: the only place
# they write (embedded databases when DATABASE_URL is unset); a volume in Compose, an
# emptyDir in Kubernetes, where the root filesystem is read-only. tsx caches in /tmp.
# Production mode unless told otherwise: a token for everything but /health and /ready (AUTH_ISSUER required).
ENV NODE_ENV=production HOST=0.0.0.0 DATA_DIR=/data LOG_FORMAT=json AUTH_MODE=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/packages packages
COPY --from=build /app/services services
COPY --from=build /app/config config
COPY deploy/docker/healthcheck.mjs deploy/docker/wait-for-dependencies.mjs deploy/docker/
RUN mkdir -p /data && chown 1000:1000 /data
# The node image's unprivileged user, by number so that Kubernetes can verify runAsNonRoot.
USER 1000:1000
ARG SERVICE=
ENV SERVICE=${SERVICE}
EXPOSE 8080 8081 8082 8083 8084 8085 8086
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["node", "deploy/docker/healthcheck.mjs", "/ready"]
# Waits for the broker and database it is configured with, then becomes the service (exec:
# node is PID 1 and gets SIGTERM, on which the service drains and exits).
CMD ["/bin/sh", "-c", "node deploy/docker/wait-for-dependencies.mjs && exec node --import tsx \"services/${SERVICE:?set SERVICE to order, inventory, payment, notification, shipping, status or orchestrator}/main.ts\""]
