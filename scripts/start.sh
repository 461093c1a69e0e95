#!/usr/bin/env bash
# Sets up this machine (host tools, Node packages, build) and starts the dashboard.
# Data (SQLite file, builds, cache) goes to $IMAGE_STUDIO_DATA, default ./data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-host.sh
scripts/install-deps.sh --build
echo "Image Studio on http://${HOST:-127.0.0.1}:${PORT:-3000}"
# Let the server's own handler stop running builds cleanly on SIGTERM before it exits.
export NEXT_MANUAL_SIG_HANDLE=1
exec npx next start -H "${HOST:-127.0.0.1}" -p "${PORT:-3000}"
