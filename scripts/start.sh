#!/usr/bin/env bash
# Sets up this machine (host tools, Node packages, build) and starts the dashboard.
# Data (SQLite file, builds, cache) goes to $IMAGE_STUDIO_DATA, default ./data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-host.sh
scripts/install-deps.sh --build
# server.ts: Next.js plus the artifact downloads (bundled by install-deps.sh); it stops
# running builds and VMs cleanly on SIGTERM before it exits.
export HOST=${HOST:-127.0.0.1} PORT=${PORT:-3000} NODE_ENV=production
exec node .next/image-studio-server.mjs
