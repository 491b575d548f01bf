"""Delivery end to end: concurrency, byte-exactness, dot-stuffing, stock clients."""
import random
import smtplib
import subprocess
import tempfile
import threading
import time
import unittest

from harness import DaemonTestCase, USERS
from mailcheck import check_stored, make_message, read, subject_of

SENDER = "sender@client.test"


class DeliveryTest(DaemonTestCase):
    def test_1000_messages_50_connections(self):
        users = sorted(USERS)
        sent = {}  # token -> (rcpt, bytes)
        errors = []
        lock = threading.Lock()

        def worker(t):
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=60) as s:
                    s.ehlo("client.test")
                    for i in range(20):
                        token = f"bulk-{t:02d}-{i:02d}"
                        rcpt = users[(t + i) % len(users)]
                        msg = make_message(token, SENDER, rcpt, random.Random(token))
                        refused = s.sendmail(SENDER, [rcpt], msg)
                        if refused:
                            raise AssertionError(f"{token}: refused {refused}")
                        with lock:
                            sent[token] = (rcpt, msg)
            except Exception as e:  # noqa: BLE001 - reported below
                with lock:
                    errors.append(f"thread {t}: {e!r}")

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(50)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=180)
        self.assertEqual(errors, [])
        self.assertEqual(len(sent), 1000)
        # 250 after DATA means the message is already in new/ (durable delivery).
        deadline = time.monotonic() + 15
        while len(self.daemon.all_delivered()) < 1000 and time.monotonic() < deadline:
            time.sleep(0.1)
        found = {}
        for addr, path in self.daemon.all_delivered():
            token = subject_of(read(path))
            self.assertNotIn(token, found, f"{token} delivered twice")
            found[token] = (addr, path)
        self.assertEqual(sorted(found), sorted(sent), "delivered set differs from acknowledged set")
        for token, (rcpt, msg) in sent.items():
            addr, path = found[token]
            self.assertEqual(addr, rcpt, f"{token} in the wrong Maildir")
            check_stored(self, path, msg, rcpt, SENDER)

    def test_dot_stuffing_via_smtplib(self):
        body = [".", "..", "...", ".hidden", "a line", "", ". space", "end."]
        msg = make_message("dots-1", SENDER, "alice@example.test", body_lines=body)
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as s:
            self.assertEqual(s.sendmail(SENDER, ["alice@example.test"], msg), {})
        files = self.daemon.new_files("alice@example.test")
        self.assertEqual(len(files), 1)
        check_stored(self, files[0], msg, "alice@example.test", SENDER)

    def test_multiple_recipients_two_domains(self):
        rcpts = ["alice@example.test", "bob@example.test", "carol@other.test"]
        msg = make_message("multi-1", SENDER, rcpts[0])
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as s:
            self.assertEqual(s.sendmail(SENDER, rcpts, msg), {})
        for r in rcpts:
            files = self.daemon.new_files(r)
            self.assertEqual(len(files), 1, r)
            data = check_stored(self, files[0], msg, r, SENDER)
            self.assertIn(f"delivered-to: {r}".encode(), data.lower().replace(b"<", b"").replace(b">", b""))
        self.assertEqual(self.daemon.new_files("dave@other.test"), [])

    def test_null_sender(self):
        msg = make_message("bounce-1", "", "dave@other.test")
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as s:
            self.assertEqual(s.sendmail("<>", ["dave@other.test"], msg), {})
        files = self.daemon.new_files("dave@other.test")
        self.assertEqual(len(files), 1)
        data = check_stored(self, files[0], msg, "dave@other.test")
        self.assertTrue(data.lower().startswith(b"return-path: <>"), data[:80])

    def test_swaks(self):
        r = subprocess.run(
            ["swaks", "--server", f"127.0.0.1:{self.port}", "--from", SENDER,
             "--to", "bob@example.test", "--header", "Subject: swaks-1",
             "--body", "hello from swaks\n.\n..dot line\n", "--helo", "client.test"],
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        files = self.daemon.new_files("bob@example.test")
        self.assertEqual(len(files), 1)
        data = read(files[0])
        self.assertEqual(subject_of(data), "swaks-1")
        self.assertIn(b"\nhello from swaks\n.\n..dot line\n", data)

    def test_curl(self):
        msg = make_message("curl-1", SENDER, "carol@other.test",
                           body_lines=["from curl", ".", ".leading dot", "bye"])
        with tempfile.NamedTemporaryFile(suffix=".eml") as f:
            f.write(msg)
            f.flush()
            r = subprocess.run(
                ["curl", "-sS", "--max-time", "30", f"smtp://127.0.0.1:{self.port}/client.test",
                 "--mail-from", SENDER, "--mail-rcpt", "carol@other.test", "--upload-file", f.name],
                capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        files = self.daemon.new_files("carol@other.test")
        self.assertEqual(len(files), 1)
        check_stored(self, files[0], msg, "carol@other.test", SENDER)


if __name__ == "__main__":
    unittest.main()
