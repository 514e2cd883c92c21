# Flashline: one image for every process (api, bridge, worker, compensator, migrate).
# The default command runs the api; the other processes override the command with the
# same line the Procfile uses, e.g.
#   docker run --rm flashline node --import tsx src/cmd/worker.ts
#   docker run --rm flashline node --import tsx src/cmd/migrate.ts
FROM node:20-bookworm-slim

WORKDIR /app

# Dependencies first, so the layer is reused while only the sources change.
# tsx runs the TypeScript sources directly, so there is no build step.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund && npm cache clean --force

COPY . .

ENV NODE_ENV=production \
    HOST=0.0.0.0

# api, then the metrics ports of bridge, worker and compensator.
EXPOSE 3000 9101 9102 9103

USER node

CMD ["node", "--import", "tsx", "src/cmd/api.ts"]
