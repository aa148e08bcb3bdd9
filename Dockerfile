# syntax=docker/dockerfile:1
# The production image, `spinta-backend` (docs/deployment.md#container-image):
#   docker build -t spinta-backend .
#   docker run --rm -e DATABASE_URL=... spinta-backend node dist/scripts/migrate.js
#   docker run --read-only -p 8000:8000 -e DATABASE_URL=... -e SECRET_KEY=... spinta-backend

# Node's active LTS, the line CI tests besides the machine's own.
ARG NODE_IMAGE=node:26-bookworm-slim

# The release (dist/), built from the sources with every dependency.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
COPY plugins ./plugins
COPY routes ./routes
COPY migrations ./migrations
COPY vendor ./vendor
RUN npm run build

# The release and its production dependencies only: no sources, no build tools, no embedded PostgreSQL.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0
WORKDIR /app
COPY package.json package-lock.json ./
# No production dependency needs an install script.
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /app/dist ./dist
# The official image's `node` user, by number so that runAsNonRoot can verify it. Root owns every
# file: the server writes nothing, so the root filesystem can be mounted read-only.
USER 1000:1000
EXPOSE 8000
# Exec form, so node is PID 1 and gets SIGTERM itself: it shuts down gracefully on SIGTERM and
# SIGINT, and starts no child processes, so it needs no init to reap them. Under a memory limit V8
# would shrink its young generation to 1 MB semi-spaces, and a busy server would spend far more of
# its time collecting; 16 MB is what it takes without a limit.
CMD ["node", "--max-semi-space-size=16", "dist/src/server.js"]
