# urp-case-sync service image (used by docker-compose.yml). Build: docker build -t urp-case-sync .
FROM node:20-bookworm-slim AS build
# The Kafka client (@confluentinc/kafka-javascript) installs its prebuilt binary where it can be downloaded and
# otherwise compiles its bundled librdkafka against the system's OpenSSL and zlib (scripts/kafka-native.mjs).
RUN apt-get update \
  && apt-get install -y --no-install-recommends g++ make python3 libssl-dev zlib1g-dev ca-certificates \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/kafka-native.mjs ./scripts/kafka-native.mjs
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev \
  && rm -rf node_modules/@confluentinc/kafka-javascript/build/Release/obj.target \
    node_modules/@confluentinc/kafka-javascript/deps/librdkafka

FROM node:20-bookworm-slim
ENV NODE_ENV=production
# Memory settings of an instance (cli/instance-runtime.ts, docs/operations.md "Memory"): glibc's mmap threshold
# fixed at 128 KiB here, the young generation's size on the node command line below.
ENV MALLOC_MMAP_THRESHOLD_=131072
RUN apt-get update \
  && apt-get install -y --no-install-recommends libssl3 zlib1g ca-certificates \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
RUN mkdir -p /var/lib/urp-case-sync && chown node:node /var/lib/urp-case-sync
USER node
EXPOSE 8080
ENTRYPOINT ["node", "--max-semi-space-size=8", "--heap-growing-percent=100", "dist/cli/main.js"]
CMD ["start"]
