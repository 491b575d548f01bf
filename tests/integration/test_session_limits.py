"""Connection time and count limits (issue 15).

- Before login (SMTP: until AUTH), time counts from the connection: a
  client that drips a byte every half second is still closed once the
  configured limit (2 s here) has passed; logged-in sessions are not.
- SMTP, submission and LMTP count their connections per client separately.
No test asserts a duration: only that a close comes within a generous bound."""
import base64
import imaplib
import socket
import time
import unittest

from harness import DaemonTestCase, RawSMTP

ALICE = "alice@example.test"
ALICE_PASSWORD = "alice-secret"
LIMIT_SECONDS = 2
CLOSE_BOUND = 60.0  # far above the limit: a slow machine still passes
DRIP_INTERVAL = 0.5


def drip_until_closed(port, command, bound=CLOSE_BOUND):
    """Connects, then sends `command` one byte every DRIP_INTERVAL seconds,
    over and over, reading whatever comes back. Returns (closed, received):
    closed is True if the server closed the connection within `bound`."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=15)
    received = b""
    try:
        deadline = time.monotonic() + bound
        i = 0
        while time.monotonic() < deadline:
            try:
                sock.sendall(command[i % len(command):i % len(command) + 1])
            except OSError:
                return True, received  # reset: closed
            i += 1
            sock.settimeout(DRIP_INTERVAL)
            try:
                chunk = sock.recv(65536)
                if not chunk:
                    return True, received
                received += chunk
            except (socket.timeout, TimeoutError):
                pass
            except OSError:
                return True, received
        return False, received
    finally:
        sock.close()


class LoginTimeLimitTest(DaemonTestCase):
    extra_args = (f"--max_session_time={LIMIT_SECONDS}s",
                  f"--imap_login_timeout={LIMIT_SECONDS}s",
                  f"--pop3_login_timeout={LIMIT_SECONDS}s")

    def test_smtp_dripping_client_is_closed(self):
        closed, got = drip_until_closed(self.daemon.smtp_port, b"NOOP\r\n")
        self.assertTrue(closed, got[-300:])
        self.assertTrue(got.startswith(b"220 "), got[:100])
        self.assertIn(b"421 4.4.2 ", got)

    def test_lmtp_and_submission_dripping_clients_are_closed(self):
        for port in (self.daemon.lmtp_port, self.daemon.submission_port):
            with self.subTest(port=port):
                closed, got = drip_until_closed(port, b"NOOP\r\n")
                self.assertTrue(closed, got[-300:])
                self.assertIn(b"421 4.4.2 ", got)

    def test_imap_dripping_client_is_closed(self):
        closed, got = drip_until_closed(self.daemon.imap_port, b"a NOOP\r\n")
        self.assertTrue(closed, got[-300:])
        self.assertTrue(got.startswith(b"* OK"), got[:100])
        self.assertIn(b"* BYE", got)

    def test_pop3_dripping_client_is_closed(self):
        closed, got = drip_until_closed(self.daemon.pop3_port, b"CAPA\r\n")
        self.assertTrue(closed, got[-300:])
        self.assertTrue(got.startswith(b"+OK"), got[:100])
        self.assertIn(b"\r\n-ERR", got)

    def test_logged_in_sessions_are_not_cut(self):
        # Past the limit, authenticated SMTP and logged-in IMAP go on.
        c = RawSMTP(self.daemon.submission_port)
        self.addCleanup(c.close)
        self.assertEqual(c.reply()[0], 220)
        c.cmd("EHLO client.test")
        token = base64.b64encode(f"\0{ALICE}\0{ALICE_PASSWORD}".encode()).decode()
        self.assertEqual(c.cmd("AUTH PLAIN " + token)[0], 235)
        m = imaplib.IMAP4("127.0.0.1", self.daemon.imap_port, timeout=15)
        self.addCleanup(m.sock.close)
        m.login(ALICE, ALICE_PASSWORD)
        time.sleep(LIMIT_SECONDS * 2)
        self.assertEqual(c.cmd("NOOP")[0], 250)
        self.assertEqual(m.noop()[0], "OK")
        self.assertEqual(c.cmd("QUIT")[0], 221)
        m.logout()


class PerServiceConnectionCountTest(DaemonTestCase):
    extra_args = ("--max_connections_per_ip=2",)

    def connect(self, port):
        c = RawSMTP(port)
        self.addCleanup(c.close)
        return c.reply()

    def test_each_smtp_service_counts_separately(self):
        ports = {"smtp": self.daemon.smtp_port,
                 "submission": self.daemon.submission_port,
                 "lmtp": self.daemon.lmtp_port}
        for name, port in ports.items():
            with self.subTest(service=name):
                # This client's connections to the other services (held
                # open) leave its two slots here free.
                self.assertEqual(self.connect(port)[0], 220)
                self.assertEqual(self.connect(port)[0], 220)
                code, lines = self.connect(port)
                self.assertEqual(code, 421, lines)
                self.assertIn("4.7.0", lines[0])


if __name__ == "__main__":
    unittest.main()
