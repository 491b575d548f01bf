#!/usr/bin/env python3
"""Memory per idle IMAP session, IMAPS vs plaintext, against a real
ringmaild (bench/tls_idle_memory.sh builds it and calls this).

For each kind (imap, imaps) a fresh daemon is started (--threads=2, fresh
self-signed P-256 certificate, USERS users with one small message each),
warmed up (WARMUP sessions opened, used and closed, so one-time
allocations such as mailbox indexes and TLS contexts are not charged to the
sessions), then SESSIONS sessions are opened, each logged in, INBOX
SELECTed, and left idle for SETTLE seconds. Measured before and after:

  server PSS        /proc/PID/smaps_rollup "Pss:" of ringmaild
  TCP buffer memory `ss -tm` skmem of the server's sockets (receive,
                    send, forward-allocated and queued octets)
  TCP socket slabs  /proc/slabinfo TCP, sock_inode_cache, eventpoll_*
                    (only with root; both ends of each connection: half
                    is taken as the server's share; generic kmalloc
                    caches are not counted)

and reported per session. The issue's target is <= 48 KiB per idle TLS
session in total (server PSS + the server's kernel share). Loopback only;
every socket is closed and the daemon stopped at the end.
"""
import argparse
import json
import os
import re
import resource
import smtplib
import socket
import ssl
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
from harness import Daemon  # noqa: E402

# Slab caches a loopback TCP connection allocates from (per socket).
# Only socket-specific caches: generic ones (kmalloc-*, filp, dentry) move
# with whatever else the machine is doing.
SLABS = ("TCP", "sock_inode_cache", "eventpoll_epi", "eventpoll_pwq")


def pss_bytes(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no Pss in smaps_rollup")


def server_skmem_bytes(port):
    """Buffer memory charged to the server's sockets on `port` (sum of the
    rmem, wmem, forward-alloc, queued, option and backlog counters of
    `ss -tm`). Per socket, unlike /proc/net/sockstat, which is system-wide
    and moves with everything else on the machine."""
    out = subprocess.run(["ss", "-tnmH", "state", "established",
                          f"( sport = :{port} )"], capture_output=True, text=True,
                         check=True).stdout
    total = 0
    for m in re.finditer(r"skmem:\(([^)]*)\)", out):
        for field in m.group(1).split(","):
            key = field.rstrip("0123456789")
            if key in ("r", "t", "f", "w", "o", "bl"):
                total += int(field[len(key):])
    return total


def slab_bytes():
    """Total bytes in the slab caches a TCP socket uses, or None without
    access to /proc/slabinfo."""
    try:
        with open("/proc/slabinfo") as f:
            lines = f.read().splitlines()[2:]
    except OSError:
        return None
    total = 0
    for line in lines:
        p = line.split()
        name, active, objsize = p[0], int(p[1]), int(p[3])
        if name in SLABS:
            total += active * objsize
    return total


def snapshot(pid, port):
    return {"pss": pss_bytes(pid), "tcp_mem": server_skmem_bytes(port),
            "slab": slab_bytes()}


def open_session(port, ctx, user, password):
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    if ctx:
        sock = ctx.wrap_socket(sock)
    f = sock.makefile("rb")
    assert f.readline().startswith(b"* OK")
    # One write: LOGIN and SELECT pipelined (RFC 3501 §5.5 allows it).
    sock.sendall(f"a LOGIN {user} {password}\r\nb SELECT INBOX\r\n".encode())
    while True:
        line = f.readline()
        if not line:
            raise ConnectionError("closed during LOGIN/SELECT")
        if line.startswith(b"a ") and not line.startswith(b"a OK"):
            raise RuntimeError(f"LOGIN failed: {line!r}")
        if line.startswith(b"b "):
            if not line.startswith(b"b OK"):
                raise RuntimeError(f"SELECT failed: {line!r}")
            break
    f.close()  # the socket stays open (makefile holds its own reference)
    return sock


def measure(kind, args):
    users = {f"idle{i}@example.test": f"pw-{i}" for i in range(args.users)}
    limit = str(args.sessions + args.warmup + 100)
    d = Daemon(extra_args=["--threads=2", f"--imap_max_connections={limit}",
                           f"--imap_max_connections_per_ip={limit}"],
               users=users, imap=True, tls=True, start_timeout=60)
    socks = []
    try:
        d.start()
        ports = {k: int(v.rsplit(":", 1)[1]) for k, v in d.ports.items()}
        with smtplib.SMTP("127.0.0.1", ports["smtp"], timeout=60) as s:
            for u in users:
                s.sendmail("bench@example.test", [u],
                           f"Subject: idle\r\nTo: {u}\r\n\r\nhello\r\n".encode())
        for u in users:
            d.wait_for_count(u, 1, timeout=60)
        ctx = None
        if kind == "imaps":
            ctx = ssl.create_default_context(cafile=d.cert_file)
            ctx.check_hostname = False
        port = ports[kind]
        names = list(users.items())
        for i in range(args.warmup):
            u, pw = names[i % len(names)]
            s = open_session(port, ctx, u, pw)
            s.sendall(b"z LOGOUT\r\n")
            s.close()
        time.sleep(args.settle)
        before = snapshot(d.proc.pid, port)
        t0 = time.monotonic()
        for i in range(args.sessions):
            u, pw = names[i % len(names)]
            socks.append(open_session(port, ctx, u, pw))
        opened = time.monotonic() - t0
        time.sleep(args.settle)
        after = snapshot(d.proc.pid, port)
        n = args.sessions
        rec = {"kind": kind, "sessions": n, "users": args.users,
               "open_seconds": round(opened, 2),
               "pss_before": before["pss"], "pss_after": after["pss"],
               "pss_per_session": round((after["pss"] - before["pss"]) / n),
               "tcp_mem_per_session": round((after["tcp_mem"] - before["tcp_mem"]) / n)}
        if before["slab"] is not None and after["slab"] is not None:
            rec["slab_per_connection_both_ends"] = round((after["slab"] - before["slab"]) / n)
        server_kernel = rec["tcp_mem_per_session"] + rec.get("slab_per_connection_both_ends", 0) / 2
        rec["total_per_session"] = round(rec["pss_per_session"] + server_kernel)
        return rec
    finally:
        for s in socks:
            try:
                s.close()
            except OSError:
                pass
        try:
            if d.proc is not None:
                d.stop()
        finally:
            d.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=2000)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--settle", type=float, default=2.0)
    ap.add_argument("--kinds", default="imap,imaps")
    args = ap.parse_args()
    need = args.sessions * 2 + args.warmup + 1000  # client + daemon share the limit
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(need, soft), max(need, hard)))
        except (ValueError, OSError):
            sys.exit(f"RLIMIT_NOFILE {soft}/{hard} is below the {need} needed; "
                     "run with fewer --sessions or raise ulimit -n")
    results = [measure(k, args) for k in args.kinds.split(",")]
    for r in results:
        print(json.dumps(r))
    print(f"\n{args.sessions} idle sessions (logged in, INBOX selected) over "
          f"{args.users} users, ringmaild --threads=2; load average "
          f"{open('/proc/loadavg').read().split()[0]}")
    print("| kind | server PSS / session | TCP buffer mem / session | "
          "socket slabs / connection (both ends) | total (PSS + TCP mem + half slabs) |")
    print("|---|---|---|---|---|")
    for r in results:
        slab = r.get("slab_per_connection_both_ends")
        print(f"| {r['kind']} | {r['pss_per_session'] / 1024:.1f} KiB | "
              f"{r['tcp_mem_per_session'] / 1024:.1f} KiB | "
              f"{'n/a' if slab is None else f'{slab / 1024:.1f} KiB'} | "
              f"{r['total_per_session'] / 1024:.1f} KiB |")


if __name__ == "__main__":
    main()
