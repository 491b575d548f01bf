"""Outbound relay with real peers: dnsmasq for MX records, aiosmtpd sinks
scripted to accept, defer, reject or drop, a second ringmaild, Postfix, and
smtplib as the submitting client. Time is made fast through config
(--retry_schedule, --queue_lifetime), never by sleeping minutes."""
import email
import glob
import os
import shutil
import smtplib
import ssl
import subprocess
import tempfile
import time
import unittest

import harness
from harness import Daemon, REPO
from relaylib import Dnsmasq, Sink, free_port_on_all, make_host_cert

SINK_HOSTS = ["127.0.0.3", "127.0.0.4", "127.0.0.5"]
DOWN_HOST = "127.0.0.2"  # nothing listens there: connection refused


def send(port, sender, rcpts, subject="relay test", body="hello\r\n", user=None):
    msg = (f"From: <{sender or 'nobody@x.test'}>\r\nTo: <{rcpts[0]}>\r\n"
           f"Subject: {subject}\r\nMessage-ID: <{time.time_ns()}@client.test>\r\n\r\n{body}")
    with smtplib.SMTP("127.0.0.1", port, timeout=15) as s:
        if user:
            s.login(*user)
        s.sendmail(sender, rcpts, msg.encode())


def wait_until(pred, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class RelayCase(unittest.TestCase):
    extra = ()

    def setUp(self):
        self.port = free_port_on_all(SINK_HOSTS + [DOWN_HOST])
        self.dns = Dnsmasq(
            mx=[("one.test", "mx1.one.test", 10), ("one.test", "mx2.one.test", 20),
                ("two.test", "mx.two.test", 10), ("three.test", "mx.three.test", 10),
                ("null.test", ".", 0)],
            hosts=[("mx1.one.test", DOWN_HOST), ("mx2.one.test", SINK_HOSTS[0]),
                   ("mx.two.test", SINK_HOSTS[1]), ("mx.three.test", SINK_HOSTS[2]),
                   ("a-only.test", SINK_HOSTS[1])])
        self.addCleanup(self.dns.stop)
        self.sinks = {}
        for name, host in (("one", SINK_HOSTS[0]), ("two", SINK_HOSTS[1]),
                           ("three", SINK_HOSTS[2])):
            sink = Sink(host, self.port, **self.sink_kwargs(name))
            self.addCleanup(sink.stop)
            self.sinks[name] = sink
        self.daemon = Daemon(extra_args=[
            f"--dns_servers={self.dns.server}", f"--relay_port={self.port}",
            "--trusted_networks=127.0.0.0/8", "--retry_schedule=1s",
            "--relay_connect_timeout=2s", "--threads=2"] + list(self.extra))
        self.addCleanup(self.daemon.cleanup)
        self.addCleanup(self.daemon.stop)
        self.daemon.start()

    def sink_kwargs(self, name):
        return {}

    def queue_files(self):
        return glob.glob(os.path.join(self.daemon.data_dir, "queue", "c*", "new", "*"))


class TestRelayBasics(RelayCase):
    def test_lowest_mx_first_then_fallback(self):
        # mx1 (preference 10) refuses connections; mx2 (20) is the sink.
        send(self.daemon.smtp_port, "alice@example.test", ["rcpt@one.test"])
        (msg,) = self.sinks["one"].wait_messages(1)
        self.assertEqual(msg[1], "alice@example.test")
        self.assertEqual(msg[2], ["rcpt@one.test"])
        self.assertIn(b"Subject: relay test", msg[3])
        self.assertIn(b"Received: from", msg[3])  # our trace field went along
        self.assertTrue(msg[3].endswith(b"\r\n\r\nhello\r\n"), msg[3][-40:])  # whole body
        wait_until(lambda: not self.queue_files(), what="queue to empty")

    def test_large_message_arrives_whole(self):
        # Several 256 KiB body reads; the last one ends at the file's length.
        body = "".join(f"line {i:07d} " + "x" * 60 + "\r\n" for i in range(9000))
        send(self.daemon.smtp_port, "alice@example.test", ["big@two.test"], body=body)
        (msg,) = self.sinks["two"].wait_messages(1)
        self.assertTrue(msg[3].endswith(b"\r\n\r\n" + body.encode()), len(msg[3]))

    def test_no_mx_uses_address_record(self):
        send(self.daemon.smtp_port, "alice@example.test", ["x@a-only.test"])
        (msg,) = self.sinks["two"].wait_messages(1)
        self.assertEqual(msg[2], ["x@a-only.test"])

    def test_connection_reuse(self):
        # Queue several while the destination is held, then let them go.
        self.sinks["two"].state.delay = 0.3
        for i in range(6):
            send(self.daemon.smtp_port, "alice@example.test", [f"r{i}@two.test"])
        msgs = self.sinks["two"].wait_messages(6)
        conns = {m[0] for m in msgs}
        self.assertLess(len(conns), 6, f"no connection carried two messages: {msgs}")

    def test_permanent_failure_bounces_to_local_sender(self):
        self.sinks["three"].state.behaviour = "reject"
        send(self.daemon.smtp_port, "bob@example.test", ["nobody@three.test"],
             subject="will bounce")
        files = self.daemon.wait_for_count("bob@example.test", 1)
        dsn = email.message_from_bytes(open(files[0], "rb").read())
        self.assertEqual(dsn.get_content_type(), "multipart/report")
        self.assertEqual(dsn.get_param("report-type"), "delivery-status")
        self.assertIn("Return-Path: <>", open(files[0], errors="replace").read())
        status = [p for p in dsn.walk() if p.get_content_type() == "message/delivery-status"]
        self.assertEqual(len(status), 1)
        text = status[0].as_string()
        self.assertIn("Action: failed", text)
        self.assertIn("Status: 5.1.1", text)
        self.assertIn("nobody@three.test", text)
        self.assertIn("will bounce", open(files[0], errors="replace").read())
        wait_until(lambda: not self.queue_files(), what="queue to empty")

    def test_null_mx_bounces(self):
        send(self.daemon.smtp_port, "bob@example.test", ["x@null.test"])
        files = self.daemon.wait_for_count("bob@example.test", 1)
        self.assertIn("5.1.10", open(files[0], errors="replace").read())

    def test_null_sender_gets_no_bounce(self):
        self.sinks["three"].state.behaviour = "reject"
        send(self.daemon.smtp_port, "", ["nobody@three.test"])
        wait_until(lambda: self.sinks["three"].state.rcpt_attempts >= 1, what="attempt")
        wait_until(lambda: not self.queue_files(), what="queue to empty")
        time.sleep(0.5)
        self.assertEqual(self.daemon.all_delivered(), [])

    def test_unauthenticated_outside_trusted_is_refused(self):
        # The relay-denied path still holds for clients not trusted: run a
        # daemon without --trusted_networks.
        other = Daemon(extra_args=[f"--dns_servers={self.dns.server}"])
        self.addCleanup(other.cleanup)
        self.addCleanup(other.stop)
        other.start()
        with smtplib.SMTP("127.0.0.1", other.smtp_port) as s:
            s.ehlo()
            s.mail("alice@example.test")
            code, text = s.rcpt("x@two.test")
            self.assertEqual(code, 550)
            self.assertIn(b"5.7.1", text)


class TestRetryAndExpiry(RelayCase):
    extra = ("--queue_lifetime=4", "--delay_warning=0")

    def test_deferral_is_retried_on_schedule(self):
        # First two attempts 451, then accept.
        self.sinks["two"].state.behaviour = lambda n: "tempfail" if n <= 2 else "accept"
        t0 = time.monotonic()
        send(self.daemon.smtp_port, "alice@example.test", ["later@two.test"])
        self.sinks["two"].wait_messages(1, timeout=20)
        self.assertGreaterEqual(self.sinks["two"].state.rcpt_attempts, 3)
        self.assertGreaterEqual(time.monotonic() - t0, 1.5)  # two 1 s retry gaps
        self.assertEqual(self.daemon.all_delivered(), [])  # no bounce

    def test_expiry_bounces_with_dsn(self):
        self.sinks["two"].state.behaviour = "tempfail"
        send(self.daemon.smtp_port, "alice@example.test", ["never@two.test"],
             subject="expires")
        files = self.daemon.wait_for_count("alice@example.test", 1, timeout=30)
        text = open(files[0], errors="replace").read()
        self.assertIn("Action: failed", text)
        self.assertIn("Status: 4.7.1", text)
        self.assertIn("expired", text)
        self.assertIn("never@two.test", text)
        self.assertGreaterEqual(self.sinks["two"].state.rcpt_attempts, 2)
        wait_until(lambda: not self.queue_files(), what="queue to empty")

    def test_dropped_connection_defers(self):
        self.sinks["two"].state.behaviour = lambda n: "drop" if n == 1 else "accept"
        send(self.daemon.smtp_port, "alice@example.test", ["drop@two.test"])
        msgs = self.sinks["two"].wait_messages(1, timeout=20)
        self.assertEqual(msgs[0][2], ["drop@two.test"])


class VerifiedTlsCase(RelayCase):
    """two.test's MX (mx.two.test) offers STARTTLS with a self-signed
    certificate for `cert_host`; the relay's policy for two.test is verify."""
    cert_host = "mx.two.test"

    def setUp(self):
        self.certdir = tempfile.mkdtemp(prefix="ringmail-relaytls.")
        self.addCleanup(shutil.rmtree, self.certdir, ignore_errors=True)
        self.cert, key = make_host_cert(self.certdir, self.cert_host)
        self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.tls.load_cert_chain(self.cert, key)
        self.extra = ("--destination_policy=two.test:tls=verify",) + tuple(self.ca_args())
        super().setUp()

    def ca_args(self):
        return []

    def sink_kwargs(self, name):
        return {"tls_context": self.tls} if name == "two" else {}

    def assert_deferred_for_tls(self):
        send(self.daemon.smtp_port, "alice@example.test", ["v@two.test"])
        wait_until(lambda: "451 4.7.5 TLS with mx.two.test failed" in self.daemon.log_tail(200),
                   what="a TLS deferral in the log")
        self.assertIn("certificate not verified", self.daemon.log_tail(200))
        self.assertEqual(self.sinks["two"].messages(), [])
        self.assertEqual(len(self.queue_files()), 1)  # deferred, not bounced
        self.assertEqual(self.daemon.all_delivered(), [])


class TestVerifyWithoutTheCa(VerifiedTlsCase):
    # Default trust anchors: the system bundle, which does not know the
    # sink's self-signed certificate.
    def test_unverified_certificate_defers(self):
        self.assert_deferred_for_tls()


class TestVerifyWithTheCa(VerifiedTlsCase):
    def ca_args(self):
        return [f"--relay_tls_ca_file={self.cert}"]

    def test_verified_certificate_delivers_over_tls(self):
        send(self.daemon.smtp_port, "alice@example.test", ["v@two.test"])
        (msg,) = self.sinks["two"].wait_messages(1)
        self.assertEqual(msg[2], ["v@two.test"])
        self.assertEqual(self.sinks["two"].state.tls_messages, 1)
        wait_until(lambda: not self.queue_files(), what="queue to empty")


class TestVerifyChecksTheHostName(VerifiedTlsCase):
    # Trusted certificate, but for another name than the MX host.
    cert_host = "other.test"

    def ca_args(self):
        return [f"--relay_tls_ca_file={self.cert}"]

    def test_certificate_for_another_host_defers(self):
        self.assert_deferred_for_tls()


class TestVerifyNeedsTrustAnchors(unittest.TestCase):
    def test_unreadable_ca_file_stops_start_up(self):
        with tempfile.TemporaryDirectory(prefix="ringmail-relaytls.") as d:
            p = subprocess.run(
                [harness.binary(), f"--data_dir={d}", "--destination_policy=x.test:tls=verify",
                 f"--relay_tls_ca_file={d}/missing.crt"],
                capture_output=True, timeout=20)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"relay.tls_ca_file: tls = verify needs a readable CA file", p.stderr)


class TestShaping(RelayCase):
    extra = ("--destination_policy=two.test:max_connections=2;max_messages_per_connection=3",)

    def test_concurrency_never_exceeded(self):
        self.sinks["two"].state.delay = 0.2
        import concurrent.futures
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: send(self.daemon.smtp_port, "alice@example.test",
                                         [f"c{i}@two.test"]), range(20)))
        msgs = self.sinks["two"].wait_messages(20, timeout=60)
        # Two cores, each with its own queue: at most 2 per core.
        self.assertLessEqual(self.sinks["two"].state.max_open, 4)
        per_conn = {}
        for m in msgs:
            per_conn[m[0]] = per_conn.get(m[0], 0) + 1
        self.assertLessEqual(max(per_conn.values()), 3)


class TestSubmissionRelay(RelayCase):
    """An authenticated user relays to any domain (no --trusted_networks)."""

    def setUp(self):
        super().setUp()
        self.daemon.stop()
        self.daemon.extra_args = [a for a in self.daemon.extra_args
                                  if not a.startswith("--trusted_networks")]
        self.daemon.proc = None
        self.daemon.start()

    def test_authenticated_submission_relays(self):
        with smtplib.SMTP("127.0.0.1", self.daemon.submission_port) as s:
            s.ehlo()
            s.login("alice@example.test", "alice-secret")
            s.sendmail("alice@example.test", ["friend@two.test"],
                       b"From: alice@example.test\r\nTo: friend@two.test\r\n"
                       b"Subject: submitted\r\n\r\nhi\r\n")
        (msg,) = self.sinks["two"].wait_messages(1)
        self.assertIn(b"Message-ID:", msg[3])  # added by submission rules


class TestCrashSafety(RelayCase):
    def test_kill9_during_delivery_loses_nothing(self):
        sink = self.sinks["two"]
        sink.state.delay = 0.05
        n = 40
        for i in range(n):
            send(self.daemon.smtp_port, "alice@example.test", [f"k{i}@two.test"],
                 subject=f"crash {i}")
        wait_until(lambda: len(sink.messages()) >= 3, what="some deliveries")
        self.daemon.kill9()
        self.daemon.start()
        # Every accepted message arrives (at least once); nothing is lost.
        def all_there():
            got = {m[2][0] for m in sink.messages()}
            return len(got) == n
        wait_until(all_there, timeout=60, what="every message delivered after restart")
        wait_until(lambda: not self.queue_files(), what="queue to empty")


class TestRingmaildPeer(unittest.TestCase):
    """A second ringmaild is the receiving MTA for a local domain of its own."""

    def test_relay_to_ringmaild(self):
        port = free_port_on_all(["127.0.0.6"])
        dns = Dnsmasq(mx=[("peer.test", "mx.peer.test", 5)],
                      hosts=[("mx.peer.test", "127.0.0.6")])
        self.addCleanup(dns.stop)
        peer = Daemon(extra_args=["--local_domains=peer.test"],
                      users={"zed@peer.test": "zed-secret"})
        peer.extra_args += [f"--smtp_listen=127.0.0.6:{port}"]
        self.addCleanup(peer.cleanup)
        self.addCleanup(peer.stop)
        peer.start()
        relay = Daemon(extra_args=[f"--dns_servers={dns.server}", f"--relay_port={port}",
                                   "--trusted_networks=127.0.0.0/8"])
        self.addCleanup(relay.cleanup)
        self.addCleanup(relay.stop)
        relay.start()
        send(relay.smtp_port, "alice@example.test", ["zed@peer.test"], subject="to peer")
        files = peer.wait_for_count("zed@peer.test", 1)
        self.assertIn("to peer", open(files[0], errors="replace").read())


@unittest.skipUnless(shutil.which("postfix"), "postfix not installed")
class TestPostfixPeer(unittest.TestCase):
    """Postfix (Debian package, private instance) as the receiving MTA."""

    def test_relay_to_postfix(self):
        port = free_port_on_all(["127.0.0.1"])
        work = tempfile.mkdtemp(prefix="ringmail-pf.")
        os.chmod(work, 0o755)  # postfix's own user must reach its data dir
        self.addCleanup(shutil.rmtree, work, True)
        vmailbox = os.path.join(work, "vmailbox")
        with open(vmailbox, "w") as f:
            f.write("pat@pf.test pf.test/pat/Maildir/\n")
        lib = os.path.join(REPO, "bench", "lib", "postfix.sh")
        r = subprocess.run(["bash", "-c", f'. "{lib}"; pf_start "$1" "$2" pf.test "$3"',
                            "_", work, str(port), vmailbox], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.addCleanup(subprocess.run, ["bash", "-c", f'. "{lib}"; pf_stop "$1"', "_", work])
        dns = Dnsmasq(mx=[("pf.test", "mx.pf.test", 10)], hosts=[("mx.pf.test", "127.0.0.1")])
        self.addCleanup(dns.stop)
        relay = Daemon(extra_args=[f"--dns_servers={dns.server}", f"--relay_port={port}",
                                   "--trusted_networks=127.0.0.0/8"])
        self.addCleanup(relay.cleanup)
        self.addCleanup(relay.stop)
        relay.start()
        send(relay.smtp_port, "alice@example.test", ["pat@pf.test"], subject="to postfix")
        maildir = os.path.join(work, "mail", "pf.test", "pat", "Maildir", "new")
        files = wait_until(lambda: glob.glob(os.path.join(maildir, "*")), timeout=60,
                           what="Postfix to deliver")
        data = open(files[0], errors="replace").read()
        self.assertIn("to postfix", data)
        self.assertIn("mx.ringmail.test", data)  # our Received field


if __name__ == "__main__":
    unittest.main()
