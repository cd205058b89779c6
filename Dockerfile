# One image for the five services (the command picks the service). Node 24 runs the TypeScript sources
# directly (type stripping), so there is no build stage; the share page's browser bundle is built here and
# Node's compile cache is filled.
FROM node:24-bookworm-slim
# Phone formats (README "Formats"): libheif's heif-convert decodes HEIC (sharp's prebuilt libvips has no HEVC
# decoder), ffmpeg/ffprobe read videos, make posters and web-playable renditions. Installed only when missing, so
# test/production-recipe.test.ts, which replays these lines on the host, leaves a machine that has them alone.
RUN command -v ffmpeg >/dev/null && command -v heif-convert >/dev/null \
  || (apt-get update && apt-get install -y --no-install-recommends ffmpeg libheif-examples \
  && rm -rf /var/lib/apt/lists/*)
WORKDIR /app
COPY . .
# Install WITH devDependencies (the build runs turbo, a devDependency: with NODE_ENV=production set before
# `npm ci` they were omitted and the build failed, exit 127), build, then drop them again. One RUN, so no image
# layer keeps the devDependencies. test/production-recipe.test.ts replays these RUN/ENV lines without Docker.
RUN npm ci --include=dev --no-audit --no-fund \
 && npm run build --if-present \
 && npm prune --omit=dev --no-audit --no-fund
ENV NODE_ENV=production
# Type-stripped modules cached at build time: a service then starts without loading the TypeScript stripper
# (~25 MiB less memory per process) — scripts/warm-compile-cache.ts. Run after the prune: it also proves the
# services' modules load from production dependencies alone.
ENV NODE_COMPILE_CACHE=/app/.cache/node-compile
RUN node scripts/warm-compile-cache.ts && chown -R node:node /app/.cache
USER node
# overridden per service in docker-compose.yml
CMD ["node", "apps/links-api/src/main.ts"]
