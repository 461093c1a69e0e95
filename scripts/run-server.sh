#!/usr/bin/env bash
# Runs the built dashboard (.next/image-studio-server.mjs). As root, it first gives the data
# folder ($IMAGE_STUDIO_DATA, default ./data) to the service user ($IMAGE_STUDIO_USER, default
# image-studio, made by scripts/setup-host.sh), taking over a folder an earlier root-run version
# wrote, and then runs the server as that user with a clean environment: nothing of the
# dashboard, and nothing it starts (mkosi, QEMU, qemu-img), runs as root. As another user, it
# runs the server as that user. scripts/start.sh ends here; the tests start the server here too.
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=.next/image-studio-server.mjs
[[ -f $bundle ]] || { echo "run-server: no build in .next: run scripts/install-deps.sh --build" >&2; exit 1; }
data=$(realpath -m "${IMAGE_STUDIO_DATA:-data}")
node=$(command -v node)

if [[ $(id -u) -ne 0 ]]; then
  # What only root can do, said once.
  if ! awk -F: -v u="$(id -un)" -v id="$(id -u)" '($1 == u || $1 == id) && $3 >= 65536 { f = 1 } END { exit !f }' /etc/subuid 2>/dev/null; then
    echo "run-server: $(id -un) has no subordinate uid range, so mkosi cannot build as this user;" \
      "as root: usermod --add-subuids 200000-265535 --add-subgids 200000-265535 $(id -un) (or run scripts/start.sh as root," \
      "which sets up the image-studio user)" >&2
  fi
  command -v newuidmap >/dev/null || echo "run-server: newuidmap is missing: as root, run scripts/setup-host.sh" >&2
  mkdir -p "$data"
  chmod 0700 "$data"
  export NODE_ENV=${NODE_ENV:-production}
  exec "$node" "$bundle"
fi

user=${IMAGE_STUDIO_USER:-image-studio}
id "$user" >/dev/null 2>&1 || { echo "run-server: there is no user $user: run scripts/setup-host.sh first" >&2; exit 1; }

# The data folder belongs to the service user and is closed to everyone else. A folder written
# by a root-run version is taken over once: everything in it changes owner, but for mkosi's
# incremental caches, image trees whose files keep root's ownership inside (they are remade on
# the next incremental build).
mkdir -p "$data"
if [[ -n $(find "$data" -xdev \( ! -user "$user" -o ! -group "$user" \) -print -quit) ]]; then
  echo "run-server: giving $data to $user (it was written by another user, e.g. an earlier root-run version)"
  rm -rf "$data/cache/incremental"
  chown -R "$user:$user" "$data"
  chmod -R go-rwx "$data"
fi
chmod 0700 "$data"
# A package cache outside the data folder (IMAGE_STUDIO_PACKAGE_CACHE) is the user's too.
if [[ -n ${IMAGE_STUDIO_PACKAGE_CACHE:-} ]]; then
  mkdir -p "$IMAGE_STUDIO_PACKAGE_CACHE"
  [[ -z $(find "$IMAGE_STUDIO_PACKAGE_CACHE" -xdev ! -user "$user" -print -quit) ]] || chown -R "$user:$user" "$IMAGE_STUDIO_PACKAGE_CACHE"
fi

# The user must reach the checkout (to run it) and the data folder: where a parent folder is
# closed to others (such as /root), it gets leave to pass through, and nothing more.
for dir in "$PWD" "$(dirname "$data")" ${IMAGE_STUDIO_PACKAGE_CACHE:+"$(dirname "$(realpath -m "$IMAGE_STUDIO_PACKAGE_CACHE")")"}; do
  while [[ $dir != / ]]; do
    if ! setpriv --reuid="$user" --regid="$user" --init-groups test -x "$dir" 2>/dev/null; then
      setfacl -m "u:$user:--x" "$dir"
      echo "run-server: let $user pass through $dir (setfacl -m u:$user:--x)"
    fi
    dir=$(dirname "$dir")
  done
done

# A clean environment: the server's own settings, HOME in the data folder (what the tools keep
# there stays with the rest), and a PATH with the tools mkosi runs.
pass=()
for name in $(compgen -e); do
  [[ $name =~ ^(IMAGE_STUDIO_[A-Z0-9_]+|HOST|PORT|NODE_ENV|NODE_OPTIONS|NEXT_TELEMETRY_DISABLED|TZ|LANG)$ ]] && pass+=("$name=${!name}")
done
exec setpriv --reuid="$user" --regid="$user" --init-groups --reset-env \
  env "${pass[@]}" IMAGE_STUDIO_DATA="$data" NODE_ENV="${NODE_ENV:-production}" HOME="$data" \
  PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" \
  "$node" "$bundle"
