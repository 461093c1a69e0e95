#!/usr/bin/env bash
# Rotates the dashboard's access token (the file auth-token in the data folder,
# $IMAGE_STUDIO_DATA, default ./data). A running server takes the new token at once.
set -euo pipefail
cd "$(dirname "$0")/.."
exec npx --no-install tsx scripts/rotate-token.ts
