#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs npm packages, builds, builds (once, cached under
# ~/.cache/dynsweep) the Temporal dev server and MinIO from pinned sources, then runs vitest.
# Extra arguments go to vitest (e.g. a file filter, or reporters).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build
bash infra/servers.sh ensure >&2
exec npx vitest run "$@"
