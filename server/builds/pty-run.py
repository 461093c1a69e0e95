#!/usr/bin/python3
# Runs a command under a pseudo-terminal and copies everything it prints to stdout, byte for
# byte and unbuffered. Used for mkosi, which only colours its output when stderr is a TTY, and
# started by the server with execa (an argument array), so no native Node module is needed.
#
#   pty-run.py [--cols N] [--rows N] [--grace SECONDS] -- COMMAND [ARG...]
#
# The command runs in a new session (so in its own process group, with the pty as its
# controlling terminal) and stdin from /dev/null: nothing can stop a build at a prompt.
# SIGTERM or SIGINT to this helper is forwarded to the command's process group; after the
# grace period every process still under this helper is killed with SIGKILL. This helper is a
# child subreaper, so processes that leave their group or session (mkosi puts its children in
# groups of their own) or are orphaned still count as "under it" and are found by walking
# /proc. When the command ends, whatever it left behind is stopped the same way.
# Exit status: the command's own, or 128+N when it was killed by signal N.
import ctypes
import errno
import fcntl
import os
import select
import signal
import struct
import sys
import termios
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
READ_SIZE = 65536
# After the command exits, how long background processes may keep writing to the pty.
DRAIN_SECONDS = 2.0

libc = ctypes.CDLL(None, use_errno=True)


def note(text):
    # Our own lines go into the same stream, dimmed, so a log says why it ended.
    write_out(f"\r\n\x1b[2m[pty-run] {text}\x1b[0m\r\n".encode())


stdout_ok = True


def write_out(data):
    global stdout_ok
    view = memoryview(data)
    while stdout_ok and view:
        try:
            n = os.write(1, view)
            view = view[n:]
        except InterruptedError:
            continue
        except BrokenPipeError:
            # The reader is gone (the server died); keep going so the command is still stopped.
            stdout_ok = False


def parse_args(argv):
    opts = {"cols": 160, "rows": 50, "grace": 8.0}
    i = 0
    while i < len(argv) and argv[i] != "--":
        key = argv[i].lstrip("-")
        if key not in opts or i + 1 >= len(argv):
            sys.exit(f"pty-run: unknown option {argv[i]!r}")
        opts[key] = float(argv[i + 1]) if key == "grace" else int(argv[i + 1])
        i += 2
    command = argv[i + 1:]
    if not command:
        sys.exit("pty-run: usage: pty-run.py [--cols N] [--rows N] [--grace S] -- COMMAND [ARG...]")
    return opts, command


def descendants():
    """Every process whose parent chain leads to this helper (read from /proc)."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields follow the last ')'.
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) < 2:
            continue
        children.setdefault(int(fields[1]), []).append(int(name))
    found, todo = [], [os.getpid()]
    while todo:
        for c in children.get(todo.pop(), []):
            found.append(c)
            todo.append(c)
    return found


def signal_all(sig):
    pids = descendants()
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    return len(pids)


def main():
    opts, command = parse_args(sys.argv[1:])
    # If the server dies without stopping us, stop the build rather than leave it running.
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    master, slave = os.openpty()
    # A fixed size, set before the command starts so it never sees 0x0.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", opts["rows"], opts["cols"], 0, 0))

    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    requested = []  # signals asking us to stop
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, _f: requested.append(s))
    signal.signal(signal.SIGCHLD, lambda _s, _f: None)

    pid = os.fork()
    if pid == 0:
        try:
            os.close(master)
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
            null = os.open("/dev/null", os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(slave, 1)
            os.dup2(slave, 2)
            for fd in (null, slave):
                if fd > 2:
                    os.close(fd)
            # Python ignores SIGPIPE and we catch others; the command gets the defaults.
            for sig in (signal.SIGPIPE, signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD, signal.SIGXFSZ):
                signal.signal(sig, signal.SIG_DFL)
            signal.set_wakeup_fd(-1)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            os.execvp(command[0], command)
        except BaseException as e:  # noqa: BLE001 - report anything, then leave
            os.write(2, f"pty-run: cannot run {command[0]}: {e}\r\n".encode())
        os._exit(127)

    os.close(slave)
    status = None  # the command's wait status once it ended
    stop_at = None  # when to escalate to SIGKILL
    killed = False
    master_open = True
    drain_until = None

    def reap():
        nonlocal status
        while True:
            try:
                p, st = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if p == 0:
                return
            if p == pid:
                status = st

    while True:
        reap()
        now = time.monotonic()
        if requested and stop_at is None:
            stop_at = now + opts["grace"]
            note(f"stopping: {signal.Signals(requested[0]).name} sent to the command's process group")
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if status is not None and drain_until is None:
            drain_until = now + DRAIN_SECONDS
        # Escalate: the grace period after a stop request is over.
        if not killed and stop_at is not None and now >= stop_at:
            left = signal_all(signal.SIGKILL)
            killed = True
            if left:
                note(f"grace period over: killed {left} process(es)")
        # Done when the command ended and its output is read (or background holders of the
        # terminal had their drain time): whatever is left under us is killed, then we leave.
        if status is not None and (not master_open or killed or now >= drain_until):
            while descendants():
                signal_all(signal.SIGKILL)
                reap()
                time.sleep(0.02)
            reap()
            drain(master)
            break
        deadlines = [d for d in (stop_at, drain_until) if d is not None and not killed]
        timeout = max(0.0, min(deadlines) - now) if deadlines else None
        fds = [wake_r] + ([master] if master_open else [])
        try:
            ready, _, _ = select.select(fds, [], [], timeout)
        except InterruptedError:
            continue
        if wake_r in ready:
            try:
                while os.read(wake_r, 512):
                    pass
            except BlockingIOError:
                pass
        if master_open and master in ready:
            try:
                data = os.read(master, READ_SIZE)
            except OSError as e:
                if e.errno != errno.EIO:
                    raise
                data = b""
            if data:
                write_out(data)
            else:
                # Every holder of the terminal closed it; SIGCHLD (through wake_r) brings the status.
                master_open = False

    if os.WIFSIGNALED(status):
        code = 128 + os.WTERMSIG(status)
    else:
        code = os.WEXITSTATUS(status)
    sys.stdout.flush()
    os._exit(code)


def drain(master):
    """Copies what is still buffered in the terminal, without waiting for more."""
    while True:
        try:
            r, _, _ = select.select([master], [], [], 0)
            if not r:
                return
            data = os.read(master, READ_SIZE)
        except OSError:
            return
        if not data:
            return
        write_out(data)


if __name__ == "__main__":
    main()
