# syntax=docker/dockerfile:1
# The controller image: admission webhook, peer directory and certgen (`acr-p2p webhook|certgen`).
# Build from the repository root:  docker build -f hack/images/controller.Dockerfile -t IMAGE .
# Node 24 runs the TypeScript sources directly (type stripping): no build step, no dev dependencies.
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
COPY webhook ./webhook
# The controller shares the option parsing and sidecar option table with the sidecar.
COPY sidecar ./sidecar
# The node image's unprivileged user (uid 1000), as the chart's securityContext expects.
USER 1000:1000
ENTRYPOINT ["node", "bin/acr-p2p.ts"]
CMD ["webhook"]
