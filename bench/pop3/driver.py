#!/usr/bin/python3
"""Runs the POP3 download benchmark for bench/pop3_download.sh (stdlib only).

  driver.py --ringmaild PATH --work DIR [--users 100] [--messages 200]
            [--size 20480] [--concurrency 100] [--procs 2] [--passes 2]
            [--timeout 600] [--only ringmail|dovecot]

Generates one tree (gen_tree.py) and gives each server its own copy of it,
made before either server starts, so both begin from the same files in new/
with no UID list. Then start both servers on loopback and run --passes
passes, alternating between them (pass 1: first download, the server
assigns UIDs and builds its index; later passes: the same download again).
The client is load.py, or ringbench's pop3 mode with --client ringbench. Dovecot is
Debian's, run from a private config by tests/integration/dovecot.py (its
"high-performance" login mode, pop3_uidl_format %08Xu%08Xv). Prints one
RESULT line per server and pass:

  RESULT <server> <pass> <messages> <octets> <seconds> <client cpu s> <uidl digest>
"""
import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
from dovecot import Dovecot, installed  # noqa: E402
from harness import root_flags  # noqa: E402

PY = "/usr/bin/python3"


def log(msg):
    print(f"[pop3_download {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def read_users(path):
    with open(path) as f:
        return dict(l.split() for l in f if l.strip())


class Ringmail:
    def __init__(self, binary, work, data_dir, passwd):
        self.binary, self.work, self.data_dir, self.passwd = binary, work, data_dir, passwd
        self.proc = None
        self.pop3_port = None

    def start(self, timeout=30):
        ports = os.path.join(self.work, "ports")
        self.log = open(os.path.join(self.work, "ringmaild.log"), "ab")
        self.proc = subprocess.Popen(
            [self.binary, f"--data_dir={self.data_dir}", f"--passwd_file={self.passwd}",
             "--smtp_listen=127.0.0.1:0", "--imap_listen=127.0.0.1:0",
             "--pop3_listen=127.0.0.1:0", "--submission_listen=127.0.0.1:0",
             "--smtps_listen=127.0.0.1:0", "--imaps_listen=127.0.0.1:0",
             "--pop3s_listen=127.0.0.1:0", f"--ports_file={ports}",
             "--hostname=bench-ringmail.localdomain",
             # Every client is 127.0.0.1, and a client reconnecting right
             # after QUIT briefly holds two connections: the default of 100
             # per IP would refuse some of the 100 sessions.
             "--pop3_max_connections_per_ip=10000"] + root_flags(self.binary),
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ringmaild exited with {self.proc.returncode}")
            try:
                with open(ports) as f:
                    text = f.read()
                if text.endswith("\n"):
                    for l in text.splitlines():
                        if l.startswith("pop3 "):
                            self.pop3_port = int(l.split()[1].rsplit(":", 1)[1])
                            return self
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        raise TimeoutError("ringmaild did not write its ports file")

    def stop(self):
        if self.proc is None:
            return 0
        crashed = self.proc.poll() is not None
        if not crashed:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code, self.proc = self.proc.returncode, None
        self.log.close()
        if crashed or code != 0:
            raise RuntimeError(f"ringmaild {'died' if crashed else 'exited'} with status {code}")
        return code


def run_ringbench(label, port, users_file, a, p):
    """One pass with ringbench's pop3 mode (C++, io_uring) as the client: each
    of --concurrency connections logs in as user i mod N and repeats the
    session (USER/PASS, STAT, LIST, UIDL, RETR all, QUIT) for --duration
    seconds. Returns the RESULT fields; fails on any ringbench error."""
    cmd = [a.ringbench, "pop3", f"--target=127.0.0.1:{port}", f"--connections={a.concurrency}",
           f"--duration={a.duration}", f"--users-file={users_file}", "--timeout=60",
           f"--threads={a.client_threads}", "--json"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=a.duration + 120)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        j = json.loads(r.stdout)
    except ValueError:
        raise RuntimeError(f"{label} pass {p}: ringbench gave no JSON (rc {r.returncode}): "
                           f"{r.stderr[-2000:]}")
    if j["total_errors"]:
        raise RuntimeError(f"{label} pass {p}: ringbench errors {j['errors']}")
    retr = j["ops"].get("retr", {})
    sessions = j["ops"].get("session", {}).get("count", 0)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return sessions, retr.get("count", 0), retr.get("bytes", 0), j["elapsed_s"], f"{cpu:.2f}", "-"


def run_pass(label, port, users_file, a, p):
    """Pass `p` against one server; prints (and returns) its RESULT line."""
    if a.client == "ringbench":
        _, msgs, octets, secs, cpu, digest = run_ringbench(label, port, users_file, a, p)
    else:
        cmd = [PY, os.path.join(HERE, "load.py"), str(port), users_file,
               f"--concurrency={a.concurrency}", f"--procs={a.procs}", f"--timeout={a.timeout}"]
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=a.timeout + 60)
        sys.stderr.write(r.stderr)
        line = next((l for l in r.stdout.splitlines() if l.startswith("RESULT ")), None)
        if r.returncode != 0 or line is None:
            raise RuntimeError(f"{label} pass {p}: load.py failed (status {r.returncode})")
        _, sessions, msgs, octets, secs, cpu, digest = line.split()
    res = f"RESULT {label} {p} {msgs} {octets} {secs} {cpu} {digest}"
    log(f"{res}  (load average {' '.join(open('/proc/loadavg').read().split()[:3])})")
    print(res, flush=True)
    return res

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringmaild", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--messages", type=int, default=200)
    ap.add_argument("--size", type=int, default=20480)
    ap.add_argument("--concurrency", type=int, default=100)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--only", choices=("ringmail", "dovecot"))
    ap.add_argument("--client", choices=("python", "ringbench"), default="python")
    ap.add_argument("--ringbench", help="ringbench binary (--client ringbench)")
    ap.add_argument("--duration", type=float, default=10, help="seconds per ringbench pass")
    ap.add_argument("--client-threads", type=int, default=1)
    a = ap.parse_args()
    work = a.work
    src = os.path.join(work, "tree")
    passwd = os.path.join(work, "passwd")
    users_file = os.path.join(work, "users")
    t = time.monotonic()
    subprocess.run([PY, os.path.join(HERE, "gen_tree.py"), src, passwd, users_file,
                    f"--users={a.users}", f"--messages={a.messages}", f"--size={a.size}"],
                   check=True)
    log(f"generated {a.users} x {a.messages} messages in {time.monotonic() - t:.1f}s")
    servers = [s for s in ("ringmail", "dovecot") if a.only in (None, s)]
    for s in servers:  # copies first: both servers start from identical trees
        os.makedirs(os.path.join(work, s))
        shutil.copytree(os.path.join(src, "mail"), os.path.join(work, s, "data", "mail"))
    shutil.rmtree(src)
    os.sync()
    status = 0
    # Both servers run for the whole benchmark and the passes alternate
    # (ringmail 1, dovecot 1, ringmail 2, ...), so a burst of outside load
    # on this shared machine hits both sides rather than one. An idle
    # server costs the other nothing measurable.
    started = {}
    try:
        for s in servers:
            d = os.path.join(work, s)
            try:
                if s == "ringmail":
                    started[s] = Ringmail(a.ringmaild, d, os.path.join(d, "data"), passwd).start()
                else:
                    if not installed(pop3=True):
                        raise RuntimeError("dovecot-pop3d is not installed")
                    started[s] = Dovecot(d, os.path.join(d, "data"), read_users(users_file),
                                         pop3=True, fast_login=True).start()
                    log(f"dovecot {started[s].version()} pop3 on "
                        f"127.0.0.1:{started[s].pop3_port}")
            except Exception as e:  # report and go on with the other server
                log(f"{s}: FAILED to start: {e}")
                status = 1
        failed = set()
        for p in range(1, a.passes + 1):
            for s, srv in started.items():
                if s in failed:
                    continue
                try:
                    run_pass(s, srv.pop3_port, users_file, a, p)
                except Exception as e:
                    log(f"{s}: FAILED: {e}")
                    failed.add(s)
                    status = 1
    finally:
        for srv in started.values():
            srv.stop()
    return status

if __name__ == "__main__":
    sys.exit(main())
