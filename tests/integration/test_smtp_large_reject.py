"""A large message that the server refuses (552 too big, 554 bad content)
or that the client abandons (RSET between BDAT chunks) must leave the
session readable: RSET, a new transaction and QUIT are all answered, on
SMTP, submission and LMTP, with DATA and with BDAT (issue 15).

Reading is paused while a message's writes lag behind. To make the refusal
come while it is paused, the messages are megabytes, go to four mailboxes
(each chunk is written four times) through one file worker per core, and
each session is refused several times in a row."""
import base64
import socket
import unittest

from harness import DaemonTestCase, RawSMTP

ALICE = "alice@example.test"
ALICE_PASSWORD = "alice-secret"
RCPTS = ("alice@example.test", "bob@example.test", "carol@other.test", "dave@other.test")
REPEAT = 5  # refusals per session before RSET
MAX_MESSAGE_SIZE = 4 << 20  # the too-big message is larger, the others smaller
TIMEOUT = 30.0  # per reply: a session that stopped reading never answers

LINE = b"A" * 98 + b"\r\n"
FILLER = b"Subject: big\r\n\r\n" + LINE * 25000  # 2.5 MB of good lines


def body(kind):
    """(body with CRLF line ends and no leading dots, expected reply code)."""
    if kind == "long_line":
        return FILLER + b"B" * 1200 + b"\r\n", 554
    if kind == "nul":
        return FILLER + b"x\0y\r\n", 554
    if kind == "bare_lf":
        return FILLER + b"x\ny\r\n", 554
    if kind == "too_big":
        return FILLER * 3, 552
    raise ValueError(kind)


KINDS = ("long_line", "nul", "bare_lf", "too_big")


class LargeRejectTest(DaemonTestCase):
    extra_args = (f"--max_message_size={MAX_MESSAGE_SIZE}", "--max_file_workers=1")

    # -- sessions -------------------------------------------------------------
    def open(self, service):
        port = {"smtp": self.daemon.smtp_port,
                "submission": self.daemon.submission_port,
                "lmtp": self.daemon.lmtp_port}[service]
        self.assertIsNotNone(port, service)
        c = RawSMTP(port, timeout=TIMEOUT)
        self.addCleanup(c.close)
        self.assertEqual(c.reply()[0], 220)
        hello = "LHLO" if service == "lmtp" else "EHLO"
        code, lines = c.cmd(f"{hello} client.test")
        self.assertEqual(code, 250, lines)
        if service == "submission":
            token = base64.b64encode(f"\0{ALICE}\0{ALICE_PASSWORD}".encode()).decode()
            code, lines = c.cmd("AUTH PLAIN " + token)
            self.assertEqual(code, 235, lines)
        self.lmtp = service == "lmtp"
        return c

    def envelope(self, c):
        code, lines = c.cmd(f"MAIL FROM:<{ALICE}>")
        self.assertEqual(code, 250, lines)
        for rcpt in RCPTS:
            code, lines = c.cmd(f"RCPT TO:<{rcpt}>")
            self.assertEqual(code, 250, lines)

    def end_reply(self, c):
        """The reply to the end of the data; LMTP has one per recipient
        (RFC 2033 §4.2), all alike here."""
        code, lines = c.reply()
        for _ in RCPTS[1:] if self.lmtp else ():
            more, more_lines = c.reply()
            self.assertEqual(more, code, more_lines)
        return code, lines

    def send_data(self, c, data):
        code, lines = c.cmd("DATA")
        self.assertEqual(code, 354, lines)
        c.send(data + b".\r\n")
        return self.end_reply(c)

    def send_bdat(self, c, data):
        c.send(f"BDAT {len(data)} LAST\r\n".encode() + data)
        return self.end_reply(c)

    def then_rset_deliver_quit(self, c, tag):
        """The session still reads: RSET, a small message, QUIT."""
        code, lines = c.cmd("RSET")
        self.assertEqual(code, 250, lines)
        self.envelope(c)
        code, lines = self.send_data(c, f"Subject: {tag}\r\n\r\nafter {tag}\r\n".encode())
        self.assertEqual(code, 250, lines)
        code, lines = c.cmd("QUIT")
        self.assertEqual(code, 221, lines)
        self.assertTrue(c.closed(TIMEOUT))

    def refusals(self, service):
        delivered = 0
        for kind in KINDS:
            data, want = body(kind)
            for verb in ("DATA", "BDAT"):
                with self.subTest(service=service, kind=kind, verb=verb):
                    c = self.open(service)
                    try:
                        for _ in range(REPEAT):
                            self.envelope(c)
                            if verb == "DATA":
                                code, lines = self.send_data(c, data)
                            else:
                                code, lines = self.send_bdat(c, data)
                            self.assertEqual(code, want, lines)
                        self.then_rset_deliver_quit(c, f"{service}-{kind}-{verb}")
                        delivered += 1
                    except (socket.timeout, TimeoutError, ConnectionError) as e:
                        self.fail(f"no answer after the refusal: {e!r}")
        # Only the small follow-up messages were stored.
        for rcpt in RCPTS:
            files = self.daemon.new_files(rcpt)
            self.assertEqual(len(files), delivered, rcpt)
            for path in files:
                with open(path, "rb") as f:
                    self.assertNotIn(b"A" * 98, f.read())

    def test_smtp(self):
        self.refusals("smtp")

    def test_submission(self):
        self.refusals("submission")

    def test_lmtp(self):
        self.refusals("lmtp")

    def test_rset_between_large_bdat_chunks(self):
        # The client abandons the message itself, pipelining RSET right
        # behind a large chunk.
        for service in ("smtp", "submission", "lmtp"):
            with self.subTest(service=service):
                c = self.open(service)
                try:
                    for _ in range(REPEAT):
                        self.envelope(c)
                        c.send(f"BDAT {len(FILLER)}\r\n".encode() + FILLER + b"RSET\r\n")
                        code, lines = c.reply()
                        self.assertEqual(code, 250, lines)  # the chunk
                        code, lines = c.reply()
                        self.assertEqual(code, 250, lines)  # RSET
                    self.envelope(c)
                    code, lines = self.send_data(c, b"Subject: x\r\n\r\nafter rset\r\n")
                    self.assertEqual(code, 250, lines)
                    self.assertEqual(c.cmd("QUIT")[0], 221)
                except (socket.timeout, TimeoutError, ConnectionError) as e:
                    self.fail(f"no answer after RSET: {e!r}")


if __name__ == "__main__":
    unittest.main()
