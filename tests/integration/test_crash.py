"""Crash consistency: kill -9 under load, restart on the same data dir, and
check that every message acknowledged with 250 is in new/ exactly once, that no
file in new/ is partial, and that nothing is delivered twice."""
import os
import random
import smtplib
import threading
import time
import unittest

from harness import Daemon, USERS, parse_maildir_name
from mailcheck import make_message, read, subject_of, to_lf

SENDER = "load@client.test"
THREADS = 8
ROUNDS = 3


class CrashTest(unittest.TestCase):
    def test_kill9_under_load(self):
        seed = int(os.environ.get("RINGMAIL_CRASH_SEED", str(int(time.time()))))
        rng = random.Random(seed)
        daemon = Daemon()
        self.addCleanup(daemon.cleanup)
        users = sorted(USERS)
        acked = {}   # token -> rcpt   (250 received)
        sent = {}    # token -> (rcpt, bytes)   (every message attempted)
        lock = threading.Lock()

        def client(round_no, t, port, stop):
            seq = 0
            while not stop.is_set():
                try:
                    with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
                        while not stop.is_set():
                            token = f"crash-{seed}-{round_no}-{t}-{seq}"
                            seq += 1
                            rcpt = users[(t + seq) % len(users)]
                            r = random.Random(token)
                            msg = make_message(token, SENDER, rcpt, r,
                                               body_lines=["x" * r.randint(1, 900)] * r.randint(1, 40))
                            with lock:
                                sent[token] = (rcpt, msg)
                            if s.sendmail(SENDER, [rcpt], msg) == {}:
                                with lock:
                                    acked[token] = rcpt
                except (OSError, smtplib.SMTPException):
                    time.sleep(0.01)  # killed or refused: reconnect until stopped

        for round_no in range(ROUNDS):
            daemon.start()
            stop = threading.Event()
            threads = [threading.Thread(target=client, args=(round_no, t, daemon.smtp_port, stop))
                       for t in range(THREADS)]
            for th in threads:
                th.start()
            time.sleep(rng.uniform(0.5, 2.5))
            daemon.kill9()
            stop.set()
            for th in threads:
                th.join(timeout=30)
                self.assertFalse(th.is_alive(), "client thread hung")
        # Restart once more (recovery), then a clean SIGTERM stop must exit 0.
        daemon.start()
        daemon.stop()

        self.assertGreater(len(acked), 0, f"no message was acknowledged (seed {seed})")
        seen = {}
        for addr, path in daemon.all_delivered():
            data = read(path)
            tags = parse_maildir_name(path)
            self.assertEqual(tags.get("S"), len(data), f"partial or mislabelled file {path} (seed {seed})")
            token = subject_of(data)
            self.assertIn(token, sent, f"unknown message in {path}")
            self.assertNotIn(token, seen, f"{token} delivered twice: {seen.get(token)} and {path}")
            seen[token] = path
            rcpt, msg = sent[token]
            self.assertEqual(addr, rcpt, f"{token} in the wrong Maildir")
            self.assertTrue(data.endswith(to_lf(msg)), f"{path}: content differs from what was sent")
        missing = sorted(set(acked) - set(seen))
        self.assertEqual(missing, [], f"{len(missing)} acknowledged messages lost (seed {seed})")
        print(f"crash test: seed {seed}, {len(sent)} attempted, {len(acked)} acknowledged, "
              f"{len(seen)} in new/", flush=True)


if __name__ == "__main__":
    unittest.main()
