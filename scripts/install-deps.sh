#!/usr/bin/env bash
# Node dependencies and the production build (`npm run build`: Next's build and the server
# bundle), each redone only when its inputs changed.
set -euo pipefail
cd "$(dirname "$0")/.."

need="20.9.0"
have=$(node --version 2>/dev/null | tr -d v || true)
if [[ -z $have ]] || [[ $(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n1) != "$need" ]]; then
  echo "install-deps: Node.js $need or later is needed (found: ${have:-none})" >&2
  exit 1
fi

stamp=node_modules/.image-studio-lock
lock=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$lock" ]]; then
  # better-sqlite3 compiles against Node's headers here (no prebuilt download on this network).
  npm ci --no-fund --no-audit --loglevel=error
  echo "$lock" >"$stamp"
fi

if [[ ${1:-} == --build ]]; then
  # The server bundle is written last, so it is what a complete build is dated by.
  bundle=.next/image-studio-server.mjs
  if [[ ! -f $bundle ]] || [[ -n $(find app components server server.ts instrumentation.ts drizzle public next.config.mjs package-lock.json \
      -newer "$bundle" -print -quit 2>/dev/null) ]]; then
    npm run build >/tmp/image-studio-build.log 2>&1 || { cat /tmp/image-studio-build.log; exit 1; }
  fi
fi
