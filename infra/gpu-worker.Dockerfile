# GPU worker image for dynsweep: one worker process per GPU, serving the GPU training queue with the `tfjs` engine
# on the native TensorFlow GPU backend: @tensorflow/tfjs-node-gpu's binding built by `scripts/native.sh gpu`
# against the TensorFlow 2.9.1 GPU wheel and NVIDIA's CUDA 11.8 / cuDNN 8.6 wheels, all from PyPI (docs/native.md).
# The build needs Docker Hub, npm, PyPI and Debian's apt, nothing else (no storage.googleapis.com download).
# Never run on a GPU (none was available to the project); the recipe was built and loaded on a CPU-only machine.
#
#   docker build -f infra/gpu-worker.Dockerfile -t dynsweep-gpu .
#   docker run --rm --gpus device=0 -e TEMPORAL_ADDRESS=temporal:7233 -e AWS_ENDPOINT_URL=http://minio:9000 \
#     -e AWS_ACCESS_KEY_ID=... -e AWS_SECRET_ACCESS_KEY=... dynsweep-gpu
#
# Grids meant for GPUs say `engine: tfjs` and `execution: { taskQueue: dynsweep-train-gpu }` (bigger packs,
# e.g. packSize 256, are what make a GPU worth using). DYNSWEEP_TFJS_BACKEND=tensorflow-gpu makes the engine fail
# loudly instead of falling back to wasm/cpu when the GPU backend cannot load (driver, CUDA, cuDNN mismatch).
#
# The CUDA libraries are in the image (from PyPI), so the base is plain Debian; the host needs an NVIDIA driver
# >= 520 (CUDA 11.8) and the NVIDIA container toolkit, which mounts libcuda.so.1 into the container.
FROM node:20-bookworm AS build
# node:20-bookworm has Node's headers, g++, binutils and python3; pip comes from Debian.
RUN apt-get update && apt-get install -y --no-install-recommends python3-pip && rm -rf /var/lib/apt/lists/*
# The binding finds TensorFlow by absolute path in this cache: the runtime stage keeps it at the same place.
ENV DYNSWEEP_CACHE=/opt/dynsweep/cache
WORKDIR /app
COPY package.json package-lock.json ./
# No dependency install scripts: npm 10 would run @tensorflow/tfjs-node's, which downloads from outside the
# registries (the others only print or check; their native parts are platform packages).
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund
# tfjs-node-gpu (--no-save, this image only; npm_config_omit keeps dev dependencies out) and its binding.
RUN npm_config_omit=dev bash scripts/native.sh gpu && rm -rf "$DYNSWEEP_CACHE/native/wheels"

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    DYNSWEEP_CACHE=/opt/dynsweep/cache \
    DYNSWEEP_TFJS_BACKEND=tensorflow-gpu \
    MALLOC_ARENA_MAX=2 \
    TF_CPP_MIN_LOG_LEVEL=1 \
    TF_FORCE_GPU_ALLOW_GROWTH=true \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
WORKDIR /app
COPY --from=build /opt/dynsweep/cache/native/tf-2.9.1-gpu /opt/dynsweep/cache/native/tf-2.9.1-gpu
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
RUN ln -s /app/bin/sweep.js /usr/local/bin/sweep
USER 1000
# One process per GPU (give each container one GPU: --gpus device=N, or CUDA_VISIBLE_DEVICES=N, or a k8s
# nvidia.com/gpu: 1 limit); one pack at a time per GPU.
ENTRYPOINT ["node", "/app/bin/sweep.js", "worker"]
CMD ["--queue", "train", "--train-queue", "dynsweep-train-gpu", "--concurrency", "1"]
