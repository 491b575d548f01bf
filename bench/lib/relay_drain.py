"""Helper for bench/relay_drain.sh: ports, injection, drain timing, report.

    relay_drain.py freeport HOST...          a TCP port free on every HOST
    relay_drain.py udpport                   a free UDP port on 127.0.0.1
    relay_drain.py wait-banner HOST:PORT SECS
    relay_drain.py inject --target H:P --messages N --destinations D
                          --size B --sessions S --log FILE
        D smtp-source processes in parallel, message i of N to
        bench@d<i mod D>.test, S sessions in all, connections reused (-d).
    relay_drain.py wait-files --glob G --count N --timeout SECS
        until N files are under the directories the glob matches.
    relay_drain.py drain --label L --messages N --empty GLOB... --sinks F...
                         --timeout SECS -- RELEASE-COMMAND...
        starts the clock, runs the release command, polls until no file is
        left under the directories the --empty globs match, prints one result line:
        "L messages=N seconds=S rate=R sinks=C"  (C: messages the sinks
        counted, from smtp-sink -c output).
    relay_drain.py report RESULT-FILE...
        the table: per MTA the median drain time and rate over the runs,
        the ratio ringmail/postfix, a warning if the runs spread widely.
"""
import argparse
import glob
import os
import re
import socket
import statistics
import subprocess
import sys
import time

SMTP_SOURCE = "/usr/sbin/smtp-source"


def freeport(hosts):
    for _ in range(100):
        s = socket.socket()
        s.bind((hosts[0], 0))
        port = s.getsockname()[1]
        s.close()
        ok = True
        for h in hosts[1:]:
            t = socket.socket()
            try:
                t.bind((h, port))
            except OSError:
                ok = False
            finally:
                t.close()
        if ok:
            return port
    raise SystemExit("no common free port")


def udpport():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_banner(target, secs):
    host, port = target.rsplit(":", 1)
    deadline = time.monotonic() + float(secs)
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, int(port)), timeout=2) as s:
                if s.recv(512).startswith(b"220"):
                    return 0
        except OSError:
            time.sleep(0.1)
    print(f"no SMTP banner from {target}", file=sys.stderr)
    return 1


def inject(a):
    per = [a.messages // a.destinations + (1 if i < a.messages % a.destinations else 0)
           for i in range(a.destinations)]
    sessions = max(1, a.sessions // a.destinations)
    procs = []
    log = open(a.log, "ab")
    t0 = time.monotonic()
    for i, n in enumerate(per):
        if n == 0:
            continue
        cmd = [SMTP_SOURCE, "-d", "-l", str(a.size), "-m", str(n), "-s", str(sessions),
               "-f", "bench@sender.test", "-t", f"bench@d{i}.test", a.target]
        procs.append(subprocess.Popen(cmd, stdout=log, stderr=log))
    rc = 0
    for p in procs:
        rc |= p.wait()
    print(f"injected {a.messages} messages in {time.monotonic() - t0:.1f} s", file=sys.stderr)
    return 1 if rc else 0


def count_files(pattern, stop_at=None):
    """Files under the directories `pattern` matches, subdirectories
    included (Postfix hashes its deferred queue); stops at `stop_at`."""
    n = 0
    stack = glob.glob(pattern)
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                for e in it:
                    if e.is_dir(follow_symlinks=False):
                        stack.append(e.path)
                        continue
                    n += 1
                    if stop_at is not None and n >= stop_at:
                        return n
        except (FileNotFoundError, NotADirectoryError):
            pass
    return n


def wait_files(a):
    deadline = time.monotonic() + a.timeout
    n = 0
    while time.monotonic() < deadline:
        n = count_files(a.glob)
        if n >= a.count:
            return 0
        time.sleep(0.2)
    print(f"{a.glob}: {n} files, wanted {a.count}", file=sys.stderr)
    return 1


_MESG = re.compile(rb"mesg=(\d+)")


def sink_count(files):
    total = 0
    for f in files:
        try:
            with open(f, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - 256))
                found = _MESG.findall(fh.read())
                total += int(found[-1]) if found else 0
        except FileNotFoundError:
            pass
    return total


def drain(a, release):
    t0 = time.monotonic()
    rc = subprocess.call(release, stdout=sys.stderr)
    if rc != 0:
        print(f"release command failed ({rc}): {' '.join(release)}", file=sys.stderr)
        return 1
    deadline = t0 + a.timeout
    while True:
        if all(count_files(g, stop_at=1) == 0 for g in a.empty):
            break
        if time.monotonic() > deadline:
            left = sum(count_files(g) for g in a.empty)
            print(f"{a.label}: timed out with {left} files left", file=sys.stderr)
            return 1
        time.sleep(0.02)
    secs = time.monotonic() - t0
    # smtp-sink updates its counter when "." is answered; the queue file is
    # gone only after that, so the count is final (give stdout a moment).
    time.sleep(0.3)
    sinks = sink_count(a.sinks)
    ok = sinks >= a.messages
    # An incomplete run keeps its line for the log but not for the table.
    label = a.label if ok else f"incomplete-{a.label}"
    print(f"{label} messages={a.messages} seconds={secs:.3f} "
          f"rate={a.messages / secs:.0f} sinks={sinks}")
    return 0 if ok else 1


def parse_results(paths):
    by = {}
    for p in paths:
        if not os.path.exists(p):
            continue
        with open(p) as f:
            for line in f:
                parts = line.split()
                if not parts or "=" not in line:
                    continue
                kv = dict(x.split("=", 1) for x in parts[1:] if "=" in x)
                if "seconds" in kv:
                    by.setdefault(parts[0], []).append(
                        (float(kv["seconds"]), int(kv["messages"]), int(kv.get("sinks", 0))))
    return by


def report(paths):
    by = parse_results(paths)
    print(f"{'MTA':<10} {'runs':>4} {'messages':>9} {'drain s (median)':>17} "
          f"{'msg/s (median)':>15} {'all runs (s)':>24}")
    med = {}
    for label in ("ringmail", "postfix"):
        runs = by.get(label)
        if not runs:
            continue
        secs = [r[0] for r in runs]
        m = statistics.median(secs)
        med[label] = runs[0][1] / m
        print(f"{label:<10} {len(runs):>4} {runs[0][1]:>9} {m:>17.2f} {med[label]:>15.0f} "
              f"{' '.join(f'{s:.2f}' for s in secs):>24}")
        if len(secs) > 1 and (max(secs) - min(secs)) > 0.2 * m:
            print(f"  note: {label} runs spread widely ({min(secs):.2f}..{max(secs):.2f} s)")
    if "ringmail" in med and "postfix" in med:
        print(f"ratio ringmail/postfix (msg/s): {med['ringmail'] / med['postfix']:.2f}x "
              f"(target >= 3x)")
    return 0


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    cmd, rest = sys.argv[1], sys.argv[2:]
    if cmd == "freeport":
        print(freeport(rest))
        return 0
    if cmd == "udpport":
        print(udpport())
        return 0
    if cmd == "wait-banner":
        return wait_banner(rest[0], rest[1])
    if cmd == "report":
        return report(rest)
    p = argparse.ArgumentParser(prog=f"relay_drain.py {cmd}")
    if cmd == "inject":
        p.add_argument("--target", required=True)
        p.add_argument("--messages", type=int, required=True)
        p.add_argument("--destinations", type=int, required=True)
        p.add_argument("--size", type=int, required=True)
        p.add_argument("--sessions", type=int, required=True)
        p.add_argument("--log", required=True)
        return inject(p.parse_args(rest))
    if cmd == "wait-files":
        p.add_argument("--glob", required=True)
        p.add_argument("--count", type=int, required=True)
        p.add_argument("--timeout", type=float, default=600)
        return wait_files(p.parse_args(rest))
    if cmd == "drain":
        if "--" not in rest:
            print("drain: missing -- RELEASE-COMMAND", file=sys.stderr)
            return 2
        i = rest.index("--")
        p.add_argument("--label", required=True)
        p.add_argument("--messages", type=int, required=True)
        p.add_argument("--empty", nargs="+", required=True)
        p.add_argument("--sinks", nargs="+", required=True)
        p.add_argument("--timeout", type=float, default=1800)
        return drain(p.parse_args(rest[:i]), rest[i + 1:])
    print(f"unknown command {cmd}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
