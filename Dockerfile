# pipeserve: PaddleX-compatible pipeline serving on Node.js 20.
#   docker build -t pipeserve:0.1.0 .
#   docker run -p 8080:8080 -v pipeserve-models:/var/cache/pipeserve pipeserve:0.1.0 --serve --pipeline OCR --port 8080
# Not built in this repository's CI (no container engine there); test/deploy.test.ts checks this file's
# structure and runs its HEALTHCHECK and command against the real server.

# --- build: install with dev dependencies, compile the server, the client package and the playground
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY packages/client/package.json packages/client/
# no install scripts: sharp and onnxruntime-node ship their binaries in packages (.npmrc skips the CUDA download)
RUN npm ci --ignore-scripts
COPY . .
RUN npm run build && npm prune --omit=dev --ignore-scripts

# --- runtime: the built server and its production dependencies only, run as the unprivileged `node` user
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    PIPESERVE_HOME=/var/cache/pipeserve
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/playground ./dist/playground
COPY --from=build /app/configs ./configs
COPY --from=build /app/src/serving/triton/proto ./src/serving/triton/proto
# Debian's ffmpeg: the video pipelines count and decode frames with ffprobe/ffmpeg (README, "Speech recognition and video")
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
# downloaded official models and Paddle→ONNX conversions ($PIPESERVE_HOME): a volume, so they survive the container
RUN mkdir -p /var/cache/pipeserve && chown node:node /var/cache/pipeserve
VOLUME /var/cache/pipeserve
USER node
EXPOSE 8080
# PaddleX's /health; the image has no curl, so Node's fetch asks
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["--serve", "--pipeline", "OCR", "--port", "8080"]
