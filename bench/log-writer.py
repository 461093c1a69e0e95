#!/usr/bin/python3
# The stand-in for mkosi in bench/log-pipeline.ts: a build whose "mkosi" is this script writes
# apt/dpkg-like lines with ANSI colours, either as fast as it can ("flood") or one timestamped
# line every few milliseconds ("paced"), then a marker line, then the output files a successful
# build must leave (a .raw and an .efi), and exits 0.
#
# What to do comes from $BENCH_LOG_CONTROL/job.json, written by the benchmark before it starts
# the build:
#   {"token": "...", "mode": "flood", "bytes": 100000000}
#   {"token": "...", "mode": "paced", "count": 400, "intervalMs": 50}
# The script waits for the file $BENCH_LOG_CONTROL/go-<token> (the browser is ready), writes, and
# records its start and end times in $BENCH_LOG_CONTROL/stats-<token>.json.
import json
import os
import random
import sys
import time

RESET = "\x1b[0m"
BOLD = "\x1b[0;1;39m"
DIM = "\x1b[2m"
YELLOW = "\x1b[33m"
GREEN = "\x1b[32m"
CYAN = "\x1b[36m"

PACKAGES = [
    "libc6", "libssl3", "systemd", "systemd-sysv", "dbus", "libsystemd0", "udev", "kmod", "linux-image-6.1.0-28-amd64",
    "coreutils", "util-linux", "mount", "e2fsprogs", "libcap2", "libseccomp2", "libzstd1", "liblzma5", "zlib1g",
    "libgcc-s1", "libstdc++6", "perl-base", "debconf", "apt", "libapt-pkg6.0", "gpgv", "libgnutls30", "libp11-kit0",
    "ca-certificates", "openssl", "iproute2", "iputils-ping", "less", "nano", "procps", "sed", "grep", "bash",
    "dash", "tzdata", "locales", "libpam0g", "libpam-modules", "login", "passwd", "adduser", "libselinux1",
    "libblkid1", "libmount1", "libuuid1", "libfdisk1", "libkmod2", "libcryptsetup12", "libdevmapper1.02.1",
    "libargon2-1", "libjson-c5", "libidn2-0", "libunistring2", "libtasn1-6", "libnettle8", "libhogweed6", "libgmp10",
]
SERVICES = ["systemd-networkd", "systemd-resolved", "systemd-timesyncd", "dbus", "getty@tty1", "ssh", "cron"]


def version(rng):
    return f"{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 12)}-{rng.randint(1, 9)}"


def line_pool(n=4096, seed=1):
    """Lines like an apt install inside mkosi, some with colours; none starts with mkosi's step mark."""
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        pkg = rng.choice(PACKAGES)
        ver = version(rng)
        kind = rng.randrange(10)
        if kind == 0:
            lines.append(f"Get:{i + 1} http://mirror.example.invalid/debian bookworm/main amd64 {pkg} amd64 {ver} [{rng.randint(8, 9000)} kB]")
        elif kind == 1:
            lines.append(f"Selecting previously unselected package {pkg}.")
        elif kind == 2:
            lines.append(f"Preparing to unpack .../{i % 400:03d}-{pkg}_{ver}_amd64.deb ...")
        elif kind == 3:
            lines.append(f"Unpacking {pkg} ({ver}) ...")
        elif kind == 4:
            lines.append(f"Setting up {pkg} ({ver}) ...")
        elif kind == 5:
            lines.append(f"{YELLOW}W: {RESET}Download is performed unsandboxed as root as file '/var/cache/apt/archives/partial/{pkg}_{ver}_amd64.deb' couldn't be accessed by user '_apt'.")
        elif kind == 6:
            svc = rng.choice(SERVICES)
            lines.append(f"Created symlink /etc/systemd/system/multi-user.target.wants/{svc}.service {DIM}→{RESET} /usr/lib/systemd/system/{svc}.service.")
        elif kind == 7:
            lines.append(f"{BOLD}{pkg}{RESET}: {GREEN}{rng.randint(3, 900)}{RESET} files, {CYAN}{rng.randint(10, 90000)} kB{RESET}")
        elif kind == 8:
            lines.append(f"Processing triggers for {pkg} ({ver}) ...")
        else:
            lines.append(f"update-alternatives: using /usr/bin/{pkg} to provide /usr/bin/{pkg.split('-')[0]} ({pkg.split('-')[0]}) in auto mode")
    return [(line + "\n").encode() for line in lines]


def write_all(data):
    view = memoryview(data)
    while view:
        try:
            n = os.write(1, view)
        except InterruptedError:
            continue
        view = view[n:]


def step(depth, text):
    # mkosi's own step lines (they become the build's timeline).
    write_all(f"‣ {' ' * depth}{BOLD}{text}{RESET}\n".encode())


def main():
    args = sys.argv[1:]
    out = None
    for i, a in enumerate(args):
        if a == "--output-dir" and i + 1 < len(args):
            out = args[i + 1]
    ctl = os.environ.get("BENCH_LOG_CONTROL")
    if not ctl or out is None:
        sys.exit("log-writer: needs BENCH_LOG_CONTROL and --output-dir (it stands in for mkosi in bench/log-pipeline.ts)")
    with open(os.path.join(ctl, "job.json")) as f:
        job = json.load(f)
    token = job["token"]
    pool = line_pool()

    step(0, "Building benchmark image")
    go = os.path.join(ctl, f"go-{token}")
    deadline = time.monotonic() + float(job.get("waitSeconds", 300))
    while not os.path.exists(go):
        if time.monotonic() > deadline:
            sys.exit("log-writer: the benchmark never said go")
        time.sleep(0.002)

    step(1, "Installing Debian")
    started = time.time()
    written = 0
    lines = 0
    if job["mode"] == "flood":
        block = b"".join(pool)
        target = int(job["bytes"])
        while written + len(block) <= target:
            write_all(block)
            written += len(block)
            lines += len(pool)
        for line in pool:
            if written + len(line) > target:
                break
            write_all(line)
            written += len(line)
            lines += 1
    else:
        interval = float(job["intervalMs"]) / 1000
        for i in range(int(job["count"])):
            wait = started + i * interval - time.time()
            if wait > 0:
                time.sleep(wait)
            now = time.time()
            stamp = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now * 1000) % 1000:03d}"
            # The ts is milliseconds since the epoch: the page compares it with its Date.now().
            data = f"{DIM}{stamp}{RESET} {pool[i % len(pool)].decode().rstrip()} LAT#{i:05d}@{int(now * 1000)}\n".encode()
            write_all(data)
            written += len(data)
            lines += 1
    marker = f"{GREEN}BENCH-END-{token}{RESET}\n".encode()
    write_all(marker)
    ended = time.time()
    written += len(marker)
    lines += 1
    step(1, "Generating disk image")

    with open(os.path.join(out, "bench.raw"), "wb") as f:
        f.write(b"\0" * 4096)
    with open(os.path.join(out, "bench.efi"), "wb") as f:
        f.write(b"MZ")
    with open(os.path.join(ctl, f"stats-{token}.json.tmp"), "w") as f:
        json.dump({"startedMs": started * 1000, "endedMs": ended * 1000, "bytes": written, "lines": lines}, f)
    os.rename(os.path.join(ctl, f"stats-{token}.json.tmp"), os.path.join(ctl, f"stats-{token}.json"))


if __name__ == "__main__":
    main()
