#!/usr/bin/env bash
# Node dependencies and, with --build, the production build (`npm run build`: Next's build and
# the server bundle), each redone only when its inputs changed; with --typecheck, tsc too.
set -euo pipefail
cd "$(dirname "$0")/.."

build= typecheck=
for a in "$@"; do
  case $a in
    --build) build=1 ;;
    --typecheck) typecheck=1 ;;
    *) echo "usage: scripts/install-deps.sh [--build] [--typecheck]" >&2; exit 2 ;;
  esac
done

need="20.9.0"
have=$(node --version 2>/dev/null | tr -d v || true)
if [[ -z $have ]] || [[ $(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n1) != "$need" ]]; then
  echo "install-deps: Node.js $need or later is needed (found: ${have:-none})" >&2
  exit 1
fi

stamp=node_modules/.image-studio-lock
lock=$(sha256sum package-lock.json | cut -d' ' -f1)
native=
if [[ ! -f $stamp || $(cat "$stamp") != "$lock" ]]; then
  rm -f "$stamp"
  npm ci --no-fund --no-audit --loglevel=error --ignore-scripts
  # The install steps, run after: esbuild's (quick) now; better-sqlite3's compiles SQLite
  # against Node's headers here (no prebuilt download on this network), a minute and a half on
  # one core, and the build below does not load it, so it runs on the other core meanwhile.
  npm rebuild esbuild --loglevel=error
  npm rebuild better-sqlite3 --loglevel=error >/tmp/image-studio-native.log 2>&1 &
  native=$!
fi

if [[ -n $typecheck ]]; then
  npx tsc --noEmit -p .
fi

if [[ -n $build ]]; then
  # The server bundle is written last, so it is what a complete build is dated by.
  bundle=.next/image-studio-server.mjs
  if [[ ! -f $bundle ]] || [[ -n $(find app components server server.ts instrumentation.ts drizzle public next.config.mjs package-lock.json \
      -newer "$bundle" -print -quit 2>/dev/null) ]]; then
    npm run build >/tmp/image-studio-build.log 2>&1 || { cat /tmp/image-studio-build.log; exit 1; }
  fi
fi

if [[ -n $native ]]; then
  wait "$native" || { cat /tmp/image-studio-native.log; exit 1; }
  echo "$lock" >"$stamp"
fi
