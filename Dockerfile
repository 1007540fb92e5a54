# syntax=docker/dockerfile:1
# ctmd production image: build with the full toolchain, ship only the compiled
# daemon and its production dependencies, run as the unprivileged "node" user.

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY packages/core/package.json ./packages/core/
# classic-level and cbor-extract ship prebuilt binaries: no install scripts, no compiler.
# Of the workspaces, only @ctm/core (the code ctmd shares with the SDK) goes into the image.
RUN npm ci --no-fund --no-audit --ignore-scripts --workspace @ctm/core --include-workspace-root
COPY tsconfig.json tsconfig.build.json ./
COPY packages/core ./packages/core
COPY src ./src
# npm run build compiles @ctm/core, the daemon (dist/src) and the web console (dist/console).
RUN npm run build && npm prune --omit=dev --no-fund --no-audit --ignore-scripts --workspace @ctm/core --include-workspace-root

FROM node:20-bookworm-slim
# Reachable from outside the container, so auth is on: the first start writes an admin token to
# /var/lib/ctm/admin.token (mode 0600), read it with
#   docker exec <container> cat /var/lib/ctm/admin.token
# then create the tokens you need (ctm token create) and delete the file.
ENV NODE_ENV=production \
    CTM_AUTH=on \
    CTM_LISTEN=0.0.0.0:7411 \
    CTM_METRICS_LISTEN=0.0.0.0:9464 \
    CTM_HTTP_LISTEN=0.0.0.0:7480 \
    CTM_DATA_DIR=/var/lib/ctm
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
# node_modules/@ctm/core links here.
COPY --from=build /src/packages/core/package.json ./packages/core/package.json
COPY --from=build /src/packages/core/dist ./packages/core/dist
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/console ./dist/console
RUN mkdir -p /var/lib/ctm && chown node:node /var/lib/ctm
USER node
VOLUME ["/var/lib/ctm"]
# gRPC API, Prometheus /metrics, and HTTP (the web console at /ui/, its JSON API, OFREP).
EXPOSE 7411 9464 7480
# grpc.health.v1 Check through the daemon's own port; NOT_SERVING (store failed) makes it unhealthy.
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "dist/src/health-probe.js"]
# SIGTERM drains Watch streams and closes LevelDB cleanly.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/src/main.js"]
