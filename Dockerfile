# Wharf container image. Build with `docker compose build` or `docker build -t wharf .`.

FROM node:20-bookworm-slim AS build

# better-sqlite3 compiles its native module with node-gyp when it cannot download a prebuilt binary.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*

# @scarf/scarf, a dependency of swagger-ui-dist, reports each install over the network from its
# install script unless this is set. The allowScripts entry in package.json that turns that script
# off is read only by npm releases newer than the npm 10 bundled with Node 20.
ENV SCARF_ANALYTICS=false

WORKDIR /app

# Dependencies go in a layer of their own, so a source change does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# `npm run build` compiles src/ and migrations/ into dist/ and the web UI into dist/ui; the runtime
# stage needs neither TypeScript nor Vite, which are development dependencies.
COPY . .
RUN npm run build && npm prune --omit=dev


FROM node:20-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

# The application files stay owned by root, so the process cannot modify its own code.
# package.json is needed at run time because it sets "type": "module" for dist/.
# config/wharf.yaml is the embedded default that `serve` and `config check` fall back to without
# --config. .dockerignore keeps every other file of config/ out of the build.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/config/wharf.yaml ./config/wharf.yaml

# The node user (uid 1000) comes with the base image. A named volume mounted at /var/lib/wharf
# starts with this directory's ownership, so the node user can write to it.
RUN mkdir -p /var/lib/wharf /etc/wharf && chown node:node /var/lib/wharf
USER node

VOLUME /var/lib/wharf
# 5000 serves the registry, the API, the UI and the health probes; 5001 serves only /metrics.
EXPOSE 5000 5001

# The image has no curl, so node's fetch asks the liveness probe. Port 5000 is the default
# http.port; change it here too if the configuration moves Wharf to another port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:5000/livez').then((response) => process.exit(response.ok ? 0 : 1), () => process.exit(1))"]

# Without --config, Wharf reads ./config/wharf.yaml, the embedded default copied above; it listens on
# every interface of the container so that published ports reach it. Compose passes its own config.
ENV WHARF_HTTP__ADDRESS=0.0.0.0
# The V8 flags keep the heap small; package.json's start script passes the same ones.
ENTRYPOINT ["node", "--max-semi-space-size=2", "--heap-growing-percent=100", "dist/src/main.js"]
CMD ["serve"]
