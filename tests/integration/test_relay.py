"""No open relay: recipients outside the local domains are refused, also when
disguised; nothing is ever stored outside the local users' Maildirs."""
import os
import unittest

from harness import DaemonTestCase, RawSMTP, USERS

SENDER = "sender@client.test"

# (recipient, required reply): "5.7.1" = must be exactly 550 5.7.1; "5xx" = any
# permanent refusal (5.7.1 relay denied, 5.1.1 unknown user or 501/553 syntax).
TRICKS = [
    ("<victim@gmail.com>", "5.7.1"),
    ("<VICTIM@GMAIL.COM>", "5.7.1"),
    ("<victim@example.test.gmail.com>", "5.7.1"),
    ("<victim@gmail.com@example.test>", "5xx"),
    ("<@example.test:victim@gmail.com>", "5xx"),
    ("<@example.test,@other.test:victim@gmail.com>", "5xx"),
    ('<"victim@gmail.com"@example.test>', "5xx"),
    ("<victim%gmail.com@example.test>", "5xx"),
    ("<victim!gmail.com@example.test>", "5xx"),
    ("<gmail.com!victim@example.test>", "5xx"),
    ("<victim@[192.0.2.1]>", "5xx"),
    ("<victim@[127.0.0.1]>", "5xx"),
    ("<victim@example.test.>", "5xx"),
    ("<victim@localhost>", "5xx"),
    ("<postmaster@gmail.com>", "5.7.1"),
    ("victim@gmail.com", "5xx"),
]


class RelayTest(DaemonTestCase):
    def test_relay_attempts_refused(self):
        # A few recipients per session, so an error limit cannot cut the test short.
        for start in range(0, len(TRICKS), 4):
            c = RawSMTP(self.port)
            self.addCleanup(c.close)
            self.assertEqual(c.reply()[0], 220)
            self.assertEqual(c.cmd("EHLO attacker.test")[0], 250)
            self.assertEqual(c.cmd(f"MAIL FROM:<{SENDER}>")[0], 250)
            for rcpt, want in TRICKS[start:start + 4]:
                code, lines = c.cmd(f"RCPT TO:{rcpt}")
                if want == "5.7.1":
                    self.assertEqual(code, 550, (rcpt, lines))
                    self.assertTrue(lines[-1][4:].startswith("5.7.1"), (rcpt, lines))
                else:
                    self.assertEqual(code // 100, 5, (rcpt, lines))
            # No accepted recipient: DATA must not open a transaction.
            code, lines = c.cmd("DATA")
            self.assertIn(code, (503, 554), lines)
            c.close()
        self.assertEqual(self.daemon.all_delivered(), [])

    def test_relay_mixed_with_local_delivers_only_locally(self):
        c = RawSMTP(self.port)
        self.addCleanup(c.close)
        self.assertEqual(c.reply()[0], 220)
        self.assertEqual(c.cmd("EHLO attacker.test")[0], 250)
        self.assertEqual(c.cmd(f"MAIL FROM:<{SENDER}>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<victim@gmail.com>")[0], 550)
        self.assertEqual(c.cmd("RCPT TO:<victim%gmail.com@example.test>")[0] // 100, 5)
        self.assertEqual(c.cmd("RCPT TO:<alice@example.test>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(b"Subject: mixed\r\n\r\nhello\r\n.\r\n")
        self.assertEqual(c.reply()[0], 250)
        c.cmd("QUIT")
        delivered = self.daemon.all_delivered()
        self.assertEqual([a for a, _ in delivered], ["alice@example.test"])
        # Nothing but the local users' mailboxes exists under mail/.
        base = os.path.join(self.daemon.data_dir, "mail")
        domains = {u.split("@")[1] for u in USERS}
        self.assertTrue(set(os.listdir(base)) <= domains, os.listdir(base))
        for root, dirs, files in os.walk(self.daemon.data_dir):
            for name in dirs + files:
                self.assertNotIn("gmail.com", name.lower(), os.path.join(root, name))


if __name__ == "__main__":
    unittest.main()
