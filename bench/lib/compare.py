#!/usr/bin/python3
"""bench/compare's driver (stdlib only): runs the same ringbench workloads
against ringmail and a peer on the same data shapes, alternating runs, and
writes one table, compare.json and compare.html.

    compare.py --ringmaild BIN --ringbench BIN --out DIR [--runs 3]
               [--duration 5] [--workloads smtp,sink,lmtp,imap,pop3,idle,large]
               [--large-messages 100000]

Each workload gets fresh copies of one generated Maildir tree (gen_tree.py)
for each server; the servers of a workload run side by side on loopback and
are stopped before the next workload. Runs alternate ringmail, peer,
ringmail, ... and the table reports medians; a spread (max-min)/median above
NOISY marks the row "noisy". Every ringbench run is bounded by --duration and
a subprocess timeout; the caller (bench/compare) removes the work dir.

The "large" workload (issue 21, not in the default list) is not a ringbench
load but a sequence of latencies on one user's INBOX of --large-messages
messages (large_mailbox.py): one row per step, in milliseconds, lower is
better, each server on its own hard-linked copy of one generated tree.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(BENCH, "..", "tests", "integration"))
sys.path.insert(0, HERE)
from dovecot import Dovecot, chown_tree, free_port, installed, test_user  # noqa: E402
from harness import root_flags  # noqa: E402
import large_mailbox  # noqa: E402  (bench/lib, next to this file)

PY = "/usr/bin/python3"
NOISY = 0.20          # spread above this is flagged
DOMAIN = "bench.test"
DRAIN_TIMEOUT = 120   # s to wait for Postfix to deliver its queue after a run


def log(msg):
    print(f"[compare {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg():
    return " ".join(open("/proc/loadavg").read().split()[:3])


# ------------------------------------------------------------------ servers
class Ringmail:
    """ringmaild on port 0 everywhere; ports read back from --ports_file."""

    def __init__(self, binary, work, data_dir, passwd, lmtp):
        self.binary, self.work, self.data_dir, self.passwd = binary, work, data_dir, passwd
        self.lmtp = lmtp
        self.proc = None
        self.ports = {}

    def start(self, timeout=30):
        ports = os.path.join(self.work, "ports")
        if os.path.exists(ports):  # from an earlier start on this data
            os.unlink(ports)
        self.ports = {}
        self.logf = open(os.path.join(self.work, "ringmaild.log"), "ab")
        args = [self.binary, f"--data_dir={self.data_dir}", f"--passwd_file={self.passwd}",
                "--smtp_listen=127.0.0.1:0", "--imap_listen=127.0.0.1:0",
                "--pop3_listen=127.0.0.1:0", "--submission_listen=127.0.0.1:0",
                "--smtps_listen=127.0.0.1:0", "--imaps_listen=127.0.0.1:0",
                "--pop3s_listen=127.0.0.1:0", f"--ports_file={ports}",
                "--hostname=bench-ringmail.localdomain"]
        if self.lmtp:
            args.append("--lmtp_listen=127.0.0.1:0")
        args += root_flags(self.binary)
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=self.logf)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ringmaild exited with {self.proc.returncode}")
            try:
                text = open(ports).read()
                if text.endswith("\n"):
                    for line in text.splitlines():
                        name, addr = line.split()[:2]
                        self.ports.setdefault(name, int(addr.rsplit(":", 1)[1]))
                    return self
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        raise TimeoutError("ringmaild did not write its ports file")

    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code, self.proc = self.proc.returncode, None
        self.logf.close()
        if code != 0:
            log(f"ringmaild exited with status {code}")


class Postfix:
    """A private Postfix (bench/lib/postfix.sh) delivering to Maildir."""

    def __init__(self, work, users):
        self.dir = os.path.join(work, "postfix")
        os.makedirs(self.dir, exist_ok=True)
        self.vmailbox = os.path.join(self.dir, "vmailbox")
        with open(self.vmailbox, "w") as f:
            for u in users:
                f.write(f"{u} {DOMAIN}/{u.split('@')[0]}/Maildir/\n")
        self.port = None
        self.sent = 0

    def _sh(self, script):
        return subprocess.run(["bash", "-c", f". {HERE}/postfix.sh; {script}"],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=120)

    def start(self):
        self.port = free_port()
        r = self._sh(f"pf_start {self.dir} {self.port} {DOMAIN} {self.vmailbox}")
        if r.returncode != 0:
            raise RuntimeError(f"postfix did not start: {r.stderr}")
        wait_banner(self.port)
        return self

    def delivered(self):
        n = 0
        base = os.path.join(self.dir, "mail", DOMAIN)
        for user in os.listdir(base) if os.path.isdir(base) else ():
            new = os.path.join(base, user, "Maildir", "new")
            n += len(os.listdir(new)) if os.path.isdir(new) else 0
        return n

    def drain(self):
        """Waits (bounded) until the queue is empty: a backlog still being
        delivered must not load the next ringmail run. Returns seconds."""
        t = time.monotonic()
        while time.monotonic() - t < DRAIN_TIMEOUT:
            if self._sh(f"pf_queue_empty {self.dir}").returncode == 0:
                break
            time.sleep(0.5)
        return time.monotonic() - t

    def stop(self):
        self._sh(f"pf_stop {self.dir}")


class SmtpSink:
    """Postfix's smtp-sink: answers SMTP, stores nothing."""

    def start(self):
        self.port = free_port()
        self.proc = subprocess.Popen(["/usr/sbin/smtp-sink", "-u", "nobody",
                                      f"127.0.0.1:{self.port}", "1024"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_banner(self.port)
        return self

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def wait_banner(port, timeout=30):
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                if s.recv(100)[:1] in (b"2", b"*", b"+"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"no banner on port {port}")


# ------------------------------------------------------------------ memory
def tree_pids(root):
    """root and all its descendants (from /proc/*/stat)."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = open(f"/proc/{d}/stat").read()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def tree_pss_kb(root):
    """Sum of PSS over root's process tree: shared pages are split between
    the processes that map them, so the sum counts each page once."""
    total = 0
    for p in tree_pids(root):
        try:
            for line in open(f"/proc/{p}/smaps_rollup"):
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            pass
    return total


# ------------------------------------------------------------------ runs
class Bench:
    def __init__(self, a):
        self.a = a
        self.reports = os.path.join(a.out, "runs")
        os.makedirs(self.reports, exist_ok=True)

    def ringbench(self, name, mode, port, args, pss_root=None):
        """One ringbench run; returns its JSON (plus tree PSS samples when
        pss_root is given: the baseline and the peak during the run)."""
        rep = os.path.join(self.reports, f"{name}.html")
        cmd = [self.a.ringbench, mode, f"--target=127.0.0.1:{port}",
               f"--duration={self.a.duration}", "--timeout=20", "--json",
               f"--report={rep}"] + args
        base = tree_pss_kb(pss_root) if pss_root else 0
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        peak = 0
        if pss_root:
            while p.poll() is None:
                peak = max(peak, tree_pss_kb(pss_root))
                time.sleep(0.5)
        try:
            out, err = p.communicate(timeout=self.a.duration + 120)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        try:
            r = json.loads(out)
        except ValueError:
            raise RuntimeError(f"{name}: ringbench gave no JSON (rc {p.returncode}): {err[-2000:]}")
        r["report"] = os.path.relpath(rep, self.a.out)
        if pss_root:
            r["tree_pss_kb"] = {"before": base, "peak": peak}
        return r


def metric(workload, r):
    """(value, unit) for one run. Higher is better except for idle."""
    ops = r["ops"]
    if workload in ("smtp", "sink", "lmtp"):
        return ops.get("message", {}).get("ops_per_s", 0.0), "msgs/s"
    if workload == "imap":
        n = sum(o["count"] for k, o in ops.items() if k not in ("login", "logout"))
        return n / max(r["elapsed_s"], 1e-9), "ops/s"
    if workload == "pop3":
        return ops.get("retr", {}).get("ops_per_s", 0.0), "RETR/s"
    if workload == "idle":
        t, n = r["tree_pss_kb"], r.get("server", {}).get("peak_sessions") or \
            ops.get("open", {}).get("count", 0)
        return ((t["peak"] - t["before"]) * 1024.0 / n if n else 0.0), "B/session"
    raise ValueError(workload)


def summarize(values):
    if not values:
        return None
    med = statistics.median(values)
    spread = (max(values) - min(values)) / med if med else 0.0
    return {"median": med, "min": min(values), "max": max(values), "spread": spread,
            "runs": values}


WORKLOADS = {
    # name: (title, peer label, mode, ringbench args)
    "smtp": ("SMTP ingest, durable", "Postfix virtual(8) Maildir", "smtp",
             ["--connections=20", "--messages-per-connection=10", "--size=4096"]),
    "sink": ("SMTP ingest vs smtp-sink", "Postfix smtp-sink (stores nothing)", "smtp",
             ["--connections=20", "--messages-per-connection=10", "--size=4096"]),
    "lmtp": ("LMTP ingest, durable", "Dovecot LMTP", "lmtp",
             ["--connections=20", "--messages-per-connection=10", "--size=4096"]),
    "imap": ("IMAP mixed (0 errors required)", "Dovecot IMAP", "imap", ["--connections=20"]),
    "pop3": ("POP3 download", "Dovecot POP3", "pop3", ["--connections=20"]),
    "idle": ("idle IMAP session memory (PSS, lower is better)", "Dovecot IMAP", "idle",
             ["--connections={idle}"]),
}


def run_workload(b, w, tree, passwd, users_file, users, lmtp_ok):
    a = b.a
    title, peer_label, mode, args = WORKLOADS[w]
    args = [x.format(idle=a.idle_sessions) for x in args] + [f"--users-file={users_file}"]
    wd = os.path.join(a.work, w)
    rm_dir, pd = os.path.join(wd, "ringmail"), os.path.join(wd, "peer")
    for d in (rm_dir, pd):
        os.makedirs(d)
        shutil.copytree(os.path.join(tree, "mail"), os.path.join(d, "data", "mail"))
    os.sync()
    row = {"workload": w, "title": title, "peer": peer_label, "ringmail_runs": [],
           "peer_runs": [], "errors": {"ringmail": 0, "peer": 0}}
    rm = peer = None
    peer_port = None

    def start():
        nonlocal rm, peer, peer_port
        rm = Ringmail(a.ringmaild, rm_dir, os.path.join(rm_dir, "data"), passwd,
                      lmtp=lmtp_ok and w == "lmtp")
        rm.start()
        if w == "smtp":
            peer = Postfix(pd, users).start()
            peer_port = peer.port
        elif w == "sink":
            peer = SmtpSink().start()
            peer_port = peer.port
        else:
            extra = "protocol imap {\n  mail_max_userip_connections = 100000\n}\n"
            peer = Dovecot(pd, os.path.join(pd, "data"), dict(
                l.split() for l in open(users_file) if l.strip()), pop3=(w == "pop3"),
                lmtp=(w == "lmtp"), fast_login=True, extra_conf=extra).start()
            peer_port = {"lmtp": peer.lmtp_port, "pop3": peer.pop3_port}.get(w, peer.port)
            if "(" not in row["peer"]:
                row["peer"] += f" ({peer.version().split()[0]})"

    def stop():
        nonlocal rm, peer
        if peer is not None:
            peer.stop()
            peer = None
        if rm is not None:
            rm.stop()
            rm = None

    try:
        start()
        rm_port = rm.ports.get(mode if mode in ("smtp", "lmtp", "pop3") else "imap")
        if w == "lmtp" and not lmtp_ok:
            row["ringmail_note"] = "ringmail: no LMTP listener"
        for i in range(1, a.runs + 1):
            if w == "idle" and i > 1:
                # Memory freed by the last run's sessions stays in each
                # server's heap and would hide this run's growth: measure
                # every run on freshly started servers.
                stop()
                start()
                rm_port = rm.ports.get("imap")
            for side in ("ringmail", "peer"):
                if side == "ringmail" and row.get("ringmail_note"):
                    continue
                port = rm_port if side == "ringmail" else peer_port
                root = None
                if w == "idle":
                    root = rm.pid() if side == "ringmail" else peer.proc.pid
                extra_args = [f"--server-pid={rm.pid()}"] if side == "ringmail" else []
                r = b.ringbench(f"{w}-{side}-{i}", mode, port, args + extra_args, root)
                value, unit = metric(w, r)
                row["unit"] = unit
                row[f"{side}_runs"].append({"value": value, "errors": r["total_errors"],
                                            "error_kinds": r["errors"], "report": r["report"],
                                            "json": r})
                row["errors"][side] += r["total_errors"]
                log(f"{w} {side} run {i}: {value:.1f} {unit}, {r['total_errors']} errors "
                    f"(load average {loadavg()})")
                if side == "peer" and w == "smtp":
                    # Postfix's 250 means "durably queued"; delivery follows.
                    # Wait for it (bounded) so it does not load the next run,
                    # and show that the messages did reach the Maildirs.
                    waited = peer.drain()
                    log(f"postfix queue drained in {waited:.1f}s; {peer.delivered()} messages "
                        f"in its Maildirs so far")
    finally:
        stop()
        shutil.rmtree(wd, ignore_errors=True)
    row["ringmail"] = summarize([x["value"] for x in row["ringmail_runs"]])
    row["peer_summary"] = summarize([x["value"] for x in row["peer_runs"]])
    return row


# ------------------------------------------------------------ large mailbox
LARGE_USER, LARGE_PASSWORD = "user000@bench.test", "bench-large"


def run_large(a, log_to=None):
    """The large-mailbox workload: rows of latencies (ms) per step, and a
    memory row, ringmail against Dovecot, medians over --runs rounds (each
    round a fresh hard-linked copy of the tree for each server, so every
    round has a cold SELECT)."""
    n = a.large_messages
    base = os.path.join(a.work, f"large-{n}")
    tree = os.path.join(base, "tree")
    md = os.path.join(tree, "mail", "bench.test", "user000", "Maildir")
    t = time.monotonic()
    subprocess.run([PY, os.path.join(HERE, "large_tree.py"), md, f"--messages={n}"], check=True)
    log(f"large: generated {n} messages in {time.monotonic() - t:.0f}s")
    # Dovecot reads the tree as its mail user; ringmaild runs as root and
    # does not care. Hard links share inodes, so one chown serves every copy.
    uid, gid = test_user()
    chown_tree(os.path.join(tree, "mail"), uid, gid)
    passwd = os.path.join(base, "passwd")
    with open(passwd, "w") as f:
        f.write(f"{LARGE_USER}:{{PLAIN}}{LARGE_PASSWORD}::::::\n")
    results = {"ringmail": {s: [] for s in large_mailbox.STEPS},
               "peer": {s: [] for s in large_mailbox.STEPS}}
    memory = {side: {"cached": [], "selected": []} for side in ("ringmail", "peer")}
    notes = {}
    version = ""
    for i in range(1, a.runs + 1):
        for side in ("ringmail", "peer"):
            wd = os.path.join(base, f"{side}-{i}")
            os.makedirs(os.path.join(wd, "data"))
            # A copy per server and round: hard links (the servers rename and
            # write index files, never a message file's content); -a keeps
            # the directories' old mtimes, as in a mailbox years old.
            subprocess.run(["cp", "-al", os.path.join(tree, "mail"),
                            os.path.join(wd, "data", "mail")], check=True)
            os.sync()
            server = None
            try:
                if side == "ringmail":
                    server = Ringmail(a.ringmaild, wd, os.path.join(wd, "data"), passwd,
                                      lmtp=False).start()
                    imap_port, pop3_port, root = (server.ports["imap"], server.ports["pop3"],
                                                  server.pid())
                else:
                    server = Dovecot(wd, os.path.join(wd, "data"), {LARGE_USER: LARGE_PASSWORD},
                                     pop3=True, fast_login=True).start()
                    version = server.version().split()[0]
                    imap_port, pop3_port, root = server.port, server.pop3_port, server.proc.pid
                res, nt = large_mailbox.measure(imap_port, pop3_port, LARGE_USER, LARGE_PASSWORD,
                                                n, repeats=a.large_repeats, log=log)
                notes.update(nt)
                for s, v in res.items():
                    results[side][s] += v
                # Memory on a fresh server process (what the steps above left
                # in the allocator would count otherwise): the index exists.
                server.stop()
                server.start()
                if side == "ringmail":
                    imap_port, root = server.ports["imap"], server.pid()
                else:
                    imap_port, root = server.port, server.proc.pid
                seen = {}

                def sample(label):
                    seen[label] = tree_pss_kb(root)

                large_mailbox.measure_memory(imap_port, LARGE_USER, LARGE_PASSWORD, n, sample)
                for label in ("cached", "selected"):
                    memory[side][label].append((seen[label] - seen["start"]) * 1024.0 / n)
                log(f"large {n} {side} round {i}: " + ", ".join(
                    f"{s} {statistics.median(v) * 1000:.1f}" for s, v in res.items() if v) +
                    f" (ms); memory cached {memory[side]['cached'][-1]:.1f}, selected "
                    f"{memory[side]['selected'][-1]:.1f} B/message (load average {loadavg()})")
            finally:
                if server is not None:
                    server.stop()
                shutil.rmtree(wd, ignore_errors=True)
    rows = []
    for s in large_mailbox.STEPS:
        rm = [v * 1000 for v in results["ringmail"][s]]
        pr = [v * 1000 for v in results["peer"][s]]
        if not rm and not pr:
            continue
        rows.append({"workload": f"large-{n}", "title": f"{n:,} msgs: {s} (ms, lower is better)",
                     "peer": f"Dovecot ({version})", "unit": "ms",
                     "errors": {"ringmail": 0, "peer": 0},
                     "ringmail_runs": [{"value": v, "report": ""} for v in rm],
                     "peer_runs": [{"value": v, "report": ""} for v in pr],
                     "ringmail": summarize(rm), "peer_summary": summarize(pr)})
    for label, what in (("selected", "PSS growth, folder selected, FLAGS fetched "
                                     "(B/message)"),
                        ("cached", "PSS growth, user logged in, folder not selected "
                                   "(B/message)")):
        rows.append({"workload": f"large-{n}", "title": f"{n:,} msgs: {what}",
                     "peer": f"Dovecot ({version})", "unit": "B/msg",
                     "errors": {"ringmail": 0, "peer": 0},
                     "ringmail_runs": [{"value": v, "report": ""}
                                       for v in memory["ringmail"][label]],
                     "peer_runs": [{"value": v, "report": ""} for v in memory["peer"][label]],
                     "ringmail": summarize(memory["ringmail"][label]),
                     "peer_summary": summarize(memory["peer"][label]), "notes": notes})
    return rows


def ratio(row):
    r, p = row.get("ringmail"), row.get("peer_summary")
    if not r or not p or not p["median"]:
        return None
    return r["median"] / p["median"]


def cell(s, unit):
    if not s:
        return "-"
    # Latencies of a few milliseconds need their decimals.
    txt = f"{s['median']:.1f} {unit}" if unit == "ms" and s["median"] < 100 else \
        f"{s['median']:.0f} {unit}"
    if s["spread"] > NOISY:
        txt += f" (noisy: spread {s['spread'] * 100:.0f}%)"
    return txt


def table(rows):
    lines = [f"{'workload':<48} {'ringmail':>34} {'peer':>34} {'ratio':>7}  peer"]
    for row in rows:
        unit = row.get("unit", "")
        rm = row.get("ringmail_note") or cell(row.get("ringmail"), unit)
        rt = ratio(row)
        err = ""
        if row["errors"]["ringmail"] or row["errors"]["peer"]:
            err = f"  ERRORS ringmail={row['errors']['ringmail']} peer={row['errors']['peer']}"
        lines.append(f"{row['title']:<48} {rm:>34} {cell(row.get('peer_summary'), unit):>34} "
                     f"{(f'{rt:.2f}x' if rt else 'n/a'):>7}  {row['peer']}{err}")
    return "\n".join(lines)


def html(rows, meta):
    def esc(s):
        return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = ["<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>ringmail vs peers"
           "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:"
           "collapse}td,th{border:1px solid #ccc;padding:3px 8px}</style></head><body>",
           "<h1>ringmail vs peers (bench/compare)</h1><p>", esc(meta["when"]), " &middot; ",
           esc(meta["machine"]), " &middot; ", esc(meta["command"]), "</p><table><tr>"
           "<th>workload</th><th>ringmail</th><th>peer</th><th>ratio</th><th>peer server</th>"
           "<th>runs (ringbench reports)</th></tr>"]
    for row in rows:
        unit = row.get("unit", "")
        rt = ratio(row)
        links = " ".join(f"<a href=\"{esc(x['report'])}\">{side[0]}{i + 1}</a>"
                         for side in ("ringmail", "peer")
                         for i, x in enumerate(row[f"{side}_runs"]) if x.get("report"))
        out.append(f"<tr><td>{esc(row['title'])}</td><td>"
                   f"{esc(row.get('ringmail_note') or cell(row.get('ringmail'), unit))}</td>"
                   f"<td>{esc(cell(row.get('peer_summary'), unit))}</td>"
                   f"<td>{f'{rt:.2f}x' if rt else 'n/a'}</td><td>{esc(row['peer'])}</td>"
                   f"<td>{links}</td></tr>")
    out.append("</table><h2>Runs (dots) and medians (bars), each workload scaled to its "
               "largest value</h2>")
    W, RH = 700, 60
    out.append(f"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W + 320}\" "
               f"height=\"{RH * len(rows) + 20}\">")
    for k, row in enumerate(rows):
        y0 = 10 + RH * k
        vals = [x["value"] for s in ("ringmail", "peer") for x in row[f"{s}_runs"]] or [1]
        top = max(vals) or 1
        out.append(f"<text x=\"0\" y=\"{y0 + 12}\" font-size=\"12\">{esc(row['workload'])}"
                   f"</text>")
        for j, (side, color, key) in enumerate((("ringmail", "#1f77b4", "ringmail"),
                                                ("peer", "#d62728", "peer_summary"))):
            y = y0 + 18 + 20 * j
            s = row.get(key)
            if s:
                w = max(0.0, W * s["median"] / top)
                out.append(f"<rect x=\"80\" y=\"{y}\" width=\"{w:.1f}\" height=\"14\" "
                           f"fill=\"{color}\" opacity=\"0.5\"><title>{side} median "
                           f"{s['median']:.1f}</title></rect>")
                out.append(f"<text x=\"{84 + w:.1f}\" y=\"{y + 11}\" font-size=\"11\">"
                           f"{side} {s['median']:.0f} {esc(row.get('unit', ''))}</text>")
            note = row.get("failed") or (row.get("ringmail_note") if side == "ringmail" else None)
            if not s and note:
                out.append(f"<text x=\"84\" y=\"{y + 11}\" font-size=\"11\">{esc(note)}</text>")
            for x in row[f"{side}_runs"]:
                cx = 80 + max(0.0, W * x["value"] / top)
                out.append(f"<circle cx=\"{cx:.1f}\" cy=\"{y + 7}\" r=\"3\" fill=\"{color}\"/>")
    out.append("</svg><h2>JSON</h2><p>compare.json next to this file.</p></body></html>\n")
    return "".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringmaild", required=True)
    ap.add_argument("--ringbench", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--messages", type=int, default=100)
    ap.add_argument("--size", type=int, default=10240)
    ap.add_argument("--idle-sessions", type=int, default=500)
    ap.add_argument("--large-messages", type=int, default=100000)
    ap.add_argument("--large-repeats", type=int, default=5)
    ap.add_argument("--workloads", default="smtp,sink,lmtp,imap,pop3,idle")
    ap.add_argument("--command", default="bench/compare")
    ap.add_argument("--file-system", default="", help="description for the report")
    a = ap.parse_args()
    if not 1 <= a.runs <= 20 or not 0 < a.duration <= 120 or not 1 <= a.idle_sessions <= 5000:
        ap.error("--runs 1..20, --duration (0, 120], --idle-sessions 1..5000")
    workloads = a.workloads.split(",")
    for w in workloads:
        if w not in WORKLOADS and w != "large":
            ap.error(f"unknown workload {w}")
    if not 1 <= a.large_messages <= 10_000_000 or not 1 <= a.large_repeats <= 50:
        ap.error("--large-messages 1..10000000, --large-repeats 1..50")
    if not installed(pop3=True, lmtp=True):
        raise SystemExit("dovecot-imapd, dovecot-pop3d and dovecot-lmtpd must be installed")
    os.makedirs(a.out, exist_ok=True)
    tree = os.path.join(a.work, "tree")
    passwd, users_file = os.path.join(a.work, "passwd"), os.path.join(a.work, "users")
    users = []
    if any(w != "large" for w in workloads):
        subprocess.run([PY, os.path.join(BENCH, "pop3", "gen_tree.py"), tree, passwd, users_file,
                        f"--users={a.users}", f"--messages={a.messages}", f"--size={a.size}"],
                       check=True)
        users = [l.split()[0] for l in open(users_file) if l.strip()]
    help_text = subprocess.run([a.ringmaild, "--help"], capture_output=True, text=True,
                               stdin=subprocess.DEVNULL)
    lmtp_ok = "lmtp_listen" in help_text.stdout + help_text.stderr
    meta = {"when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "machine": f"{os.cpu_count()} cores, load average at start {loadavg()}",
            "command": a.command, "runs": a.runs, "duration_s": a.duration,
            "tree": "; ".join(
                ([f"{a.users} users x {a.messages} msgs x ~{a.size} B"]
                 if any(w != "large" for w in workloads) else []) +
                ([f"large: one INBOX of {a.large_messages} msgs, {a.large_repeats} repeats "
                  f"per step and run"] if "large" in workloads else []))}
    if a.file_system:
        meta["machine"] += f"; file system: {a.file_system}"
    b = Bench(a)
    rows = []
    for w in workloads:
        log(f"workload {w}")
        if w == "large":
            try:
                rows.extend(run_large(a))
            except Exception as e:  # report and go on with the next workload
                log(f"large: FAILED: {e}")
                rows.append({"workload": "large", "title": "large mailbox", "peer": "Dovecot",
                             "ringmail_runs": [], "peer_runs": [], "failed": str(e),
                             "errors": {"ringmail": 0, "peer": 0}})
            continue
        try:
            rows.append(run_workload(b, w, tree, passwd, users_file, users, lmtp_ok))
        except Exception as e:  # report and go on with the next workload
            log(f"{w}: FAILED: {e}")
            rows.append({"workload": w, "title": WORKLOADS[w][0], "peer": WORKLOADS[w][1],
                         "ringmail_runs": [], "peer_runs": [], "failed": str(e),
                         "errors": {"ringmail": 0, "peer": 0}})
    meta["load_end"] = loadavg()
    with open(os.path.join(a.out, "compare.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)
    with open(os.path.join(a.out, "compare.html"), "w") as f:
        f.write(html(rows, meta))
    print(f"\nringmail vs peers: {meta['tree']}, {a.runs} alternating runs of "
          f"{a.duration:g} s each, medians; {meta['machine']}, at end {meta['load_end']}")
    print(table(rows))
    for row in rows:
        if row.get("failed"):
            print(f"{row['workload']}: FAILED: {row['failed']}")
    print(f"report: {a.out}/compare.html  json: {a.out}/compare.json")
    failed = any(r.get("failed") for r in rows) or any(
        r["workload"] == "imap" and r["errors"]["ringmail"] + r["errors"]["peer"] for r in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
