"""LMTP (RFC 2033) with Python's smtplib.LMTP over TCP: per-recipient
replies after the data, durable Maildir delivery, HELO/EHLO refused, no
relaying."""
import smtplib
import unittest

from harness import DaemonTestCase, split_message

ALICE = "alice@example.test"
BOB = "bob@example.test"
CAROL = "carol@other.test"


class LmtpTest(DaemonTestCase):
    def lmtp(self):
        self.assertIsNotNone(self.daemon.lmtp_port, "no lmtp line in the ports file")
        c = smtplib.LMTP("127.0.0.1", self.daemon.lmtp_port, timeout=15)
        self.addCleanup(self._quit, c)
        return c

    @staticmethod
    def _quit(c):
        try:
            c.quit()
        except (smtplib.SMTPException, OSError):
            pass

    def test_three_recipients_one_unknown(self):
        c = self.lmtp()
        code, msg = c.ehlo("mda.test")  # smtplib.LMTP sends LHLO
        self.assertEqual(code, 250, msg)
        self.assertTrue(c.has_extn("pipelining"))
        self.assertFalse(c.has_extn("auth"))
        self.assertFalse(c.has_extn("starttls"))
        self.assertEqual(c.mail("sender@remote.example")[0], 250)
        self.assertEqual(c.rcpt(ALICE)[0], 250)
        code, msg = c.rcpt("nobody@example.test")
        self.assertEqual(code, 550, msg)
        self.assertIn(b"5.1.1", msg)
        self.assertEqual(c.rcpt(CAROL)[0], 250)
        # RFC 2033 §4.2: after the dot, one reply per accepted RCPT, in order.
        # smtplib reads only the first, so the rest are read by hand.
        c.putcmd("data")
        code, msg = c.getreply()
        self.assertEqual(code, 354, msg)
        c.send(b"Subject: lmtp\r\n\r\nlmtp-body-1\r\n.\r\n")
        replies = [c.getreply(), c.getreply()]
        self.assertEqual(replies[0], (250, f"2.0.0 <{ALICE}> Ok".encode()))
        self.assertEqual(replies[1], (250, f"2.0.0 <{CAROL}> Ok".encode()))
        self.assertEqual(c.noop()[0], 250)  # nothing left over in the stream
        for rcpt in (ALICE, CAROL):
            files = self.daemon.new_files(rcpt)  # durable before the 250
            self.assertEqual(len(files), 1, rcpt)
            with open(files[0], "rb") as f:
                headers, body = split_message(f.read())
            self.assertIn(b"lmtp-body-1", body)
            self.assertIn(b" with LMTP id ", headers)
            self.assertIn(f"Delivered-To: {rcpt}".encode(), headers)
        self.assertEqual(self.daemon.new_files(BOB), [])

    def test_sendmail_reports_per_recipient_refusals(self):
        c = self.lmtp()
        refused = c.sendmail("s@remote.example", [BOB, "ghost@other.test"],
                             "Subject: x\r\n\r\nlmtp-2\r\n")
        self.assertIn("ghost@other.test", refused)
        self.assertEqual(len(self.daemon.new_files(BOB)), 1)

    def test_helo_ehlo_refused_and_no_relay(self):
        c = self.lmtp()
        code, _ = c.docmd("HELO", "x")
        self.assertEqual(code, 500)
        code, _ = c.docmd("EHLO", "x")
        self.assertEqual(code, 500)
        c.ehlo("mda.test")
        c.mail("s@remote.example")
        code, msg = c.rcpt("someone@remote.example")
        self.assertEqual(code, 550, msg)
        self.assertIn(b"5.1.1", msg)


if __name__ == "__main__":
    unittest.main()
