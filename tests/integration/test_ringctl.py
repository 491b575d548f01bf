"""ringctl queue list|show|flush|delete|hold|release|stats against a running
ringmaild (control socket) and against its spool while it is stopped.

Peers as in test_outbound_relay.py: dnsmasq serves MX records, aiosmtpd
sinks answer 451 ("tempfail") so mail stays queued. retry_schedule is an
hour, so only `ringctl queue flush` can make a second attempt happen during
the test. The binary is $RINGCTL or <repo>/bazel-bin/tools/ringctl/ringctl."""
import glob
import os
import re
import smtplib
import socket
import subprocess
import unittest

from harness import Daemon, REPO
from relaylib import Dnsmasq, Sink, free_port_on_all
from test_outbound_relay import send, wait_until

SINK_HOSTS = ["127.0.0.3", "127.0.0.4"]
DOWN_HOST = "127.0.0.2"  # nothing listens there: connection refused


def ringctl_binary():
    path = os.environ.get("RINGCTL") or os.path.join(REPO, "bazel-bin/tools/ringctl/ringctl")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise FileNotFoundError(f"ringctl binary not found at {path} (build it with "
                                "'bazel build //tools/ringctl' or set RINGCTL)")
    return path


class RingctlCase(unittest.TestCase):
    def setUp(self):
        self.port = free_port_on_all(SINK_HOSTS + [DOWN_HOST])
        self.dns = Dnsmasq(mx=[("two.test", "mx.two.test", 10),
                               ("three.test", "mx.three.test", 10),
                               ("down.test", "mx.down.test", 10)],
                           hosts=[("mx.two.test", SINK_HOSTS[0]),
                                  ("mx.three.test", SINK_HOSTS[1]),
                                  ("mx.down.test", DOWN_HOST)])
        self.addCleanup(self.dns.stop)
        self.sinks = {}
        for name, host in (("two", SINK_HOSTS[0]), ("three", SINK_HOSTS[1])):
            sink = Sink(host, self.port)
            sink.state.behaviour = "tempfail"
            self.addCleanup(sink.stop)
            self.sinks[name] = sink
        self.daemon = Daemon(extra_args=[
            f"--dns_servers={self.dns.server}", f"--relay_port={self.port}",
            "--trusted_networks=127.0.0.0/8", "--retry_schedule=1h",
            "--relay_connect_timeout=2s", "--threads=2"])
        self.addCleanup(self.daemon.cleanup)
        self.addCleanup(self.daemon.stop)
        self.daemon.start()

    def ringctl(self, *args, ok=True):
        proc = subprocess.run([ringctl_binary(), f"--data_dir={self.daemon.data_dir}",
                               "queue", *args],
                              capture_output=True, text=True, timeout=30)
        if ok:
            self.assertEqual(proc.returncode, 0,
                             f"ringctl {args}: rc {proc.returncode}: {proc.stderr}")
        return proc

    def queue_files(self):
        return glob.glob(os.path.join(self.daemon.data_dir, "queue", "c*", "new", "*"))

    def wait_deferred(self, n, *filters):
        """Waits until `n` messages are listed (default: as deferred);
        returns their ids."""
        def deferred():
            out = self.ringctl("list", *(filters or ["state=deferred"])).stdout
            ids = re.findall(r"^(\S+) core=", out, re.M)
            return ids if len(ids) >= n else None
        return wait_until(deferred, what=f"{n} deferred message(s) in ringctl list")


class TestRingctlOnline(RingctlCase):
    def test_list_show_stats_hold_release_flush(self):
        send(self.daemon.smtp_port, "alice@example.test", ["rcpt@two.test"])
        (qid,) = self.wait_deferred(1)

        out = self.ringctl("list").stdout
        self.assertRegex(out, rf"^{re.escape(qid)} core=\d+ age=\d+s size=\d+ "
                              r"from=<alice@example\.test>\n", out)
        self.assertRegex(out, r"\n  rcpt@two\.test deferred attempts=1 next=in \d+s "
                              r"reply=451 4\.7\.1 Try again later\n")
        self.assertIn(qid, self.ringctl("list", "domain=TWO.test").stdout)
        self.assertEqual(self.ringctl("list", "domain=three.test").stdout, "")
        self.assertEqual(self.ringctl("list", "min_age=3600").stdout, "")
        self.assertEqual(self.ringctl("list", "held").stdout, "")

        show = self.ringctl("show", qid).stdout
        self.assertIn(f"id: {qid}\n", show)
        self.assertIn("sender: <alice@example.test>\n", show)
        self.assertRegex(show, r"rcpt 0: <rcpt@two\.test> deferred attempts=1")
        self.assertIn("  reply: 451 4.7.1 Try again later\n", show)

        stats = self.ringctl("stats").stdout
        self.assertRegex(stats, r"(?m)^domain two\.test queued=1 sessions=\d+ oldest=\d+s"
                                r".* last_error=451 4\.7\.1 Try again later$")
        self.assertIn("total domains=1 queued=1", stats)

        self.assertEqual(self.ringctl("hold", qid).stdout, f"held {qid}\n")
        self.assertIn(qid, self.ringctl("list", "held").stdout)
        self.assertRegex(self.ringctl("list").stdout, r"from=<alice@example\.test>\n"
                                                      r"  rcpt@two\.test deferred attempts=1 "
                                                      r"next=held")
        self.assertEqual(self.ringctl("release", "--domain", "two.test").stdout,
                         f"released {qid}\ntotal released=1\n")
        self.assertEqual(self.ringctl("list", "held").stdout, "")

        # The next retry is an hour away: only the flush sends it now.
        self.sinks["two"].state.behaviour = "accept"
        self.assertIn("flushed two.test", self.ringctl("flush", "two.test").stdout)
        (msg,) = self.sinks["two"].wait_messages(1)
        self.assertEqual(msg[2], ["rcpt@two.test"])
        wait_until(lambda: not self.queue_files(), what="queue to empty")
        wait_until(lambda: self.ringctl("list").stdout == "", what="empty list")

    def test_errors(self):
        proc = self.ringctl("show", "NOSUCHID", ok=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("no such message: NOSUCHID", proc.stderr)
        proc = self.ringctl("frobnicate", ok=False)
        self.assertEqual(proc.returncode, 2)
        # The daemon refuses what ringctl would catch itself, too.
        s = socket.socket(socket.AF_UNIX)
        s.connect(os.path.join(self.daemon.data_dir, "ringmail.sock"))
        s.sendall(b"queue delete --all\n")
        reply = b""
        while not reply.endswith(b"\n.\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
        s.close()
        self.assertTrue(reply.startswith(b"ERR "), reply)
        self.assertEqual(os.stat(os.path.join(self.daemon.data_dir, "ringmail.sock")).st_mode
                         & 0o777, 0o600)

    def test_delete_by_domain(self):
        send(self.daemon.smtp_port, "alice@example.test", ["a@two.test"])
        send(self.daemon.smtp_port, "alice@example.test", ["b@two.test"])
        send(self.daemon.smtp_port, "alice@example.test", ["c@three.test"])
        self.wait_deferred(3)
        out = self.ringctl("delete", "--domain", "two.test").stdout
        self.assertTrue(out.endswith("total deleted=2\n"), out)
        wait_until(lambda: len(self.queue_files()) == 1, what="two queue files removed")
        listed = self.ringctl("list").stdout
        self.assertIn("c@three.test", listed)
        self.assertNotIn("two.test", listed)
        # The destination may stay listed (its last error) with nothing queued.
        stats = self.ringctl("stats").stdout
        self.assertRegex(stats, r"(?m)^domain three\.test queued=1 ")
        self.assertNotRegex(stats, r"(?m)^domain two\.test queued=[1-9]")
        self.assertIn("queued=1 ", stats.splitlines()[-1])

    def test_list_and_hold_page_through_a_large_queue(self):
        # More than two pages (control_format.h kListPageSize = 500) on the
        # one core that accepted the connection.
        n = 1050
        with smtplib.SMTP("127.0.0.1", self.daemon.smtp_port, timeout=30) as s:
            for i in range(n):
                s.sendmail("alice@example.test", [f"r{i}@down.test"],
                           f"Subject: {i}\r\n\r\nbody\r\n".encode())
        # The destination backs off after a few refused connections: most
        # stay pending, which is fine here.
        ids = self.wait_deferred(n, "domain=down.test")
        self.assertEqual(len(set(ids)), n)
        out = self.ringctl("hold", "--all").stdout
        self.assertTrue(out.endswith(f"total held={n}\n"), out[-200:])
        held = re.findall(r"^(\S+) core=", self.ringctl("list", "held").stdout, re.M)
        self.assertEqual(sorted(held), sorted(ids))


class TestRingctlOffline(RingctlCase):
    def test_offline_list_show_hold_delete(self):
        send(self.daemon.smtp_port, "alice@example.test", ["x@two.test"])
        send(self.daemon.smtp_port, "alice@example.test", ["y@three.test"])
        self.wait_deferred(2)
        online = self.ringctl("list").stdout
        self.daemon.stop()
        self.assertFalse(os.path.exists(os.path.join(self.daemon.data_dir, "ringmail.sock")))

        out = self.ringctl("list").stdout
        ids = re.findall(r"^(\S+) core=", out, re.M)
        self.assertEqual(len(ids), 2, out)
        # Same lines as the daemon printed (ages may have advanced).
        strip_age = lambda s: re.sub(r"age=\d+s|next=in \d+s", "", s)
        self.assertEqual(sorted(strip_age(online).splitlines()),
                         sorted(strip_age(out).splitlines()))
        self.assertIn("reply=451 4.7.1 Try again later", out)
        stats = self.ringctl("stats").stdout
        self.assertIn("domain two.test queued=1", stats)
        self.assertIn("domain three.test queued=1", stats)
        self.assertIn("not running", self.ringctl("flush").stdout)

        two_id = re.search(r"^(\S+) core=.*\n  x@two\.test", out, re.M).group(1)
        three_id = re.search(r"^(\S+) core=.*\n  y@three\.test", out, re.M).group(1)
        self.assertIn(f"id: {two_id}\n", self.ringctl("show", two_id).stdout)
        self.assertEqual(self.ringctl("hold", three_id).stdout, f"held {three_id}\n")
        self.assertIn(three_id, self.ringctl("list", "held").stdout)
        self.assertEqual(self.ringctl("delete", two_id).stdout, f"deleted {two_id}\n")
        self.assertEqual(len(self.queue_files()), 1)
        self.assertNotIn(two_id, self.ringctl("list").stdout)

        # The daemon replays what ringctl appended: one message, still held.
        self.daemon.start()
        listed = self.ringctl("list", "held").stdout
        self.assertIn(three_id, listed)
        self.assertNotIn(two_id, self.ringctl("list").stdout)


if __name__ == "__main__":
    unittest.main()
