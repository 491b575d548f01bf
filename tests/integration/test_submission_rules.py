"""Submission rules of RFC 6409 with smtplib: an authenticated client may
only send as itself (§6.1), and Date/Message-ID are added to messages that
lack them (§8.1, §8.2)."""
import smtplib
import unittest

from harness import USERS, DaemonTestCase, split_message

ALICE = "alice@example.test"
BOB = "bob@example.test"


class SubmissionRulesTest(DaemonTestCase):
    def submission(self):
        # Loopback is a trusted network: AUTH PLAIN without TLS.
        s = smtplib.SMTP("127.0.0.1", self.daemon.submission_port, timeout=15)
        self.addCleanup(self._quit, s)
        s.ehlo("client.test")
        s.login(ALICE, USERS[ALICE])
        return s

    @staticmethod
    def _quit(s):
        try:
            s.quit()
        except (smtplib.SMTPException, OSError):
            pass

    def stored(self, n):
        files = self.daemon.wait_for_count(BOB, n)
        self.assertEqual(len(files), n)
        with open(files[-1], "rb") as f:
            return split_message(f.read())

    def test_spoofed_sender_refused_own_accepted(self):
        s = self.submission()
        code, msg = s.mail(BOB)
        self.assertEqual(code, 553, msg)
        self.assertIn(b"5.7.1 Sender address rejected: not owned by user", msg)
        code, msg = s.mail("alice@EXAMPLE.test")  # domain case-insensitive
        self.assertEqual(code, 250, msg)
        s.rset()
        self.assertEqual(s.mail("")[0], 250)  # the null sender
        s.rset()
        with self.assertRaises(smtplib.SMTPSenderRefused):
            s.sendmail("carol@other.test", [BOB], "Subject: x\r\n\r\nspoof\r\n")

    def test_mx_port_checks_authenticated_senders_only(self):
        s = smtplib.SMTP("127.0.0.1", self.port, timeout=15)
        self.addCleanup(self._quit, s)
        s.ehlo("client.test")
        self.assertEqual(s.mail(BOB)[0], 250)  # anonymous: any sender
        s.rset()
        s.login(ALICE, USERS[ALICE])
        self.assertEqual(s.mail(BOB)[0], 553)

    def test_date_and_message_id_added_when_missing(self):
        s = self.submission()
        s.sendmail(ALICE, [BOB], "Subject: bare\r\n\r\nsub-bare\r\n")
        headers, body = self.stored(1)
        self.assertEqual(body, b"sub-bare\n")
        fields = headers.split(b"\n")
        self.assertEqual(sum(f.startswith(b"Date: ") for f in fields), 1, headers)
        mid = [f for f in fields if f.startswith(b"Message-ID: <")]
        self.assertEqual(len(mid), 1, headers)
        self.assertTrue(mid[0].endswith(b"@mx.ringmail.test>"), mid)
        # Added in front of the client's header, after our trace fields.
        self.assertLess(headers.index(b"Received: "), headers.index(b"Date: "))
        self.assertLess(headers.index(b"Message-ID: "), headers.index(b"Subject: bare"))

    def test_present_fields_untouched(self):
        s = self.submission()
        msg = ("Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
               "Message-ID: <given@client.test>\r\nSubject: full\r\n\r\nsub-full\r\n")
        s.sendmail(ALICE, [BOB], msg)
        headers, body = self.stored(1)
        self.assertEqual(body, b"sub-full\n")
        self.assertEqual(headers.count(b"Date: "), 1)
        self.assertEqual(headers.count(b"Message-ID: "), 1)
        self.assertIn(b"Date: Mon, 1 Jan 2024 00:00:00 +0000\n", headers)
        self.assertIn(b"Message-ID: <given@client.test>\n", headers)

    def test_allow_any_sender(self):
        self.daemon.stop()
        self.daemon.extra_args.append("--submission_allow_any_sender=true")
        self.daemon.start()
        s = self.submission()
        self.assertEqual(s.mail(BOB)[0], 250)


if __name__ == "__main__":
    unittest.main()
