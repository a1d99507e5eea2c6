#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs npm packages, builds, builds (once, cached under
# ~/.cache/dynsweep) the Temporal dev server and MinIO from pinned sources and the native TensorFlow backend from
# PyPI's wheel, makes sure numpy is there for the independent artifact check, then runs vitest.
# Extra arguments go to vitest (e.g. a file filter, or reporters).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build
bash infra/servers.sh ensure >&2
# The tfjs engine's native TensorFlow backend (docs/native.md; cached: about 20 s the first time, 2 s after);
# required, so test/unit/tfjs-native.test.ts fails instead of skipping when the build is broken.
bash scripts/native.sh cpu >&2
export DYNSWEEP_NATIVE_REQUIRED=1
# tools/verify_artifact.py (the independent artifact check, test/e2e/artifacts.test.ts) needs numpy.
python3 -c 'import numpy' 2>/dev/null || python3 -m pip install --quiet numpy
# test/e2e/report.test.ts opens report.html in Debian's chromium (driven by playwright-core).
command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium) >&2
exec npx vitest run "$@"
