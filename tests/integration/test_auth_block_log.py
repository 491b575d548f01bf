"""Once an address is blocked for failed logins (auth.max_failures), every
further IMAP and POP3 attempt is still refused and logged, in SMTP's
fail2ban form, with the user name (issue 15)."""
import base64
import socket
import time
import unittest

from harness import DaemonTestCase

FAILURES = 2  # auth.max_failures: the third attempt from the address is blocked
BLOCKED_ATTEMPTS = 3


def log_line(service, user):
    return f"auth failed: service={service} rip=127.0.0.1 user=<{user}>"


class LineClient:
    """Line-level client for IMAP and POP3 (one reply line per call)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError(f"closed; had {self.buf!r}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def send(self, text):
        self.sock.sendall(text.encode() + b"\r\n")

    def tagged(self, tag, text):
        """Sends an IMAP command; returns its tagged reply line."""
        self.send(f"{tag} {text}")
        while True:
            line = self.line()
            if line.startswith(tag + " "):
                return line

    def close(self):
        self.sock.close()


class AuthBlockLogTest(DaemonTestCase):
    extra_args = (f"--auth_max_failures={FAILURES}", "--auth_failure_delay=0")

    def client(self, port):
        c = LineClient(port)
        self.addCleanup(c.close)
        c.line()  # greeting
        return c

    def wait_for_log(self, needles, timeout=15.0):
        deadline = time.monotonic() + timeout
        while True:
            with open(self.daemon.log_file, encoding="utf-8", errors="replace") as f:
                text = f.read()
            missing = [n for n in needles if n not in text]
            if not missing or time.monotonic() > deadline:
                return text, missing
            time.sleep(0.05)

    def test_imap_blocked_attempts_are_logged(self):
        c = self.client(self.daemon.imap_port)
        for i in range(FAILURES):
            reply = c.tagged(f"a{i}", f"LOGIN fail{i}@example.test wrong")
            self.assertIn("NO [AUTHENTICATIONFAILED]", reply)
        users = []
        for i in range(BLOCKED_ATTEMPTS):
            c = self.client(self.daemon.imap_port)
            user = f"blocked{i}@example.test"
            users.append(user)
            if i == 0:  # AUTHENTICATE PLAIN too, the user known only at the end
                token = base64.b64encode(f"\0{user}\0wrong".encode()).decode()
                reply = c.tagged("b", f"AUTHENTICATE PLAIN {token}")
            else:
                reply = c.tagged("b", f"LOGIN {user} wrong")
            self.assertIn("NO [UNAVAILABLE]", reply)
        text, missing = self.wait_for_log([log_line("imap", u) for u in users])
        self.assertEqual(missing, [], text[-2000:])

    def test_pop3_blocked_attempts_are_logged(self):
        c = self.client(self.daemon.pop3_port)
        for i in range(FAILURES):
            c.send(f"USER fail{i}@example.test")
            self.assertTrue(c.line().startswith("+OK"))
            c.send("PASS wrong")
            self.assertIn("[AUTH]", c.line())
        users = []
        for i in range(BLOCKED_ATTEMPTS):
            c = self.client(self.daemon.pop3_port)
            user = f"blocked{i}@example.test"
            users.append(user)
            c.send(f"USER {user}")
            self.assertTrue(c.line().startswith("+OK"))
            c.send("PASS wrong")
            self.assertIn("-ERR [SYS/TEMP]", c.line())
        text, missing = self.wait_for_log([log_line("pop3", u) for u in users])
        self.assertEqual(missing, [], text[-2000:])


if __name__ == "__main__":
    unittest.main()
