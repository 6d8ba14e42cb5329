# syntax=docker/dockerfile:1
# The service, built in one stage and run in another that holds only what it needs:
# production dependencies, the compiled dist/, the migrations (drizzle/) and the console (admin/).
# test/package/dockerfile.test.ts runs these same steps in a clean checkout (this machine pulls no images).

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: "prepare" builds, and the sources are not copied yet.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY plugins ./plugins
COPY routes ./routes
COPY schema ./schema
RUN npm run build

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8000 DATA_DIR=/app/data
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; no lifecycle scripts ("prepare" would build with dev tools).
# The password hasher and PGlite ship prebuilt binaries and wasm: nothing compiles here.
COPY scripts/patch-postgres.mjs ./scripts/
RUN npm ci --omit=dev --ignore-scripts && node scripts/patch-postgres.mjs && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY drizzle ./drizzle
COPY admin ./admin
# The data folder is the server's user's alone (it checks at start, and says when it had to fix it).
RUN mkdir -p -m 700 /app/data && chown node:node /app/data
USER node
EXPOSE 8000
# The image's node answers signals itself (no npm in between), so SIGTERM drains gracefully.
CMD ["node", "--heap-growing-percent=50", "dist/src/server.js"]
