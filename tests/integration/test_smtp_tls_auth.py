"""SMTP STARTTLS (RFC 3207), AUTH (RFC 4954), submission (RFC 6409) and
implicit-TLS submissions (RFC 8314) with stock clients: smtplib, swaks and
openssl s_client. Each test's daemon has its own self-signed certificate."""
import base64
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import time
import unittest

from harness import USERS, DaemonTestCase, RawSMTP

ALICE = "alice@example.test"
BOB = "bob@example.test"


def tls_context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    return ctx


def plain(user, password):
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


class TlsAuthTest(DaemonTestCase):
    tls = True

    def ctx(self):
        return tls_context(self.daemon.cert_file)

    def smtp(self, port, **kw):
        s = smtplib.SMTP("127.0.0.1", port, timeout=15, **kw)
        self.addCleanup(self._quit, s)
        return s

    @staticmethod
    def _quit(s):
        try:
            s.quit()
        except (smtplib.SMTPException, OSError):
            pass

    def delivered_one(self, rcpt, marker):
        files = self.daemon.wait_for_count(rcpt, 1)
        self.assertEqual(len(files), 1)
        with open(files[0], "rb") as f:
            data = f.read()
        self.assertIn(marker.encode(), data)
        return data

    # ---- STARTTLS and AUTH with smtplib
    def test_submission_starttls_login_delivers(self):
        s = self.smtp(self.daemon.submission_port)
        s.ehlo("client.test")
        self.assertTrue(s.has_extn("starttls"))
        s.starttls(context=self.ctx())
        s.ehlo("client.test")
        self.assertFalse(s.has_extn("starttls"))  # RFC 3207 §4.2
        self.assertIn("PLAIN", s.esmtp_features["auth"].upper())
        s.login(ALICE, USERS[ALICE])
        s.sendmail(ALICE, [BOB], "Subject: sub\r\n\r\nsubmitted-1\r\n")
        data = self.delivered_one(BOB, "submitted-1")
        self.assertIn(b"with ESMTPSA id", data)

    def test_smtps_implicit_tls(self):
        s = smtplib.SMTP_SSL("127.0.0.1", self.daemon.smtps_port, timeout=15,
                             context=self.ctx())
        self.addCleanup(self._quit, s)
        s.ehlo("client.test")
        self.assertFalse(s.has_extn("starttls"))
        s.login(BOB, USERS[BOB])
        s.sendmail(BOB, [ALICE], "Subject: s\r\n\r\nsubmissions-1\r\n")
        self.assertIn(b"with ESMTPSA id", self.delivered_one(ALICE, "submissions-1"))

    def test_mx_port_starttls_without_auth(self):
        s = self.smtp(self.port)
        s.ehlo("client.test")
        self.assertTrue(s.has_extn("starttls"))
        s.starttls(context=self.ctx())
        s.ehlo("client.test")
        s.sendmail("someone@client.test", [ALICE], "Subject: mx\r\n\r\nmx-tls-1\r\n")
        data = self.delivered_one(ALICE, "mx-tls-1")
        self.assertIn(b"with ESMTPS id", data)

    def test_submission_requires_auth_then_relays(self):
        s = self.smtp(self.daemon.submission_port)
        s.starttls(context=self.ctx())
        s.ehlo("client.test")
        code, msg = s.mail(ALICE)
        self.assertEqual(code, 530, msg)
        self.assertIn(b"5.7.0", msg)
        s.login(ALICE, USERS[ALICE])
        self.assertEqual(s.mail(ALICE)[0], 250)
        # Authenticated: relaying to any domain goes to the outbound queue.
        code, msg = s.rcpt("someone@remote.example")
        self.assertEqual(code, 250, msg)
        self.assertEqual(s.rcpt(BOB)[0], 250)

    def test_mx_port_refuses_relay_without_auth(self):
        s = self.smtp(self.port)
        s.ehlo("client.test")
        s.mail("x@client.test")
        code, msg = s.rcpt("someone@remote.example")
        self.assertEqual(code, 550, msg)
        self.assertIn(b"Relay access denied", msg)

    def test_auth_login_mechanism_and_twice(self):
        c = RawSMTP(self.daemon.submission_port)
        self.addCleanup(c.close)
        self.assertEqual(c.reply()[0], 220)
        self.assertEqual(c.cmd("EHLO client.test")[0], 250)  # loopback: AUTH ok
        self.assertEqual(c.cmd("AUTH LOGIN")[1], ["334 VXNlcm5hbWU6"])
        self.assertEqual(c.cmd(base64.b64encode(ALICE.encode()).decode())[1],
                         ["334 UGFzc3dvcmQ6"])
        code, lines = c.cmd(base64.b64encode(USERS[ALICE].encode()).decode())
        self.assertEqual(code, 235, lines)
        self.assertEqual(c.cmd("AUTH PLAIN " + plain(ALICE, USERS[ALICE]))[0], 503)

    # ---- STARTTLS command injection (CVE-2011-0411)
    def test_starttls_injection_is_discarded(self):
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        self.addCleanup(raw.close)
        f = raw.makefile("rb")
        self.assertTrue(f.readline().startswith(b"220 "))
        raw.sendall(b"EHLO client.test\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        raw.sendall(b"STARTTLS\r\nRSET\r\n")  # one packet
        self.assertTrue(f.readline().startswith(b"220 2.0.0"))
        tls = self.ctx().wrap_socket(raw, server_hostname="127.0.0.1")
        self.addCleanup(tls.close)
        tls.settimeout(1.0)
        # Nothing may come unasked: an answer here would be the RSET's.
        with self.assertRaises((socket.timeout, TimeoutError)):
            extra = tls.recv(1024)
            raise AssertionError(f"unexpected data after STARTTLS: {extra!r}")
        tls.settimeout(10)
        tls.sendall(b"NOOP\r\n")
        self.assertEqual(tls.recv(1024), b"250 2.0.0 Ok\r\n")
        tls.sendall(b"MAIL FROM:<a@client.test>\r\n")  # state was reset
        self.assertTrue(tls.recv(1024).startswith(b"503 5.5.1 Error: send HELO/EHLO first"))
        with open(self.daemon.log_file) as log:
            self.assertIn("discarded 6 bytes", log.read())

    # ---- stock command-line clients
    @unittest.skipUnless(shutil.which("swaks"), "swaks not installed")
    def test_swaks_tls_auth_plain(self):
        out = subprocess.run(
            ["swaks", "--server", f"127.0.0.1:{self.daemon.submission_port}", "--tls",
             "--auth", "PLAIN", "--auth-user", ALICE, "--auth-password", USERS[ALICE],
             "--from", ALICE, "--to", BOB, "--body", "swaks-tls-1"],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("235 2.7.0", out.stdout)
        self.delivered_one(BOB, "swaks-tls-1")

    def s_client(self, args, stdin):
        out = subprocess.run(["openssl", "s_client", "-crlf", "-quiet",
                              "-CAfile", self.daemon.cert_file, "-verify_return_error",
                              "-verify_hostname", "localhost"] + args,
                             input=stdin, capture_output=True, text=True, timeout=30)
        return out.stdout + out.stderr

    def test_openssl_s_client_starttls_and_smtps(self):
        out = self.s_client(["-starttls", "smtp", "-connect",
                             f"127.0.0.1:{self.daemon.submission_port}"],
                            "EHLO client.test\nQUIT\n")
        self.assertIn("250 CHUNKING", out)
        self.assertIn("AUTH PLAIN LOGIN", out)
        self.assertIn("221 2.0.0 Bye", out)
        out = self.s_client(["-connect", f"127.0.0.1:{self.daemon.smtps_port}"],
                            "EHLO client.test\nQUIT\n")
        self.assertIn("220 mx.ringmail.test ESMTP", out)
        self.assertIn("250 CHUNKING", out)
        self.assertIn("221 2.0.0 Bye", out)


class PlaintextOffLoopbackTest(DaemonTestCase):
    """127.0.0.2 plays a remote client: only 127.0.0.1 is trusted."""
    tls = True
    extra_args = ("--auth_trusted_networks=127.0.0.1/32",)

    def test_auth_needs_tls_from_remote(self):
        ctx = tls_context(self.daemon.cert_file)
        s = smtplib.SMTP("127.0.0.1", self.daemon.submission_port, timeout=15,
                         source_address=("127.0.0.2", 0))
        self.addCleanup(s.close)
        s.ehlo("client.test")
        self.assertTrue(s.has_extn("starttls"))
        self.assertFalse(s.has_extn("auth"))  # not before STARTTLS
        code, msg = s.docmd("AUTH", "PLAIN " + plain(ALICE, USERS[ALICE]))
        self.assertEqual(code, 538, msg)
        s.starttls(context=ctx)
        s.ehlo("client.test")
        self.assertTrue(s.has_extn("auth"))
        s.login(ALICE, USERS[ALICE])

    def test_trusted_address_may_auth_in_clear(self):
        s = smtplib.SMTP("127.0.0.1", self.daemon.submission_port, timeout=15)
        self.addCleanup(s.close)
        s.ehlo("client.test")
        self.assertTrue(s.has_extn("auth"))
        s.login(ALICE, USERS[ALICE])


class BruteForceTest(DaemonTestCase):
    tls = True
    extra_args = ("--auth_max_failures=3", "--auth_failure_delay=300ms")

    def test_failures_slow_down_then_421(self):
        c = RawSMTP(self.daemon.submission_port)
        self.addCleanup(c.close)
        c.reply()
        c.cmd("EHLO client.test")
        took = []
        for i in range(3):
            t0 = time.monotonic()
            code, lines = c.cmd("AUTH PLAIN " + plain(ALICE, f"wrong-{i}"))
            took.append(time.monotonic() - t0)
            self.assertEqual(code, 535, lines)
            self.assertIn("5.7.8", lines[0])
        # The delays are lower bounds (300, 600, 1200 ms): they grow.
        self.assertGreaterEqual(took[1], 0.55)
        self.assertGreaterEqual(took[2], 1.1)
        code, lines = c.cmd("AUTH PLAIN " + plain(ALICE, USERS[ALICE]))
        self.assertEqual(code, 421, lines)
        self.assertIn("4.7.0", lines[0])
        self.assertTrue(c.closed())
        # A new connection from the same IP is refused too, even with the
        # right password.
        c2 = RawSMTP(self.daemon.submission_port)
        self.addCleanup(c2.close)
        c2.reply()
        c2.cmd("EHLO client.test")
        self.assertEqual(c2.cmd("AUTH PLAIN " + plain(ALICE, USERS[ALICE]))[0], 421)
        with open(self.daemon.log_file) as log:
            text = log.read()
        self.assertIn(f"auth failed: service=smtp rip=127.0.0.1 user=<{ALICE}>", text)
        self.assertNotIn("wrong-0", text)  # passwords never logged
        self.assertNotIn(USERS[ALICE], text)


class NoCertificateTest(DaemonTestCase):
    def test_no_starttls_no_smtps(self):
        self.assertIsNone(self.daemon.smtps_port)
        s = smtplib.SMTP("127.0.0.1", self.daemon.submission_port, timeout=15)
        self.addCleanup(s.close)
        s.ehlo("client.test")
        self.assertFalse(s.has_extn("starttls"))
        s.login(ALICE, USERS[ALICE])  # loopback only


if __name__ == "__main__":
    unittest.main()
