# Wharf container image. Build with `docker compose build` or `docker build -t wharf .`.

FROM node:20-bookworm-slim AS build

# better-sqlite3 compiles its native module with node-gyp when it cannot download a prebuilt binary.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies go in a layer of their own, so a source change does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci

COPY . .
RUN npm run build && npm prune --omit=dev


FROM node:20-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

# The application files stay owned by root, so the process cannot modify its own code.
# package.json is needed at run time because it sets "type": "module" for dist/.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

# The node user (uid 1000) comes with the base image. A named volume mounted at /var/lib/wharf
# starts with this directory's ownership, so the node user can write to it.
RUN mkdir -p /var/lib/wharf /etc/wharf && chown node:node /var/lib/wharf
USER node

VOLUME /var/lib/wharf
EXPOSE 5000

ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["serve", "--config", "/etc/wharf/wharf.yaml"]
