# syntax=docker/dockerfile:1
# The librechat-supabase sync node (`serve`): production mode, non-root, with a health check.
#   docker build -t librechat-supabase .
#   docker run --env-file .env -p 127.0.0.1:9443:9443 librechat-supabase

# ---- build: install with the native module compiled for this image, compile TypeScript, drop dev dependencies
FROM node:20-bookworm-slim AS build
WORKDIR /app
# Toolchain for better-sqlite3 when no prebuilt binary matches (node-gyp).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# Exact versions from the lock file; install scripts run only for the native module the sync node needs.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3
COPY tsconfig.json tsup.config.ts ./
COPY src ./src
COPY supabase ./supabase
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime: only what `serve` needs, owned by root and run by the unprivileged `node` user
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    LCS_PORT=9443
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/supabase ./supabase
USER node
EXPOSE 9443
# GET /health answers 200 only while the database is reachable; node itself does the request (no curl in the image).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.LCS_PORT || 9443) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/cli.js", "serve"]
