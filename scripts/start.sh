#!/usr/bin/env bash
# Sets up this machine and starts the dashboard. As root: the host tools and the service user
# (scripts/setup-host.sh), the Node packages and the build, then the server as the service user
# (scripts/run-server.sh). As another user: the packages and the build, then the server as that
# user, saying what setup still needs root. Data (SQLite file, builds, cache, the access token)
# goes to $IMAGE_STUDIO_DATA, default ./data. The server prints the address to open.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -eq 0 ]]; then
  scripts/setup-host.sh
else
  command -v mkosi >/dev/null || echo "start: mkosi is not installed: as root, run scripts/setup-host.sh" >&2
fi
scripts/install-deps.sh --build
export HOST=${HOST:-127.0.0.1} PORT=${PORT:-3000}
exec scripts/run-server.sh
