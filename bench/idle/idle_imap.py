#!/usr/bin/env python3
"""Idle IMAP sessions against a real ringmaild (bench/idle_imap.sh builds
the binaries and calls this): memory per idle plaintext session and the
delivery -> "* n EXISTS" latency while they all IDLE (issue 4 and 8).

1. A fresh daemon (--threads=2 by default) with USERS bench users (default
   one per session), {PLAIN} in a passwd-file (hashing is not measured).
2. Empty Maildirs for every user, made by this script (first logins
   would otherwise queue thousands of mkdirs on the server's helper pool,
   which also verifies passwords: a login storm then gets NO), and a
   warm-up: WARMUP sessions of separate warm-up users opened, IDLEd and
   closed (one-time allocations: per-core pools and tables). Not a
   warm-up over all users: the allocator keeps the pages freed when those
   sessions close, and the measured sessions would reuse them (PSS growth
   near 0, as a 19000-session warm-up showed).
3. Snapshot "before": ringmaild's PSS (smaps_rollup), every slab cache in
   /proc/slabinfo, `ss -tm` buffer memory of the server's IMAP sockets.
4. `ringbench idle --connections=SESSIONS` (LOGIN, SELECT INBOX, IDLE;
   sources spread over 127.0.0.0/8) with --deliver-rate/--deliver-count:
   once every session is IDLE the script waits SETTLE s, takes the "idle"
   snapshot, and only then do deliveries start (--deliver-delay); the run
   ends after the last one's EXISTS reached its session (or 2 s later).
5. Per session: server PSS growth; the server's kernel share = its
   sockets' buffers + half the growth of all slab caches (both ends of a
   loopback connection are on this machine and the client's engine is
   the same io_uring code, so the two ends cost about the same), leaving
   out tw_sock_* (TIME_WAIT sockets of the warm-up expiring meanwhile).
   The slab delta also holds whatever else the machine did meanwhile: on
   a busy box, treat it as an upper bound.
   EXISTS latency: from ringbench's `exists_latency` (end of DATA written
   -> EXISTS read by each idle session of the recipient) and
   `exists_after_250` (250 reply -> EXISTS; 0 when the EXISTS came first).

Loopback only; every session is closed and the daemon stopped at the end.
Needs RLIMIT_NOFILE above SESSIONS + 1000 for both processes.
"""
import argparse
import json
import os
import re
import resource
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
from harness import Daemon  # noqa: E402

FD_SLACK = 1000  # listeners, journals, log, helper pipes, ring fds
STABLE_S = 4  # open sessions unchanged this long: the opening is over
# The slab caches one connected TCP socket on io_uring takes objects from
# (per end): the socket, its inode, its struct file and the armed
# multishot recv request. Also allocated per socket but not listed, as
# those caches move with everything else on a shared machine: a dentry
# (192 B) and LSM blobs (kmalloc-*); "all slabs" below includes them.
SOCKET_SLABS = ("TCP", "TCPv6", "sock_inode_cache", "filp", "io_kiocb")


def pss_bytes(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no Pss in smaps_rollup")


def slabs():
    """{cache: bytes} of every slab cache (active objects × object size);
    {} without access to /proc/slabinfo."""
    try:
        with open("/proc/slabinfo") as f:
            lines = f.read().splitlines()[2:]
    except OSError:
        return {}
    out = {}
    for line in lines:
        p = line.split()
        out[p[0]] = int(p[1]) * int(p[3])
    return out


def server_sockets(port):
    """(established server sockets on `port`, their skmem buffer bytes)."""
    out = subprocess.run(["ss", "-tnmH", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True, check=True).stdout
    count = 0
    total = 0
    for m in re.finditer(r"skmem:\(([^)]*)\)", out):
        count += 1
        for field in m.group(1).split(","):
            key = field.rstrip("0123456789")
            if key in ("r", "t", "f", "w", "o", "bl"):
                total += int(field[len(key):])
    return count, total


def snapshot(pid, port):
    n, buf = server_sockets(port)
    return {"pss": pss_bytes(pid), "slabs": slabs(), "sockets": n, "skmem": buf,
            "t": time.monotonic()}


def ringbench_cmd(a, port, users_file, connections, extra, rate=None):
    # Idle mode paces only the opening: one operation per session.
    return [a.ringbench, "idle", f"--target=127.0.0.1:{port}", f"--connections={connections}",
            f"--threads={a.client_threads}", f"--users-file={users_file}",
            f"--rate={rate or a.open_rate}", "--timeout=120"] + extra


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=100000)
    ap.add_argument("--users", type=int, default=0, help="bench users (default: = sessions)")
    ap.add_argument("--settle", type=float, default=3.0)
    ap.add_argument("--server-threads", type=int, default=2)
    ap.add_argument("--client-threads", type=int, default=2)
    ap.add_argument("--deliver-rate", type=float, default=50.0)
    ap.add_argument("--deliveries", type=int, default=500)
    ap.add_argument("--open-rate", type=float, default=250.0,
                    help="sessions opened per second (a login storm beyond the "
                         "auth helpers' queue is answered NO [UNAVAILABLE])")
    ap.add_argument("--warmup", type=int, default=200, help="warm-up sessions")
    ap.add_argument("--open-timeout", type=float, default=600.0)
    ap.add_argument("--ringmaild", default=os.environ.get("RINGMAILD"))
    ap.add_argument("--ringbench", default=os.environ.get("RINGBENCH"))
    ap.add_argument("--json-out", default="")
    a = ap.parse_args()
    if not a.ringmaild or not a.ringbench:
        sys.exit("give --ringmaild and --ringbench (or RINGMAILD/RINGBENCH)")
    os.environ["RINGMAILD"] = a.ringmaild
    users_n = a.users or a.sessions
    if not 1 <= a.sessions <= 200000 or not 1 <= users_n <= 1000000:
        sys.exit("--sessions 1..200000, --users 1..1000000")
    need = max(a.sessions, a.warmup) + FD_SLACK
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < need:
        sys.exit(f"RLIMIT_NOFILE hard limit {hard} is below the {need} descriptors each of "
                 f"ringmaild and ringbench need for {a.sessions} sessions (raising it needs "
                 f"CAP_SYS_RESOURCE); the most this box allows is --sessions "
                 f"{hard - FD_SLACK}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))

    users = {f"idle{i}@example.test": f"pw{i}" for i in range(users_n)}
    warm = {f"warm{i}@example.test": f"pw{i}" for i in range(a.warmup)}
    limit = str(a.sessions + a.warmup + 100)
    d = Daemon(extra_args=[f"--threads={a.server_threads}", f"--imap_max_connections={limit}",
                           f"--imap_max_connections_per_ip={limit}"],
               users={**users, **warm}, imap=True, start_timeout=120)
    users_file = os.path.join(d.workdir, "bench-users")
    warm_file = os.path.join(d.workdir, "warm-users")
    with open(warm_file, "w") as f:
        f.writelines(f"{u}:{p}\n" for u, p in warm.items())
    with open(users_file, "w") as f:
        f.writelines(f"{u}:{p}\n" for u, p in users.items())
    bench = None
    try:
        d.start()
        pid = d.proc.pid
        port = d.imap_port
        # Empty Maildirs made here, cheaply: the first logins would
        # otherwise queue every mkdir on the server's helper pool, which
        # also verifies passwords, and a login storm gets NO [UNAVAILABLE].
        for u in list(users) + list(warm):
            for sub in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(d.maildir(u), sub), exist_ok=True)
        tw = time.monotonic()
        warm_run = subprocess.run(ringbench_cmd(a, port, warm_file, a.warmup,
                                     ["--duration=3600", "--deliver-rate=100", "--deliver-count=1",
                                      f"--smtp-target=127.0.0.1:{d.smtp_port}"],
                                     rate=a.open_rate),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=a.open_timeout)
        warmup_s = time.monotonic() - tw
        if warm_run.returncode not in (0, 3):  # 3: some operations failed
            raise RuntimeError(f"warm-up ringbench exited with {warm_run.returncode}")
        warmup_failed = warm_run.returncode == 3
        time.sleep(a.settle)
        before = snapshot(pid, port)
        json_path = os.path.join(d.workdir, "ringbench.json")
        extra = ["--duration=3600", f"--server-pid={pid}", "--json",
                 f"--deliver-rate={a.deliver_rate}", f"--deliver-count={a.deliveries}",
                 f"--smtp-target=127.0.0.1:{d.smtp_port}",
                 # room for the settle time and the snapshot below
                 f"--deliver-delay={a.settle + 10}"]
        err_path = os.path.join(d.workdir, "ringbench.err")
        t0 = time.monotonic()
        with open(json_path, "w") as out, open(err_path, "w") as err:
            bench = subprocess.Popen(ringbench_cmd(a, port, users_file, a.sessions, extra),
                                     stdout=out, stderr=err)
        # Wait until every session is up (the server's established sockets).
        # Sessions refused at login (e.g. NO [UNAVAILABLE] when the auth
        # helpers' queue is full) never come: after STABLE_S without a
        # change the sessions that are open are measured (errors reported).
        opened_at = None
        last_n, last_change = -1, time.monotonic()
        while time.monotonic() - t0 < a.open_timeout and bench.poll() is None:
            n, _ = server_sockets(port)
            now = time.monotonic()
            if n != last_n:
                last_n, last_change = n, now
            if n >= a.sessions or (n > 0 and now - last_change >= STABLE_S):
                opened_at = now
                break
            time.sleep(1)
        if opened_at is None:
            if bench.poll() is None:
                bench.send_signal(signal.SIGINT)
            bench.wait(timeout=300)
            with open(err_path) as f:
                tail = "".join(f.readlines()[-25:])
            bench = None
            raise RuntimeError(f"not every session opened; ringbench said:\n{tail}")
        time.sleep(a.settle)
        idle = snapshot(pid, port)
        bench.wait(timeout=a.open_timeout + 3600)
        report = json.load(open(json_path))
        bench = None
    finally:
        if bench is not None:
            bench.send_signal(signal.SIGINT)
            try:
                bench.wait(timeout=180)
            except subprocess.TimeoutExpired:
                bench.kill()
        try:
            if d.proc is not None:
                d.stop(timeout=120)
        finally:
            d.cleanup()

    n = idle["sockets"]
    slab_delta = {k: idle["slabs"].get(k, 0) - before["slabs"].get(k, 0)
                  for k in set(idle["slabs"]) | set(before["slabs"])
                  if not k.startswith("tw_sock_")}
    top = sorted(((v, k) for k, v in slab_delta.items() if v > 0), reverse=True)[:8]
    slab_total = sum(slab_delta.values())
    socket_slab = sum(slab_delta.get(k, 0) for k in SOCKET_SLABS)
    pss = (idle["pss"] - before["pss"]) / n
    skmem = (idle["skmem"] - before["skmem"]) / n
    kernel = skmem + socket_slab / n / 2
    kernel_all = skmem + slab_total / n / 2
    ops = report.get("ops", {})

    def lat(name):
        o = ops.get(name)
        if not o:
            return None
        l = o["latency_us"]
        return {"count": o["count"], "p50_ms": l["p50"] / 1000, "p99_ms": l["p99"] / 1000,
                "max_ms": l["max"] / 1000}

    rec = {
        "sessions": n, "users": users_n, "server_threads": a.server_threads,
        "open_seconds": round(opened_at - t0, 1), "warmup_seconds": round(warmup_s, 1),
        "warmup_had_errors": warmup_failed,
        "pss_per_session": round(pss), "skmem_per_session": round(skmem),
        "socket_slab_per_connection_both_ends": round(socket_slab / n),
        "all_slab_per_connection_both_ends": round(slab_total / n),
        "slab_top_per_connection": {k: round(v / n) for v, k in top},
        "kernel_share_per_session": round(kernel),
        "total_per_session": round(pss + kernel),
        "total_per_session_all_slabs": round(pss + kernel_all),
        "exists_latency": lat("exists_latency"), "exists_after_250": lat("exists_after_250"),
        "deliver": lat("deliver"), "open": lat("open"),
        "errors": report.get("errors", {}),
        "ringbench_pss_per_session": report.get("server", {}).get("pss_bytes_per_session"),
        "loadavg": open("/proc/loadavg").read().split()[0],
    }
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(rec, f, indent=1)
    print(json.dumps(rec, indent=1))
    print(f"\n{n} idle IMAP sessions (LOGIN, SELECT INBOX, IDLE), {users_n} users, "
          f"ringmaild --threads={a.server_threads}, opened in {rec['open_seconds']} s")
    print("| server PSS / session | socket buffers / session | socket slabs / connection "
          "(both ends) | total (PSS + buffers + half socket slabs) | all slabs / connection "
          "(both ends) | total with all slabs |")
    print("|---|---|---|---|---|---|")
    print(f"| {pss:.0f} B ({pss / 1024:.2f} KiB) | {skmem:.0f} B | "
          f"{socket_slab / n:.0f} B ({socket_slab / n / 1024:.2f} KiB) | "
          f"{pss + kernel:.0f} B ({(pss + kernel) / 1024:.2f} KiB) | "
          f"{slab_total / n:.0f} B | {pss + kernel_all:.0f} B ({(pss + kernel_all) / 1024:.2f} KiB) |")
    print("slab growth per connection, largest caches: " +
          ", ".join(f"{k} {round(v / n)} B" for v, k in top))
    for name in ("exists_latency", "exists_after_250", "deliver"):
        l = rec[name]
        if l:
            print(f"{name}: {l['count']} samples, p50 {l['p50_ms']:.2f} ms, "
                  f"p99 {l['p99_ms']:.2f} ms, max {l['max_ms']:.2f} ms")
    if rec["errors"]:
        print(f"errors: {rec['errors']}")
    if warmup_failed:
        print("warm-up: some sessions failed")


if __name__ == "__main__":
    main()
