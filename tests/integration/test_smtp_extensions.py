"""BDAT (CHUNKING) and PIPELINING with a raw socket client."""
import unittest

from harness import DaemonTestCase, RawSMTP
from mailcheck import check_stored, make_message

SENDER = "sender@client.test"


class ExtensionsTest(DaemonTestCase):
    def session(self):
        c = RawSMTP(self.port)
        self.addCleanup(c.close)
        code, _ = c.reply()
        self.assertEqual(code, 220)
        code, lines = c.cmd("EHLO client.test")
        self.assertEqual(code, 250, lines)
        return c, [l[4:].upper() for l in lines]

    def test_ehlo_advertises(self):
        _, ext = self.session()
        for word in ("PIPELINING", "CHUNKING", "ENHANCEDSTATUSCODES"):
            self.assertTrue(any(e.split()[0] == word for e in ext if e), f"{word} not in {ext}")
        self.assertTrue(any(e.startswith("SIZE") for e in ext), ext)

    def test_bdat_last_single_chunk(self):
        c, _ = self.session()
        # BDAT data is not dot-stuffed: a lone "." line is content.
        msg = make_message("bdat-1", SENDER, "alice@example.test",
                           body_lines=["first", ".", "..", "last"])
        self.assertEqual(c.cmd(f"MAIL FROM:<{SENDER}>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<alice@example.test>")[0], 250)
        c.send(f"BDAT {len(msg)} LAST\r\n".encode() + msg)
        code, lines = c.reply()
        self.assertEqual(code, 250, lines)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        files = self.daemon.new_files("alice@example.test")
        self.assertEqual(len(files), 1)
        check_stored(self, files[0], msg, "alice@example.test", SENDER)

    def test_bdat_chunked(self):
        c, _ = self.session()
        msg = make_message("bdat-2", SENDER, "carol@other.test")
        self.assertEqual(c.cmd(f"MAIL FROM:<{SENDER}>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<carol@other.test>")[0], 250)
        # Chunk boundaries deliberately split CRLF pairs and header lines.
        cuts = [0, 1, 7, len(msg) // 3, len(msg) // 3 + 1, len(msg) - 1, len(msg)]
        for i in range(len(cuts) - 1):
            chunk = msg[cuts[i]:cuts[i + 1]]
            last = " LAST" if i == len(cuts) - 2 else ""
            c.send(f"BDAT {len(chunk)}{last}\r\n".encode() + chunk)
            code, lines = c.reply()
            self.assertEqual(code, 250, (i, lines))
        files = self.daemon.new_files("carol@other.test")
        self.assertEqual(len(files), 1)
        check_stored(self, files[0], msg, "carol@other.test", SENDER)

    def test_bdat_zero_last_and_pipelined_chunks(self):
        c, _ = self.session()
        msg = make_message("bdat-3", SENDER, "bob@example.test")
        half = len(msg) // 2
        c.send(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<bob@example.test>\r\n"
               f"BDAT {half}\r\n".encode() + msg[:half] +
               f"BDAT {len(msg) - half}\r\n".encode() + msg[half:] + b"BDAT 0 LAST\r\n")
        codes = [c.reply()[0] for _ in range(5)]
        self.assertEqual(codes, [250] * 5)
        files = self.daemon.new_files("bob@example.test")
        self.assertEqual(len(files), 1)
        check_stored(self, files[0], msg, "bob@example.test", SENDER)

    def test_pipelining(self):
        c, _ = self.session()
        c.send(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<alice@example.test>\r\n"
               "RCPT TO:<nobody@example.test>\r\nRCPT TO:<dave@other.test>\r\nDATA\r\n")
        codes = [c.reply()[0] for _ in range(5)]
        self.assertEqual(codes, [250, 250, 550, 250, 354])
        msg = make_message("pipe-1", SENDER, "alice@example.test",
                           body_lines=["stuffed below", ".", "x"])
        stuffed = msg.replace(b"\r\n.", b"\r\n..")
        # Message, end of data, a second transaction and QUIT in one write.
        msg2 = make_message("pipe-2", SENDER, "dave@other.test")
        c.send(stuffed + b".\r\n" + f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<dave@other.test>\r\nDATA\r\n".encode())
        codes = [c.reply()[0] for _ in range(4)]
        self.assertEqual(codes, [250, 250, 250, 354])
        c.send(msg2.replace(b"\r\n.", b"\r\n..") + b".\r\nQUIT\r\n")
        self.assertEqual([c.reply()[0] for _ in range(2)], [250, 221])
        self.assertTrue(c.closed())
        a = self.daemon.new_files("alice@example.test")
        d = self.daemon.new_files("dave@other.test")
        self.assertEqual(len(a), 1)
        self.assertEqual(len(d), 2)
        check_stored(self, a[0], msg, "alice@example.test", SENDER)


if __name__ == "__main__":
    unittest.main()
