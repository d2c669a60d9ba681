# syntax=docker/dockerfile:1
# The injected sidecar image (`acr-p2p sidecar`). Every injected pod pulls it (by digest, IfNotPresent):
# keep it small. Build from the repository root:
#   docker build -f hack/images/sidecar.Dockerfile -t IMAGE .
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY lib ./lib
COPY sidecar ./sidecar
USER 1000:1000
# V8 flags: see sidecar/node-flags.ts (a unit test keeps this line in step with it).
ENTRYPOINT ["node", "--initial-old-space-size=64", "bin/acr-p2p.ts"]
CMD ["sidecar"]
