"""Limits and bad input: every error is answered, and the session goes on
(except where the server is meant to close it)."""
import unittest

from harness import DaemonTestCase, RawSMTP, has_flag

SENDER = "sender@client.test"
# Optional daemon flags: used when ringmaild advertises them (--helpfull),
# otherwise the tests rely on the built-in defaults.
MAX_RECIPIENTS = 5
MAX_MESSAGE_SIZE = 100000


class LimitsTest(DaemonTestCase):
    def daemon_args(self):
        args = []
        if has_flag("max_recipients"):
            args.append(f"--max_recipients={MAX_RECIPIENTS}")
        if has_flag("max_message_size"):
            args.append(f"--max_message_size={MAX_MESSAGE_SIZE}")
        return args

    def session(self, ehlo=True):
        c = RawSMTP(self.port)
        self.addCleanup(c.close)
        self.assertEqual(c.reply()[0], 220)
        if ehlo:
            code, lines = c.cmd("EHLO client.test")
            self.assertEqual(code, 250, lines)
            self.ehlo_lines = lines
        return c

    def assertReply(self, reply, code, enhanced=None):
        got, lines = reply
        self.assertEqual(got, code, lines)
        if enhanced:
            self.assertTrue(lines[-1][4:].startswith(enhanced), lines)

    def test_long_command_line(self):
        c = self.session()
        self.assertReply(c.cmd("NOOP " + "x" * 595), 500, "5.5.2")  # 600 bytes + CRLF
        self.assertReply(c.cmd("NOOP"), 250)
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
        # An over-long line that arrives in pieces is still one error.
        c.send("RCPT TO:<" + "a" * 300)
        c.send("b" * 700 + "@example.test>\r\n")
        self.assertReply(c.reply(), 500, "5.5.2")
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)
        self.assertReply(c.cmd("QUIT"), 221)

    def test_size_too_big(self):
        c = self.session()
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}> SIZE=999999999999"), 552)
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}> SIZE=1000"), 250)

    def test_message_too_big_without_size_param(self):
        if not has_flag("max_message_size"):
            self.skipTest("TODO(lead): ringmaild has no --max_message_size flag yet")
        c = self.session()
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        line = b"y" * 900 + b"\r\n"
        c.send(b"Subject: big\r\n\r\n" + line * (MAX_MESSAGE_SIZE // len(line) + 10) + b".\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 552, lines)
        self.assertEqual(self.daemon.new_files("alice@example.test"), [])
        self.assertReply(c.cmd("NOOP"), 250)

    def test_too_many_recipients(self):
        c = self.session()
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
        users = ["alice@example.test", "bob@example.test", "carol@other.test", "dave@other.test"]
        limit = MAX_RECIPIENTS if has_flag("max_recipients") else 2000
        accepted = 0
        for i in range(limit + 1):
            code, lines = c.cmd(f"RCPT TO:<{users[i % 4]}>")
            if code == 250:
                accepted += 1
                continue
            self.assertEqual(code, 452, lines)
            self.assertTrue(lines[-1][4:].startswith("4.5.3"), lines)
            break
        else:
            self.fail(f"no 452 after {limit + 1} recipients")
        if has_flag("max_recipients"):
            self.assertEqual(accepted, MAX_RECIPIENTS)
        self.assertReply(c.cmd("NOOP"), 250)

    def test_unknown_user(self):
        c = self.session()
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
        self.assertReply(c.cmd("RCPT TO:<nobody@example.test>"), 550, "5.1.1")
        self.assertReply(c.cmd("RCPT TO:<nobody@other.test>"), 550, "5.1.1")
        self.assertReply(c.cmd("RCPT TO:<ALICE@EXAMPLE.TEST>"), 250)

    def test_nul_in_command(self):
        c = self.session()
        c.send(b"NO\x00OP\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 500, lines)
        c.send(f"MAIL FROM:<{SENDER}\x00>\r\n")
        code, lines = c.reply()
        self.assertTrue(500 <= code < 600, lines)
        self.assertReply(c.cmd("NOOP"), 250)

    def test_bare_lf_in_body(self):
        c = self.session()
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(b"Subject: bare lf\r\n\r\nline one\nline two\r\n.\r\n")
        self.assertReply(c.reply(), 554, "5.6.0")
        self.assertEqual(self.daemon.new_files("alice@example.test"), [])

    def test_bare_lf_smuggling_end_of_data(self):
        # "\n.\n" and "\n.\r\n" must not end DATA (SMTP smuggling).
        c = self.session()
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(b"Subject: smuggle\r\n\r\nhello\n.\nMAIL FROM:<x@evil.test>\r\n"
               b"RCPT TO:<bob@example.test>\r\nDATA\r\n.\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 554, lines)
        self.assertReply(c.cmd("QUIT"), 221)
        self.assertEqual(self.daemon.all_delivered(), [])

    def test_command_sequence_errors(self):
        c = self.session()
        self.assertEqual(c.cmd("RCPT TO:<alice@example.test>")[0], 503)
        self.assertEqual(c.cmd("DATA")[0], 503)
        # A refused BDAT's chunk is still consumed, not parsed as commands.
        c.send("BDAT 6 LAST\r\nNOOP\r\n")
        self.assertEqual(c.reply()[0] // 100, 5)
        self.assertEqual(c.cmd("NOOP")[0], 250)

    def test_too_many_errors_closes_session(self):
        c = self.session()
        for i in range(200):
            try:
                code, lines = c.cmd(f"BOGUS{i}")
            except (ConnectionError, OSError) as e:
                self.fail(f"connection closed without 421 after {i} errors: {e}")
            if code == 421:
                self.assertTrue(c.closed(), "no close after 421")
                return
            self.assertEqual(code // 100, 5, lines)
        self.fail("still no 421 after 200 bad commands")

    def test_session_survives_garbage_then_delivers(self):
        c = self.session()
        for bad in ("HELO", "MAIL FROM:<a b@c>", "RCPT", "XYZZY"):
            code, lines = c.cmd(bad)
            self.assertEqual(code // 100, 5, (bad, lines))
        self.assertReply(c.cmd(f"MAIL FROM:<{SENDER}>"), 250)
        self.assertReply(c.cmd("RCPT TO:<bob@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(b"Subject: after garbage\r\n\r\nok\r\n.\r\n")
        self.assertReply(c.reply(), 250)
        self.assertEqual(len(self.daemon.new_files("bob@example.test")), 1)


if __name__ == "__main__":
    unittest.main()
