# CPU worker image for dynsweep: training workers (`--queue train`, the `fast` WebAssembly SIMD engine, one pack
# per core) and, with another command, the control worker (`--queue control`) or the CLI itself.
#
#   docker build -f infra/cpu-worker.Dockerfile -t dynsweep-cpu .
#   docker run --rm -e TEMPORAL_ADDRESS=temporal:7233 -e AWS_ENDPOINT_URL=http://minio:9000 \
#     -e AWS_ACCESS_KEY_ID=... -e AWS_SECRET_ACCESS_KEY=... --cpus 8 dynsweep-cpu --concurrency 8
#
# Concurrency: Node's availableParallelism() counts the host's CPUs, not a container's CPU quota (--cpus, k8s
# limits), so pass --concurrency equal to the cores the container may use (one pack = one busy core).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No dependency install scripts: npm 10 would run @tensorflow/tfjs-node's, which downloads libtensorflow from
# outside the registries. Without its binding the tfjs engine uses wasm here; `npm run native` (docs/native.md)
# adds the native backend where a CPU image wants it.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
# asbuild (AssemblyScript -> dist/wasm/fast-kernel.wasm) then tsc; then drop dev dependencies.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
# glibc arenas per thread keep freed memory: two bound a worker's resident memory (docs/deploy.md, "Memory").
ENV NODE_ENV=production MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/examples ./examples
RUN ln -s /app/bin/sweep.js /usr/local/bin/sweep
USER node
ENTRYPOINT ["node", "/app/bin/sweep.js", "worker"]
CMD ["--queue", "train"]
