# syntax=docker/dockerfile:1
# One image for the API (`serve`, the default), the job workers (`worker`) and one-off commands (`migrate`,
# `admin:create`, `keys:rotate`). .ci/run runs these same install, build and start commands on a clean
# checkout, since no Docker engine runs there.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Without scripts: `prepare` would build before the sources are copied, and no dependency needs one.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
# DATA_DIR: uploaded files, and the embedded database when there is no DATABASE_URL. The image's own user.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/health/ready`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is the container's first process, so `docker stop`'s SIGTERM reaches the server, which drains.
CMD ["node", "dist/main.js", "serve"]
