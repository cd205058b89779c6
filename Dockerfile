# One image for the four services (the command picks the service). Node 24 runs the TypeScript sources
# directly (type stripping), so there is no build stage; the share page's browser bundle is built here and
# Node's compile cache is filled.
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY apps/links-api/package.json apps/links-api/
COPY apps/share-gateway/package.json apps/share-gateway/
COPY apps/export-worker/package.json apps/export-worker/
COPY apps/ingest-worker/package.json apps/ingest-worker/
COPY packages/contracts/package.json packages/contracts/
COPY packages/db/package.json packages/db/
COPY packages/domain/package.json packages/domain/
COPY packages/storage/package.json packages/storage/
COPY packages/media/package.json packages/media/
COPY packages/runtime/package.json packages/runtime/
COPY packages/testkit/package.json packages/testkit/
COPY packages/devstack/package.json packages/devstack/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build --if-present
# Type-stripped modules cached at build time: a service then starts without loading the TypeScript stripper
# (~25 MiB less memory per process) — scripts/warm-compile-cache.ts.
ENV NODE_COMPILE_CACHE=/app/.cache/node-compile
RUN node scripts/warm-compile-cache.ts && chown -R node:node /app/.cache
USER node
# overridden per service in docker-compose.yml
CMD ["node", "apps/links-api/src/main.ts"]
