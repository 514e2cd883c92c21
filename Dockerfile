# Flashline: one image for every process (api, bridge, worker, compensator, migrate).
# The default command runs the api; the other processes override the command with the
# same line the Procfile uses, e.g.
#   docker run --rm flashline node dist/cmd/worker.js
#   docker run --rm flashline node dist/cmd/migrate.js
# Node 24 LTS; the build stage compiles the TypeScript, the final stage holds only the
# compiled JavaScript and the production dependencies.

# Compiles src/ to dist/ (tsc, a dev dependency).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# The production dependencies alone, in a stage of their own so the layer is reused while
# only the sources change.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0
COPY --from=deps /app/node_modules ./node_modules
COPY package.json Procfile ./
# Read at run time beside dist/: the gate's scripts, the SQL migrations, the room's page.
COPY lua ./lua
COPY migrations ./migrations
COPY web ./web
COPY --from=build /app/dist ./dist

# api, then the metrics ports of bridge, worker and compensator.
EXPOSE 3000 9101 9102 9103

# Files stay root's and read-only to the process; it runs as the image's unprivileged user.
USER node

CMD ["node", "dist/cmd/api.js"]
