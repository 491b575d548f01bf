"""IMAP and POP3 over TLS with stock clients: STARTTLS/STLS and the implicit
ports (imaplib, poplib, curl, openssl s_client), the CVE-2011-0411 injection
guard, LOGINDISABLED off trusted networks, and TLS sessions that move to the
user's home core after login (--threads=2)."""
import imaplib
import os
import poplib
import socket
import ssl
import subprocess
import time
import unittest

from harness import Daemon

# Enough users that some live on each of the two cores (home core: FNV-1a
# of local@domain modulo the core count, as ImapService::HomeCore).
USERS = {f"u{i}@example.test": f"pw-{i}" for i in range(8)}


class RemoteIMAP(imaplib.IMAP4):
    """Connects from 127.0.0.2, which the daemon treats as remote."""

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=("127.0.0.2", 0))


class RemotePOP3(poplib.POP3):
    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=("127.0.0.2", 0))


def home_core(user, cores=2):
    h = 1469598103934665603
    for c in user.encode():
        h ^= c
        h = (h * 1099511628211) % (1 << 64)
    return h % cores


class TlsMailTest(unittest.TestCase):
    def setUp(self):
        self.daemon = Daemon(
            extra_args=["--threads=2", "--imaps_listen=127.0.0.1:0",
                        "--pop3s_listen=127.0.0.1:0",
                        # 127.0.0.2 counts as remote: plaintext login refused.
                        "--auth_trusted_networks=127.0.0.1/32"],
            users=USERS, imap=True, tls=True)
        self.addCleanup(self.daemon.cleanup)
        self.addCleanup(self.daemon.stop)
        self.daemon.start()
        self.ports = {}
        with open(self.daemon.ports_file) as f:
            for line in f.read().splitlines():
                name, addr = line.split()
                host, port = addr.rsplit(":", 1)
                self.ports[(name, host)] = int(port)
        self.ctx = ssl.create_default_context(cafile=self.daemon.cert_file)
        self.ctx.check_hostname = False  # CN=localhost; we connect by IP

    def port(self, name, host="127.0.0.1"):
        return self.ports[(name, host)]

    # ------------------------------------------------------------- IMAP
    def test_imap_starttls_and_capabilities_reannounced(self):
        m = imaplib.IMAP4("127.0.0.1", self.port("imap"))
        self.assertIn("STARTTLS", m.capabilities)
        m.starttls(ssl_context=self.ctx)  # re-issues CAPABILITY itself
        self.assertNotIn("STARTTLS", m.capabilities)
        self.assertIn("AUTH=PLAIN", m.capabilities)
        m.login("u0@example.test", "pw-0")
        self.assertEqual(m.select("INBOX")[0], "OK")
        m.logout()

    def test_imaps_every_user_across_cores(self):
        self.assertEqual({home_core(u) for u in USERS}, {0, 1})
        for user, pw in USERS.items():
            m = imaplib.IMAP4_SSL("127.0.0.1", self.port("imaps"), ssl_context=self.ctx)
            m.login(user, pw)
            # Pipelined after the hand-over, then a larger exchange.
            self.assertEqual(m.select("INBOX")[0], "OK")
            self.assertEqual(m.create("Folder-" + "x" * 200)[0], "OK")
            typ, data = m.list()
            self.assertEqual(typ, "OK")
            self.assertTrue(any(b"Folder-" in d for d in data))
            self.assertEqual(m.noop()[0], "OK")
            m.logout()

    def test_imap_starttls_injection_is_discarded(self):
        s = socket.create_connection(("127.0.0.1", self.port("imap")), timeout=10)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"* OK"))
        s.sendall(b"a STARTTLS\r\nb CAPABILITY\r\n")
        self.assertEqual(f.readline(), b"a OK Begin TLS negotiation now.\r\n")
        t = self.ctx.wrap_socket(s, server_hostname="localhost")
        t.sendall(b"c NOOP\r\n")
        tf = t.makefile("rb")
        # `b` was sent in the clear before the handshake: never answered.
        self.assertEqual(tf.readline(), b"c OK NOOP completed.\r\n")
        t.close()

    def test_imap_logindisabled_off_trusted_network(self):
        m = RemoteIMAP("127.0.0.1", self.port("imap"))
        self.assertIn("LOGINDISABLED", m.capabilities)
        self.assertFalse(any(c.startswith("AUTH=") for c in m.capabilities))
        with self.assertRaises(imaplib.IMAP4.error):
            m.login("u0@example.test", "pw-0")
        m.starttls(ssl_context=self.ctx)
        self.assertNotIn("LOGINDISABLED", m.capabilities)
        m.login("u0@example.test", "pw-0")
        m.logout()

    # ------------------------------------------------------------- POP3
    def test_pop3_stls_and_pop3s_every_user(self):
        for user, pw in USERS.items():
            p = poplib.POP3("127.0.0.1", self.port("pop3"))
            self.assertIn("STLS", p.capa())
            p.stls(context=self.ctx)
            self.assertNotIn("STLS", p.capa())
            p.user(user)
            p.pass_(pw)
            self.assertEqual(p.stat(), (0, 0))
            p.quit()
            p = poplib.POP3_SSL("127.0.0.1", self.port("pop3s"), context=self.ctx)
            p.user(user)
            p.pass_(pw)
            self.assertEqual(p.stat(), (0, 0))
            self.assertTrue(p.noop().startswith(b"+OK"))
            p.quit()

    def test_pop3_stls_injection_is_discarded(self):
        s = socket.create_connection(("127.0.0.1", self.port("pop3")), timeout=10)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"+OK"))
        s.sendall(b"STLS\r\nUSER u0@example.test\r\n")
        self.assertEqual(f.readline(), b"+OK Begin TLS negotiation\r\n")
        t = self.ctx.wrap_socket(s, server_hostname="localhost")
        t.sendall(b"PASS pw-0\r\n")
        tf = t.makefile("rb")
        # USER was discarded, so PASS has no user name.
        self.assertEqual(tf.readline(), b"-ERR No username given.\r\n")
        t.close()

    def test_pop3_plaintext_refused_off_trusted_network(self):
        p = RemotePOP3("127.0.0.1", self.port("pop3"))
        caps = p.capa()
        self.assertNotIn("USER", caps)
        self.assertIn("STLS", caps)
        with self.assertRaises(poplib.error_proto) as e:
            p.user("u0@example.test")
        self.assertIn(b"[AUTH] Plaintext authentication disallowed", e.exception.args[0])
        p.stls(context=self.ctx)
        p.user("u0@example.test")
        p.pass_("pw-0")
        p.quit()

    # ------------------------------------------------------------- curl / openssl
    def curl(self, url, *args):
        return subprocess.run(["curl", "-sS", "--ssl-reqd", "--cacert", self.daemon.cert_file,
                               "--resolve", "localhost:%d:127.0.0.1" % int(url.rsplit(":", 1)[1].split("/")[0]),
                               url.replace("127.0.0.1", "localhost")] + list(args),
                              capture_output=True, timeout=30)

    def test_curl_starttls(self):
        r = self.curl("imap://127.0.0.1:%d/" % self.port("imap"), "-u", "u1@example.test:pw-1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"INBOX", r.stdout)
        r = self.curl("pop3://127.0.0.1:%d/" % self.port("pop3"), "-u", "u1@example.test:pw-1")
        self.assertEqual(r.returncode, 0, r.stderr)

    def s_client(self, *args, stdin=b"", name="imap"):
        return subprocess.run(["openssl", "s_client", "-CAfile", self.daemon.cert_file,
                               "-verify_return_error", "-quiet"] + list(args),
                              input=stdin, capture_output=True, timeout=30)

    def test_openssl_s_client(self):
        r = self.s_client("-starttls", "imap", "-connect", "127.0.0.1:%d" % self.port("imap"),
                          stdin=b"a CAPABILITY\r\nb LOGOUT\r\n")
        self.assertIn(b"a OK", r.stdout, r.stderr)
        self.assertNotIn(b"STARTTLS", r.stdout.split(b"a OK")[0].split(b"\n")[-2])
        r = self.s_client("-connect", "127.0.0.1:%d" % self.port("imaps"),
                          stdin=b"a LOGIN u2@example.test pw-2\r\nb LOGOUT\r\n")
        self.assertIn(b"a OK", r.stdout, r.stderr)
        r = self.s_client("-starttls", "pop3", "-connect", "127.0.0.1:%d" % self.port("pop3"),
                          stdin=b"USER u3@example.test\r\nPASS pw-3\r\nQUIT\r\n")
        self.assertIn(b"+OK Logged in.", r.stdout, r.stderr)
        r = self.s_client("-connect", "127.0.0.1:%d" % self.port("pop3s"),
                          stdin=b"CAPA\r\nQUIT\r\n")
        self.assertIn(b"+OK Capability list follows", r.stdout, r.stderr)


if __name__ == "__main__":
    unittest.main()
