"""RCPT TO:<Postmaster> without a domain (RFC 5321 §4.5.1) is accepted, in
any case, and delivered to the postmaster: the `postmaster` key's mailbox,
else the passwd-file's postmaster@ user (issue 15)."""
import unittest

from harness import USERS, Daemon, RawSMTP, split_message

PM = "postmaster@other.test"


class PostmasterTestBase(unittest.TestCase):
    users = USERS
    extra_args = ()

    def setUp(self):
        self.daemon = Daemon(extra_args=self.extra_args, users=self.users)
        self.addCleanup(self.daemon.cleanup)
        self.addCleanup(self.daemon.stop)
        self.daemon.start()

    def deliver(self, port, rcpt, tag, lmtp=False):
        c = RawSMTP(port)
        self.addCleanup(c.close)
        self.assertEqual(c.reply()[0], 220)
        self.assertEqual(c.cmd(("LHLO" if lmtp else "EHLO") + " client.test")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<someone@remote.example>")[0], 250)
        code, lines = c.cmd(f"RCPT TO:<{rcpt}>")
        self.assertEqual(code, 250, lines)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(f"Subject: {tag}\r\n\r\n{tag}\r\n.\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 250, lines)
        self.assertEqual(c.cmd("QUIT")[0], 221)

    def assertDelivered(self, mailbox, tag):
        files = self.daemon.wait_for_count(mailbox, 1)
        bodies = []
        for path in files:
            with open(path, "rb") as f:
                headers, body = split_message(f.read())
            if tag.encode() in body:
                self.assertIn(f"Delivered-To: {mailbox}".encode(), headers)
                return
            bodies.append(body)
        self.fail(f"{tag} not in {mailbox}: {bodies}")


class PasswdFilePostmasterTest(PostmasterTestBase):
    users = dict(USERS, **{PM: "pm-secret"})

    def test_bare_postmaster_any_case(self):
        for i, rcpt in enumerate(("Postmaster", "POSTMASTER", "postmaster")):
            self.deliver(self.daemon.smtp_port, rcpt, f"pm-{i}")
            self.assertDelivered(PM, f"pm-{i}")
        self.deliver(self.daemon.lmtp_port, "PostMaster", "pm-lmtp", lmtp=True)
        self.assertDelivered(PM, "pm-lmtp")


class ConfiguredPostmasterTest(PostmasterTestBase):
    users = dict(USERS, **{PM: "pm-secret"})
    extra_args = ("--postmaster=Bob@Example.TEST",)

    def test_configured_mailbox_wins(self):
        self.deliver(self.daemon.smtp_port, "Postmaster", "pm-configured")
        self.assertDelivered("bob@example.test", "pm-configured")
        self.assertEqual(self.daemon.new_files(PM), [])


class UnknownPostmasterTest(unittest.TestCase):
    def test_start_fails_naming_the_key(self):
        d = Daemon(extra_args=["--postmaster=ghost@example.test"])
        self.addCleanup(d.cleanup)
        with self.assertRaises(RuntimeError) as e:
            d.start()
        self.assertIn("exited with 2", str(e.exception))
        self.assertIn("postmaster: ghost@example.test", str(e.exception))


if __name__ == "__main__":
    unittest.main()
