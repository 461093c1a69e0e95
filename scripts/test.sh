#!/usr/bin/env bash
# Sets up this machine (host tools, Chromium for the browser tests, Node packages, build)
# and runs the whole test suite: type check, unit, integration (real mkosi, SQLite) and browser.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRA_PACKAGES="chromium ${EXTRA_PACKAGES:-}" scripts/setup-host.sh
scripts/install-deps.sh --build --typecheck
npx vitest run
