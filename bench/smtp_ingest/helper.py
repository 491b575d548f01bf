#!/usr/bin/python3
"""Helpers for bench/smtp_ingest.sh (stdlib only; run with /usr/bin/python3).

  helper.py freeport                       print a free 127.0.0.1 TCP port
  helper.py wait-banner PORT TIMEOUT       wait until 127.0.0.1:PORT answers 220
  helper.py wait-file PATH TIMEOUT [PID]   wait until PATH exists and is non-empty
  helper.py run --maildir DIR --count N --timeout S --label L -- CMD...
      start CMD (the load generator), then poll DIR (a Maildir new/) until it
      holds N files; the measured interval is from just before CMD starts (the
      first connection) to the newest mtime among the delivered files.
      Prints one line:  RESULT <label> <delivered> <seconds> <msgs/s>
"""
import os
import signal
import socket
import subprocess
import sys
import time


def freeport():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    print(port)


def wait_banner(port, timeout):
    deadline = time.monotonic() + float(timeout)
    last = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", int(port)), timeout=2) as s:
                data = s.recv(512)
                if data.startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return 0
                last = data
        except OSError as e:
            last = e
        time.sleep(0.1)
    print(f"no 220 banner on 127.0.0.1:{port} within {timeout}s: {last!r}", file=sys.stderr)
    return 1


def wait_file(path, timeout, pid=None):
    deadline = time.monotonic() + float(timeout)
    while time.monotonic() < deadline:
        try:
            if os.path.getsize(path) > 0:
                return 0
        except OSError:
            pass
        if pid:
            try:
                os.kill(int(pid), 0)
            except OSError:
                print(f"process {pid} exited before writing {path}", file=sys.stderr)
                return 1
        time.sleep(0.05)
    print(f"{path} not written within {timeout}s", file=sys.stderr)
    return 1


def count(d):
    try:
        return sum(1 for e in os.scandir(d) if not e.name.startswith("."))
    except FileNotFoundError:
        return 0


def run(argv):
    opts = {}
    while argv and argv[0] != "--":
        opts[argv[0].lstrip("-")] = argv[1]
        argv = argv[2:]
    cmd = argv[1:]
    maildir, want = opts["maildir"], int(opts["count"])
    timeout, label = float(opts["timeout"]), opts.get("label", "run")
    log = open(opts["log"], "wb") if "log" in opts else subprocess.DEVNULL
    t0 = time.time()
    m0 = time.monotonic()
    gen = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def on_term(signum, frame):
        gen.kill()
        gen.wait()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    # No directory scans while the load runs: listing a Maildir/new of up to
    # 20,000 entries every 100 ms cost ~4 % of the machine, taken from
    # whichever server was being measured. The rate does not depend on when
    # we look (it ends at the newest file's mtime), so wait for the generator
    # first and poll only for deliveries still in flight after it exits
    # (Postfix queues before it delivers).
    try:
        rc = gen.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        gen.send_signal(signal.SIGKILL)
        rc = gen.wait()
    # After a failed generator only a little (2 s) for deliveries in flight;
    # after a clean exit up to the rest of the timeout.
    left = timeout - (time.monotonic() - m0)
    deadline = time.monotonic() + (2.0 if rc != 0 else max(0.0, left))
    while count(maildir) < want and time.monotonic() < deadline:
        time.sleep(0.1)
    n = count(maildir)
    newest = t0
    with os.scandir(maildir) if os.path.isdir(maildir) else _empty() as it:
        for e in it:
            newest = max(newest, e.stat().st_mtime)
    secs = max(newest - t0, 1e-9)
    rate = n / secs
    print(f"RESULT {label} {n} {secs:.3f} {rate:.1f}")
    if rc != 0:
        print(f"{label}: load generator exited with status {rc}", file=sys.stderr)
    if n < want:
        print(f"{label}: only {n}/{want} messages delivered within {timeout}s", file=sys.stderr)
        return 1
    return 0 if rc == 0 else 1


class _empty:
    def __enter__(self):
        return iter(())

    def __exit__(self, *a):
        return False


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "freeport":
        freeport()
        return 0
    if cmd == "wait-banner":
        return wait_banner(*args)
    if cmd == "wait-file":
        return wait_file(*args)
    if cmd == "run":
        return run(args)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
