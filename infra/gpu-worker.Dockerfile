# GPU worker image for dynsweep: one worker process per GPU, serving the GPU training queue with the `tfjs` engine
# on the native TensorFlow GPU backend (@tensorflow/tfjs-node-gpu, installed in this image only; it is never a
# dependency of the package).
#
#   docker build -f infra/gpu-worker.Dockerfile -t dynsweep-gpu .
#   docker run --rm --gpus device=0 -e TEMPORAL_ADDRESS=temporal:7233 -e AWS_ENDPOINT_URL=http://minio:9000 \
#     -e AWS_ACCESS_KEY_ID=... -e AWS_SECRET_ACCESS_KEY=... dynsweep-gpu
#
# Grids meant for GPUs say `engine: tfjs` and `execution: { taskQueue: dynsweep-train-gpu }` (bigger packs,
# e.g. packSize 256, are what make a GPU worth using). DYNSWEEP_TFJS_BACKEND=tensorflow-gpu makes the engine fail
# loudly instead of falling back to wasm/cpu when the GPU backend cannot load (driver, CUDA, cuDNN mismatch).
#
# @tensorflow/tfjs-node-gpu 4.22 downloads libtensorflow 2.9.1 (GPU) at install time, built for CUDA 11.2 and
# cuDNN 8.1; CUDA 11.8 runtime with cuDNN 8 runs it (CUDA 11 minor-version compatibility), and the host needs an
# NVIDIA driver >= 520 plus the NVIDIA container toolkit.
ARG CUDA_IMAGE=nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04

FROM ${CUDA_IMAGE} AS build
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl gnupg python3 make g++ \
 && curl -fsSL https://deb.nodesource.com/setup_20.x | bash - \
 && apt-get install -y --no-install-recommends nodejs \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund
# The native GPU backend, in this image only (--no-save: package.json and the lock file stay as committed).
# Its version must match @tensorflow/tfjs in package-lock.json.
RUN TFJS=$(node -p "require('@tensorflow/tfjs/package.json').version") \
 && npm install --no-save --no-audit --no-fund "@tensorflow/tfjs-node-gpu@${TFJS}" \
 && node -e "require('@tensorflow/tfjs-node-gpu'); console.log('tfjs-node-gpu binding loads')"

FROM ${CUDA_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl gnupg \
 && curl -fsSL https://deb.nodesource.com/setup_20.x | bash - \
 && apt-get install -y --no-install-recommends nodejs \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    DYNSWEEP_TFJS_BACKEND=tensorflow-gpu \
    TF_CPP_MIN_LOG_LEVEL=1 \
    TF_FORCE_GPU_ALLOW_GROWTH=true
WORKDIR /app
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
