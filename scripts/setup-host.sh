#!/usr/bin/env bash
# Installs the host tools Image Studio drives: mkosi (24 or later) and what a disk build,
# a conversion and a VM need; and creates the system user the dashboard runs as
# ($IMAGE_STUDIO_USER, default image-studio: no login shell, a subordinate uid/gid range so
# mkosi builds unprivileged, in the kvm group). Idempotent and quiet when everything is there.
# On Debian 12 mkosi 14 is too old, so bookworm-backports is enabled using the mirror
# this machine already uses (never a hard-coded host).
set -euo pipefail

[[ $(id -u) -eq 0 ]] || { echo "setup-host: run as root (apt-get installs packages)" >&2; exit 1; }

. /etc/os-release
export DEBIAN_FRONTEND=noninteractive

pkgs=(kmod fdisk dosfstools mtools squashfs-tools erofs-utils
  e2fsprogs cpio zstd xz-utils python3-pefile python3-cryptography
  debian-archive-keyring qemu-utils qemu-system-x86 ovmf git ca-certificates curl
  uidmap acl util-linux
  sbsigntool openssl tpm2-tools swtpm swtpm-tools)
[[ ${ID} == ubuntu ]] && pkgs+=(ubuntu-keyring)
# Verified boot: sbsigntool signs and checks EFI binaries, systemd-measure (systemd) signs the
# PCR policy through the TPM2 libraries tpm2-tools pulls in, swtpm is a VM's TPM, and
# python3-virt-firmware's virt-fw-vars enrols a certificate in a VM's UEFI variables.
# Packages that must come from backports on Debian 12 (mkosi 24, systemd 254 with ukify and
# systemd-measure, virt-fw-vars).
bpo_pkgs=(mkosi systemd systemd-boot systemd-container udev libsystemd-shared libsystemd0 python3-virt-firmware)
[[ ${EXTRA_PACKAGES:-} ]] && read -ra extra <<<"$EXTRA_PACKAGES" && pkgs+=("${extra[@]}")

# The first mirror this machine's apt sources use for its own release.
host_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    # deb822 stanzas: print the URI of a stanza whose Suites include this release.
    awk -v rel="$VERSION_CODENAME" '
      function flush() { if (uri != "" && (" " suites " ") ~ (" " rel " ")) print uri; uri = ""; suites = "" }
      /^[[:space:]]*$/ { flush(); next }
      /^URIs:/ { uri = $2 }
      /^Suites:/ { $1 = ""; suites = $0 }
      END { flush() }' "$f"
  done
  if [[ -f /etc/apt/sources.list ]]; then
    awk -v rel="$VERSION_CODENAME" '$1 == "deb" && $3 == rel { print $2 }' /etc/apt/sources.list
  fi
}

missing_pkgs() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

mkosi_ok() {
  command -v mkosi >/dev/null || return 1
  local v; v=$(mkosi --version 2>/dev/null | awk '{print $2}' | cut -d. -f1)
  [[ ${v:-0} -ge 24 ]]
}

apt_updated=
apt_update() { [[ $apt_updated ]] || { apt-get update -qq; apt_updated=1; }; }

if [[ ${ID} == debian && ${VERSION_ID:-} == 12 ]]; then
  bpo=/etc/apt/sources.list.d/image-studio-backports.sources
  if [[ ! -f $bpo ]]; then
    mirror=$(host_mirror | head -n1 || true)
    [[ -n $mirror ]] || { echo "setup-host: no Debian mirror found in /etc/apt/sources*" >&2; exit 1; }
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$mirror" >"$bpo"
    echo "setup-host: enabled bookworm-backports from $mirror"
    apt_updated=
  fi
  if ! mkosi_ok || [[ -n $(missing_pkgs "${bpo_pkgs[@]}") ]]; then
    apt_update
    apt-get install -y -qq -o=Dpkg::Use-Pty=0 -t bookworm-backports "${bpo_pkgs[@]}" >/dev/null
  fi
else
  pkgs+=(mkosi systemd-container systemd-boot systemd-ukify systemd-repart python3-virt-firmware)
fi

todo=$(missing_pkgs "${pkgs[@]}")
if [[ -n $todo ]]; then
  apt_update
  # shellcheck disable=SC2086
  apt-get install -y -qq -o=Dpkg::Use-Pty=0 $todo >/dev/null
fi

mkosi_ok || { echo "setup-host: mkosi 24 or later is needed, found: $(mkosi --version 2>&1 || true)" >&2; exit 1; }

# The service user. mkosi 24 builds as an ordinary user when it has 65536 subordinate uids and
# gids (it maps them with newuidmap from uidmap): root in the image is the user outside it.
user=${IMAGE_STUDIO_USER:-image-studio}
if ! id "$user" >/dev/null 2>&1; then
  useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin \
    --comment "Image Studio dashboard" "$user"
  echo "setup-host: created the system user $user"
fi
# A free range above every range already given out, in both files.
free_subid_start() {
  awk -F: 'BEGIN { top = 100000 } NF >= 3 { end = $2 + $3; if (end > top) top = end } END { print top }' /etc/subuid /etc/subgid 2>/dev/null
}
has_range() { awk -F: -v u="$1" -v id="$2" '($1 == u || $1 == id) && $3 >= 65536 { found = 1 } END { exit !found }' "$3" 2>/dev/null; }
uid=$(id -u "$user")
touch /etc/subuid /etc/subgid
if ! has_range "$user" "$uid" /etc/subuid || ! has_range "$user" "$uid" /etc/subgid; then
  start=$(free_subid_start)
  usermod --add-subuids "$start-$((start + 65535))" --add-subgids "$start-$((start + 65535))" "$user"
  echo "setup-host: gave $user the subordinate ids $start-$((start + 65535))"
fi
# KVM, where the machine has it (QEMU falls back to emulation otherwise).
if getent group kvm >/dev/null && ! id -nG "$user" | tr ' ' '\n' | grep -qx kvm; then
  usermod --append --groups kvm "$user"
fi
