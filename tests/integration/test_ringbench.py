"""ringbench (bench/ringbench, issue 8) end to end: every mode runs for a
few seconds against a ringmaild started here and must report non-zero
throughput and zero errors in its JSON; the smtp and lmtp modes also run
against Python's aiosmtpd, a server that is not ringmail.

The binary is $RINGBENCH or <repo>/bazel-bin/bench/ringbench/ringbench
(build it with 'bazel build //bench:ringbench'); missing means failure."""
import json
import os
import re
import socket
import subprocess
import sys
import threading
import unittest

from harness import REPO, USERS, DaemonTestCase

RINGBENCH = os.environ.get("RINGBENCH") or os.path.join(
    REPO, "bazel-bin", "bench", "ringbench", "ringbench")
SECONDS = 3


def ringbench(mode, port, *args, timeout=90):
    """Runs ringbench with --json; returns (exit code, parsed JSON, stderr)."""
    if not os.access(RINGBENCH, os.X_OK):
        raise FileNotFoundError(f"{RINGBENCH} missing: bazel build //bench:ringbench")
    cmd = [RINGBENCH, mode, f"--target=127.0.0.1:{port}", f"--duration={SECONDS}",
           "--timeout=10", "--json"] + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    try:
        result = json.loads(p.stdout)
    except ValueError:
        raise AssertionError(f"no JSON from {cmd}: rc={p.returncode}\n{p.stdout}\n{p.stderr}")
    return p.returncode, result, p.stderr


class RingbenchAgainstRingmail(DaemonTestCase):
    extra_args = ("--threads=2",)

    def setUp(self):
        super().setUp()
        self.users_file = os.path.join(self.daemon.workdir, "users")
        with open(self.users_file, "w") as f:
            f.writelines(f"{u}:{p}\n" for u, p in sorted(USERS.items()))

    def check(self, mode, port, ops, *args):
        rc, r, err = ringbench(mode, port, f"--users-file={self.users_file}",
                               f"--server-pid={self.daemon.proc.pid}", *args)
        self.assertEqual(r["total_errors"], 0, f"{r['errors']}\n{err}")
        self.assertEqual(rc, 0, err)
        for op in ops:
            self.assertIn(op, r["ops"], err)
            o = r["ops"][op]
            self.assertGreater(o["count"], 0, op)
            self.assertGreater(o["ops_per_s"], 0, op)
            lat = o["latency_us"]
            self.assertTrue(0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99.9"] <= lat["max"],
                            f"{op}: {lat}")
            self.assertEqual(sum(o["per_second"]), o["count"], op)
        self.assertGreater(r["server"]["rss_kb"], 0)
        self.assertGreaterEqual(r["server"]["cpu_us_per_op"], 0)
        return r

    def fill(self, per_user=20):
        """Delivers mail to every user with ringbench's own smtp mode."""
        r = self.check("smtp", self.port, ["message"], "--connections=4",
                       f"--max-ops={per_user * len(USERS)}", "--size=mix")
        return r

    def test_smtp_closed_loop_pipelined_and_not(self):
        r = self.check("smtp", self.port, ["connect", "message", "quit"], "--connections=8",
                       "--messages-per-connection=5", "--recipients=2", "--size=mix")
        self.assertGreater(r["ops"]["message"]["bytes"], 0)
        self.check("smtp", self.port, ["message"], "--connections=2", "--pipelining=off",
                   "--new-connection")
        self.assertTrue(self.daemon.all_delivered())

    def test_smtp_open_loop_rate(self):
        r = self.check("smtp", self.port, ["message"], "--connections=4", "--rate=100")
        # The schedule bounds what is sent: never more than rate x duration.
        self.assertLessEqual(r["ops"]["message"]["count"], 100 * SECONDS + 1)
        self.assertGreater(r["ops"]["message"]["count"], 0)

    def test_pop3(self):
        self.fill()
        r = self.check("pop3", self.daemon.pop3_port,
                       ["login", "stat", "list", "uidl", "retr", "quit", "session"],
                       "--connections=4")
        self.assertGreater(r["ops"]["retr"]["bytes"], 0)

    def test_imap_mix(self):
        self.fill()
        self.check("imap", self.daemon.imap_port,
                   ["login", "select", "fetch_summary", "fetch_body", "store", "search",
                    "append"], "--connections=4")

    def test_imap_keywords_mix_has_no_state_violations(self):
        # Issue 15: three sessions per user on the same mailboxes add new
        # keywords, append with keywords, fetch FLAGS with bodies, expunge
        # and come and go; every response is checked (--check-state).
        self.fill(per_user=5)
        r = self.check("imap", self.daemon.imap_port,
                       ["login", "select", "fetch_flags_body", "fetch_header", "store_keyword",
                        "append_keywords", "poll", "reselect"],
                       "--mix=keywords", f"--connections={3 * len(USERS)}", "--threads=2")
        self.assertEqual(r["state_violations"], 0, r.get("error_examples"))
        p = subprocess.run([RINGBENCH, "imap", f"--target=127.0.0.1:{self.daemon.imap_port}",
                            f"--users-file={self.users_file}", "--mix=keywords",
                            "--check-state=off"], capture_output=True, text=True, timeout=20)
        self.assertEqual(p.returncode, 2, p.stderr)  # its operations need the tracker

    def test_idle_imap_and_smtp(self):
        r = self.check("idle", self.daemon.imap_port, ["open", "close"], "--connections=40")
        self.assertEqual(r["ops"]["open"]["count"], 40)
        self.assertEqual(r["server"]["peak_sessions"], 40)
        r = self.check("idle", self.port, ["open", "close"], "--connections=40",
                       "--idle-protocol=smtp")
        self.assertEqual(r["ops"]["open"]["count"], 40)

    def test_idle_imap_times_delivery_to_exists(self):
        # Two sessions per user; every delivery reaches both as EXISTS.
        n = 2 * len(USERS)
        r = self.check("idle", self.daemon.imap_port, ["open", "close", "deliver", "exists_latency"],
                       f"--connections={n}", "--deliver-rate=20", "--deliver-count=10",
                       f"--smtp-target=127.0.0.1:{self.port}", "--size=1000")
        self.assertEqual(r["ops"]["deliver"]["count"], 10)
        self.assertEqual(r["ops"]["exists_latency"]["count"], 20)
        self.assertEqual(r["ops"]["exists_after_250"]["count"], 20)

    def test_html_report_has_svg_plots_with_data(self):
        report = os.path.join(self.daemon.workdir, "report.html")
        self.check("smtp", self.port, ["message"], "--connections=2", f"--report={report}")
        with open(report, encoding="utf-8") as f:
            html = f.read()
        self.assertTrue(html.startswith("<!DOCTYPE html>"), html[:100])
        self.assertTrue(html.rstrip().endswith("</html>"), html[-100:])
        self.assertEqual(html.count("<svg"), 2, "throughput and latency plots")
        # Throughput: one polyline per op, each with a point per second.
        lines = re.findall(r'<polyline [^>]*points="([^"]*)"', html)
        self.assertGreaterEqual(len(lines), 1)
        for pts in lines:
            self.assertGreaterEqual(len(pts.split()), SECONDS - 1, pts)
        # Latency: five bars (p50 .. max) per op, some of non-zero height.
        heights = [float(h) for h in re.findall(r'<rect [^>]*height="([0-9.]+)"[^>]*><title>',
                                                html)]
        self.assertGreaterEqual(len(heights), 5)
        self.assertTrue(any(h > 0 for h in heights), heights)

    def test_refuses_remote_target_and_bad_flags(self):
        for args in (["--target=192.0.2.1:25"], ["--target=127.0.0.1:25", "--connections=0"],
                     ["--target=127.0.0.1:25", "--bogus"]):
            p = subprocess.run([RINGBENCH, "smtp"] + args, capture_output=True, text=True,
                               timeout=20)
            self.assertEqual(p.returncode, 2, p.stderr)
        for args in (["--deliver-rate=5"], ["--deliver-rate=5", "--idle-protocol=smtp",
                                            "--smtp-target=127.0.0.1:25"],
                     ["--deliver-rate=5", "--smtp-target=192.0.2.1:25"]):
            p = subprocess.run([RINGBENCH, "idle", "--target=127.0.0.1:143", "--users=u",
                                "--password=p"] + args, capture_output=True, text=True,
                               timeout=20)
            self.assertEqual(p.returncode, 2, f"{args}: {p.stderr}")
        p = subprocess.run([RINGBENCH, "smtp", "--target=192.0.2.1:25"], capture_output=True,
                           text=True, timeout=20)
        self.assertIn("--allow-remote", p.stderr)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


AIOSMTPD_SERVER = r"""
import sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP

class Sink:
    count = 0
    async def handle_DATA(self, server, session, envelope):
        Sink.count += 1
        return "250 OK"

class LmtpController(Controller):
    def factory(self):
        return LMTP(self.handler)

cls = LmtpController if sys.argv[1] == "lmtp" else Controller
c = cls(Sink(), hostname="127.0.0.1", port=int(sys.argv[2]))
c.start()
print("ready", flush=True)
sys.stdin.read()   # runs until the test closes stdin
print("delivered", Sink.count, flush=True)
c.stop()
"""


class RingbenchAgainstAiosmtpd(unittest.TestCase):
    def serve(self, proto):
        try:
            import aiosmtpd  # noqa: F401
        except ImportError:
            self.fail("python3-aiosmtpd is not installed (tools/lib/packages.txt lists it)")
        port = free_port()
        p = subprocess.Popen(["/usr/bin/python3", "-c", AIOSMTPD_SERVER, proto, str(port)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        self.assertEqual(p.stdout.readline().strip(), "ready")
        return p, port

    def finish(self, p):
        out, _ = p.communicate("", timeout=30)
        return int(out.split()[-1])

    def test_smtp_against_aiosmtpd(self):
        p, port = self.serve("smtp")
        rc, r, err = ringbench("smtp", port, "--connections=4", "--recipients=2",
                               "--users=user%d@example.test", "--user-count=10")
        delivered = self.finish(p)
        self.assertEqual(r["total_errors"], 0, f"{r['errors']}\n{err}")
        self.assertGreater(r["ops"]["message"]["count"], 0)
        self.assertEqual(delivered, r["ops"]["message"]["count"])

    def test_lmtp_against_aiosmtpd(self):
        p, port = self.serve("lmtp")
        # aiosmtpd's LMTP answers DATA once, not once per recipient as
        # RFC 2033 §4.2 requires, so only one recipient per message here.
        rc, r, err = ringbench("lmtp", port, "--connections=2", "--recipients=1",
                               "--users=user%d@example.test", "--user-count=5")
        delivered = self.finish(p)
        self.assertEqual(r["total_errors"], 0, f"{r['errors']}\n{err}")
        self.assertGreater(r["ops"]["message"]["count"], 0)
        self.assertEqual(delivered, r["ops"]["message"]["count"])


if __name__ == "__main__":
    unittest.main()
