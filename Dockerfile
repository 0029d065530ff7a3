# Production image of the Braid worker and CLI. Build: docker build -t braid .
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json ./
COPY activities activities
COPY bin bin
COPY client client
COPY config config
COPY connectors connectors
COPY domain domain
COPY emulators emulators
COPY local local
COPY store store
COPY test test
COPY worker worker
COPY workflows workflows
COPY examples examples
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app /app
USER node
ENTRYPOINT ["node", "/app/dist/client/cli.js"]
CMD ["worker", "--config", "/config/braid.yaml"]
