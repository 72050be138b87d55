# copilot-audit gateway image. Build: docker build -t copilot-audit .
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.base.json tsconfig.json ./
COPY packages ./packages
COPY migrations ./migrations
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app /app
# State (embedded database, keys, spool) and the CA live on volumes, never in the image.
VOLUME ["/data", "/certs"]
EXPOSE 8080
USER node
ENTRYPOINT ["node", "packages/cli/bin/copilot-audit.js"]
CMD ["start", "--listen", "0.0.0.0:8080", "--data-dir", "/data", "--ca-dir", "/certs"]
