#!/usr/bin/env bash
# Install the JavaScript clients the end-to-end tests drive (ethers, Foundry's
# cast and anvil from npm), exactly as package-lock.json pins them.
# Idempotent: does nothing when node_modules already matches the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "setup-e2e: node/npm not found; the end-to-end tests that need them will be skipped" >&2
    exit 0
fi

stamp=node_modules/.hyperion-e2e-lock
if [ -f "$stamp" ] && cmp -s package-lock.json "$stamp" \
        && [ -x node_modules/.bin/cast ] && [ -x node_modules/.bin/anvil ] && [ -d node_modules/ethers ]; then
    exit 0
fi

echo "setup-e2e: npm ci (ethers, @foundry-rs/cast, @foundry-rs/anvil)" >&2
# the foundry packages ship their binaries in per-platform optional
# dependencies; their postinstall scripts are not needed
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
cp package-lock.json "$stamp"
node_modules/.bin/cast --version | head -1 >&2
