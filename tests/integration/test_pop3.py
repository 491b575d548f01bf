"""POP3 end to end with Python's poplib and curl: mail delivered by SMTP,
then listed, retrieved byte-exact, deleted in UPDATE, locked per user, and
UIDLs that match the UIDs and UIDVALIDITY IMAP reports."""
import base64
import imaplib
import os
import poplib
import re
import smtplib
import socket
import ssl
import subprocess
import time

from harness import DaemonTestCase, USERS
from mailcheck import make_message, read, subject_of

ALICE = "alice@example.test"
BOB = "bob@example.test"
SENDER = "sender@client.test"


def crlf(lf_bytes):
    return lf_bytes.replace(b"\n", b"\r\n")


def stuffed(crlf_bytes):
    """RFC 1939 §3 byte-stuffing of a CRLF message, with the terminator."""
    lines = crlf_bytes.split(b"\r\n")
    assert lines[-1] == b""
    out = b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines[:-1])
    return out + b".\r\n"


class RawPOP:
    """A line-level POP3 client for what poplib hides (exact wire bytes)."""

    def __init__(self, port, timeout=15.0, ctx=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if ctx is not None:  # implicit TLS (port 995)
            self.sock = ctx.wrap_socket(self.sock)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed; have {self.buf!r}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.line()

    def multiline(self):
        """The raw bytes of a multi-line body up to and including '.\r\n'."""
        start = 0  # no terminator before here (keeps large bodies linear)
        while True:
            data = b"\r\n" + self.buf  # so an empty body matches too
            i = data.find(b"\r\n.\r\n", start)
            if i >= 0:
                body, self.buf = self.buf[: i + 3], self.buf[i + 3:]
                return body
            start = max(0, len(data) - 4)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed mid-response")
            self.buf += chunk

    def close(self):
        self.sock.close()


def pop3_encode(stored, top_lines=None):
    """The RETR (or TOP) body of a stored message, as RFC 1939 §3 and §7 say:
    CRLF line ends (a stored CRLF kept), leading dots stuffed, terminator."""
    out = []
    header = True
    lines = stored.split(b"\n")
    last_unterminated = lines[-1] != b""
    if not last_unterminated:
        lines.pop()
    for line in lines:
        if top_lines is not None and not header and top_lines == 0:
            break
        out.append((b"." if line.startswith(b".") else b"") + line +
                   (b"\n" if line.endswith(b"\r") else b"\r\n"))
        if top_lines is not None:
            if header:
                header = line not in (b"", b"\r")
            else:
                top_lines -= 1
    return b"".join(out) + b".\r\n"


def big_message(mib=5):
    """A message of several MiB written by 'other software': bare LF and
    CRLF lines mixed, lines of dots, lines longer than a RETR chunk, and no
    LF at the end, so every kind of line crosses chunk boundaries."""
    parts = [b"From: big@example.test\r\nSubject: big\nX-Mixed: yes\r\n\n"]
    size = 0
    i = 0
    while size < mib << 20:
        kind = i % 7
        if kind == 0:
            line = b"." * (1 + i % 3) + b"dot line %d\n" % i
        elif kind == 1:
            line = b"crlf line %d\r\n" % i
        elif kind == 2:
            line = b"\n"
        elif kind == 3 and i % 49 == 3:
            line = (b"%d " % i) * (1 + (i * 7919) % 40000) + b"\n"  # up to ~300 KB
        elif kind == 4:
            line = b".\r\n"
        else:
            line = b"text %d " % i + b"x" * (i % 200) + b"\n"
        parts.append(line)
        size += len(line)
        i += 1
    parts.append(b"..end without LF")
    return b"".join(parts)


def crlf_size(stored):
    return len(stored) + stored.count(b"\n") - stored.count(b"\r\n")


class Pop3Test(DaemonTestCase):
    def deliver(self, rcpt, messages):
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as s:
            for m in messages:
                self.assertEqual(s.sendmail(SENDER, [rcpt], m), {})

    def pop(self, user=ALICE, wait_for_lock=0.0):
        deadline = time.monotonic() + wait_for_lock
        while True:
            p = poplib.POP3("127.0.0.1", self.daemon.pop3_port, timeout=15)
            try:
                p.user(user)
                p.pass_(USERS[user])
                break
            except poplib.error_proto as e:
                p.close()
                # The lock of a dropped session is released once the server
                # sees the close; allow it a moment when asked to.
                if b"[IN-USE]" not in e.args[0] or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.addCleanup(p.close)
        return p

    def stored_by_subject(self, addr):
        """{subject: CRLF form of the stored file} for new/ and cur/."""
        out = {}
        root = self.daemon.maildir(addr)
        for sub in ("new", "cur"):
            d = os.path.join(root, sub)
            for name in os.listdir(d) if os.path.isdir(d) else []:
                data = read(os.path.join(d, name))
                out[subject_of(data)] = crlf(data)
        return out

    def messages(self, n, prefix):
        return [make_message(f"{prefix}-{i}", SENDER, ALICE) for i in range(n)]

    def test_retr_is_byte_exact_crlf_with_dot_stuffing(self):
        sent = self.messages(6, "retr")
        sent.append(make_message("retr-dots", SENDER, ALICE,
                                 body_lines=[".", "..", ".x", "a", "", ". "]))
        self.deliver(ALICE, sent)
        stored = self.stored_by_subject(ALICE)
        self.assertEqual(len(stored), len(sent))
        p = self.pop()
        count, total = p.stat()
        self.assertEqual(count, len(sent))
        self.assertEqual(total, sum(len(v) for v in stored.values()))
        _, listing, _ = p.list()
        sizes = {int(a): int(b) for a, b in (l.split() for l in listing)}
        for n in range(1, count + 1):
            _, lines, _ = p.retr(n)
            got = b"\r\n".join(lines) + b"\r\n"
            subject = subject_of(got.replace(b"\r\n", b"\n"))
            self.assertEqual(got, stored[subject], subject)
            self.assertEqual(sizes[n], len(got))
            # What SMTP received is the tail (after our trace fields).
            sent_msg = [m for m in sent if f"Subject: {subject}\r\n".encode() in m][0]
            self.assertTrue(got.endswith(sent_msg))
        p.quit()
        # The wire form: "+OK <size> octets", stuffed lines, terminator.
        raw = RawPOP(self.daemon.pop3_port)
        self.addCleanup(raw.close)
        raw.line()
        raw.cmd(f"USER {ALICE}")
        self.assertTrue(raw.cmd(f"PASS {USERS[ALICE]}").startswith(b"+OK"))
        for n in range(1, count + 1):
            head = raw.cmd(f"RETR {n}")
            self.assertEqual(head, f"+OK {sizes[n]} octets".encode())
            body = raw.multiline()
            unstuffed = b"".join(
                (l[1:] if l.startswith(b".") else l) + b"\r\n"
                for l in body[:-3].split(b"\r\n")[:-1])
            self.assertEqual(body, stuffed(unstuffed))
            self.assertIn(unstuffed, stored.values())
        # The last message (delivered last) has the lines ".", "..", ".x".
        raw.cmd(f"RETR {count}")
        self.assertIn(b"\r\n..\r\n...\r\n..x\r\n", raw.multiline())
        raw.cmd("QUIT")

    def test_top_zero_is_the_header_and_does_not_mark_seen(self):
        self.deliver(ALICE, self.messages(2, "top"))
        stored = self.stored_by_subject(ALICE)
        p = self.pop()
        for n in (1, 2):
            _, lines, _ = p.top(n, 0)
            got = b"\r\n".join(lines) + b"\r\n"
            subject = subject_of(got.replace(b"\r\n", b"\n"))
            full = stored[subject]
            self.assertEqual(got, full[: full.index(b"\r\n\r\n") + 4])
            _, lines, _ = p.top(n, 2)
            body = full[full.index(b"\r\n\r\n") + 4:]
            want = full[: full.index(b"\r\n\r\n") + 4] + b"".join(
                l + b"\r\n" for l in body.split(b"\r\n")[:2])
            self.assertEqual(b"\r\n".join(lines) + b"\r\n", want)
        p.quit()
        self.assertEqual(len(self.daemon.new_files(ALICE)), 2)  # still unseen

    def test_retr_marks_seen_like_dovecot(self):
        self.deliver(ALICE, self.messages(2, "seen"))
        p = self.pop()
        p.retr(2)
        p.quit()
        self.assertEqual(len(self.daemon.new_files(ALICE)), 1)
        cur = os.listdir(os.path.join(self.daemon.maildir(ALICE), "cur"))
        self.assertEqual(len(cur), 1)
        self.assertTrue(cur[0].endswith(":2,S"), cur)

    def test_dele_then_quit_removes_the_message(self):
        self.deliver(ALICE, self.messages(3, "dele"))
        p = self.pop()
        _, uidls, _ = p.uidl()
        p.dele(2)
        with self.assertRaises(poplib.error_proto):
            p.retr(2)  # marked
        self.assertEqual(p.stat()[0], 2)
        self.assertTrue(p.quit().startswith(b"+OK"))
        self.assertEqual(len(self.daemon.new_files(ALICE)), 2)
        p = self.pop()
        _, after, _ = p.uidl()
        self.assertEqual([l.split()[1] for l in after],
                         [uidls[0].split()[1], uidls[2].split()[1]])
        p.quit()

    def test_dele_then_dropped_connection_keeps_the_message(self):
        self.deliver(ALICE, self.messages(2, "drop"))
        p = poplib.POP3("127.0.0.1", self.daemon.pop3_port, timeout=15)
        p.user(ALICE)
        p.pass_(USERS[ALICE])
        p.dele(1)
        p.rset()
        p.dele(1)
        p.dele(2)
        # Drop the connection without QUIT: no UPDATE state (RFC 1939 §6).
        p.sock.shutdown(socket.SHUT_RDWR)
        p.close()
        p = self.pop(wait_for_lock=5.0)
        self.assertEqual(p.stat()[0], 2)
        p.quit()
        self.assertEqual(len(self.daemon.new_files(ALICE)), 2)

    def test_second_login_gets_in_use(self):
        self.deliver(ALICE, self.messages(1, "lock"))
        first = self.pop()
        second = poplib.POP3("127.0.0.1", self.daemon.pop3_port, timeout=15)
        self.addCleanup(second.close)
        second.user(ALICE)
        with self.assertRaises(poplib.error_proto) as cm:
            second.pass_(USERS[ALICE])
        self.assertEqual(cm.exception.args[0],
                         b"-ERR [IN-USE] Mailbox is locked by another POP3 session")
        # Another user is not affected; the same connection may retry later.
        other = self.pop(BOB)
        other.quit()
        first.quit()
        second.user(ALICE)
        deadline = time.monotonic() + 5
        while True:
            try:
                second.pass_(USERS[ALICE])
                break
            except poplib.error_proto:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
                second.user(ALICE)
        self.assertEqual(second.stat()[0], 1)
        second.quit()

    def test_uidl_is_dovecot_format_of_imap_uid_and_uidvalidity(self):
        self.deliver(ALICE, self.messages(3, "uidl"))
        m = imaplib.IMAP4("127.0.0.1", self.daemon.imap_port)
        self.addCleanup(m.logout)
        m.login(ALICE, USERS[ALICE])
        typ, _ = m.select("INBOX")
        self.assertEqual(typ, "OK")
        validity = int(m.response("UIDVALIDITY")[1][0])
        typ, data = m.uid("SEARCH", "ALL")
        uids = [int(u) for u in data[0].split()]
        self.assertEqual(len(uids), 3)
        p = self.pop()
        _, lines, _ = p.uidl()
        got = [l.split()[1].decode() for l in lines]
        self.assertEqual(got, [f"{u:08x}{validity:08x}" for u in uids])
        self.assertEqual(p.uidl(2), f"+OK 2 {uids[1]:08x}{validity:08x}".encode())
        # RETR's \Seen and UPDATE's deletion reach the IMAP session.
        p.retr(1)
        p.dele(3)
        p.quit()
        m.noop()
        typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
        text = b" ".join(d if isinstance(d, bytes) else d[0] for d in data if d)
        self.assertIn(f"UID {uids[0]} FLAGS (\\Seen".encode(), text)
        self.assertNotIn(f"UID {uids[2]} ".encode(), text)

    def test_capa_auth_plain_and_errors(self):
        p = poplib.POP3("127.0.0.1", self.daemon.pop3_port, timeout=15)
        self.addCleanup(p.close)
        caps = p.capa()
        for c in ("TOP", "UIDL", "USER", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"):
            self.assertIn(c, caps)
        self.assertEqual(caps["SASL"], ["PLAIN"])
        self.assertEqual(caps["IMPLEMENTATION"], ["ringmail"])
        self.assertEqual(caps["EXPIRE"], ["NEVER"])
        self.assertNotIn("STLS", caps)
        p.user(ALICE)
        with self.assertRaises(poplib.error_proto) as cm:
            p.pass_("wrong")
        self.assertTrue(cm.exception.args[0].startswith(b"-ERR [AUTH]"))
        raw = RawPOP(self.daemon.pop3_port)
        self.addCleanup(raw.close)
        raw.line()
        self.assertEqual(raw.cmd("STAT"), b"-ERR Not logged in.")
        self.assertEqual(raw.cmd("X" * 300), b"-ERR Command line too long.")
        cred = base64.b64encode(f"\0{ALICE}\0{USERS[ALICE]}".encode()).decode()
        self.assertEqual(raw.cmd("AUTH PLAIN"), b"+ ")
        self.assertEqual(raw.cmd(cred), b"+OK Logged in.")
        self.assertEqual(raw.cmd("STAT"), b"+OK 0 0")
        self.assertEqual(raw.cmd("RETR 1"), b"-ERR There's no message 1.")
        self.assertEqual(raw.cmd("QUIT"), b"+OK Logging out.")

    def test_pipelined_commands_across_the_hand_over(self):
        self.deliver(ALICE, self.messages(2, "pipe"))
        raw = RawPOP(self.daemon.pop3_port)
        self.addCleanup(raw.close)
        raw.line()
        raw.sock.sendall(f"USER {ALICE}\r\nPASS {USERS[ALICE]}\r\nSTAT\r\nNOOP\r\n"
                         "QUIT\r\n".encode())
        self.assertEqual(raw.line(), b"+OK")
        self.assertEqual(raw.line(), b"+OK Logged in.")
        self.assertTrue(re.match(rb"\+OK 2 \d+$", raw.line()))
        self.assertEqual(raw.line(), b"+OK")
        self.assertEqual(raw.line(), b"+OK Logging out.")

    def test_curl(self):
        self.deliver(ALICE, self.messages(2, "curl"))
        stored = self.stored_by_subject(ALICE)
        url = f"pop3://127.0.0.1:{self.daemon.pop3_port}/"
        auth = ["-u", f"{ALICE}:{USERS[ALICE]}"]
        out = subprocess.run(["curl", "-sS", "--max-time", "20"] + auth + [url],
                             capture_output=True, check=True).stdout
        self.assertEqual(len(out.splitlines()), 2)  # LIST
        out = subprocess.run(["curl", "-sS", "--max-time", "20"] + auth + [url + "1"],
                             capture_output=True, check=True).stdout
        self.assertIn(out, stored.values())

    def put_big(self):
        """Delivers a small message (creating the Maildir), then stores a
        large one straight into new/ (no S=/W= in its name: the server
        counts its CRLF size itself). Returns the large one's content."""
        self.deliver(ALICE, self.messages(1, "small"))
        big = big_message()
        new = os.path.join(self.daemon.maildir(ALICE), "new")
        with open(os.path.join(new, "1700000000.M1P1.othersoftware"), "wb") as f:
            f.write(big)
        return big

    def test_retr_and_top_of_a_large_message_stream_byte_exact(self):
        big = self.put_big()
        raw = RawPOP(self.daemon.pop3_port, timeout=60)
        self.addCleanup(raw.close)
        raw.line()
        raw.cmd(f"USER {ALICE}")
        self.assertTrue(raw.cmd(f"PASS {USERS[ALICE]}").startswith(b"+OK"))
        # The large file sorts first (oldest name) or second: find it by size.
        raw.sock.sendall(b"LIST\r\n")
        self.assertTrue(raw.line().startswith(b"+OK"))
        sizes = {int(a): int(b) for a, b in
                 (l.split() for l in raw.multiline()[:-3].split(b"\r\n")[:-1])}
        n = [k for k, v in sizes.items() if v == crlf_size(big)]
        self.assertEqual(len(n), 1, sizes)
        n = n[0]
        # Pipelined behind the RETR: answered after the whole response.
        raw.sock.sendall(f"RETR {n}\r\nNOOP\r\nTOP {n} 40\r\nLIST {n}\r\n".encode())
        self.assertEqual(raw.line(), f"+OK {crlf_size(big)} octets".encode())
        body = raw.multiline()
        self.assertEqual(len(body), len(pop3_encode(big)))
        self.assertEqual(body, pop3_encode(big))
        self.assertEqual(raw.line(), b"+OK")
        self.assertEqual(raw.line(), b"+OK")
        self.assertEqual(raw.multiline(), pop3_encode(big, top_lines=40))
        self.assertEqual(raw.line(), f"+OK {n} {crlf_size(big)}".encode())
        self.assertEqual(raw.cmd("QUIT"), b"+OK Logging out.")
        # RETR marked it seen (new/ -> cur/ with S), the content untouched.
        cur = os.path.join(self.daemon.maildir(ALICE), "cur")
        names = [x for x in os.listdir(cur) if x.startswith("1700000000.")]
        self.assertEqual(len(names), 1)
        self.assertTrue(names[0].endswith(":2,S"), names[0])
        self.assertEqual(read(os.path.join(cur, names[0])), big)


class Pop3StalledClientTest(DaemonTestCase):
    """A client that stops reading a streamed RETR is disconnected after the
    idle timeout (the server holds one chunk meanwhile), and its maildrop
    lock is released."""

    extra_args = ("--pop3_idle_timeout=2s",)

    def test_stalled_retr_is_disconnected(self):
        Pop3Test.deliver(self, ALICE, [make_message("small", SENDER, ALICE)])
        big = big_message(mib=8)
        new = os.path.join(self.daemon.maildir(ALICE), "new")
        with open(os.path.join(new, "1700000000.M1P1.othersoftware"), "wb") as f:
            f.write(big)
        raw = RawPOP(self.daemon.pop3_port, timeout=30)
        self.addCleanup(raw.close)
        raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        raw.line()
        raw.cmd(f"USER {ALICE}")
        self.assertTrue(raw.cmd(f"PASS {USERS[ALICE]}").startswith(b"+OK"))
        raw.sock.sendall(b"RETR 1\r\nRETR 2\r\n")
        time.sleep(4)  # read nothing for longer than the idle timeout
        got = b""
        while True:
            chunk = raw.sock.recv(1 << 20)
            if not chunk:
                break
            got += chunk
        # Cut off: less than both responses, no -ERR inside the body.
        self.assertLess(len(got), 2 * len(pop3_encode(big)))
        self.assertNotIn(b"-ERR", got)
        p = poplib.POP3("127.0.0.1", self.daemon.pop3_port, timeout=15)
        self.addCleanup(p.close)
        p.user(ALICE)
        p.pass_(USERS[ALICE])  # not [IN-USE]
        self.assertEqual(p.stat()[0], 2)
        p.quit()


class Pop3TlsTest(DaemonTestCase):
    """The streamed RETR over implicit TLS (TlsStream's drain signal)."""

    tls = True
    extra_args = ("--pop3s_listen=127.0.0.1:0",)

    def test_large_retr_over_pop3s(self):
        Pop3Test.deliver(self, ALICE, [make_message("small", SENDER, ALICE)])
        big = big_message(mib=3)
        new = os.path.join(self.daemon.maildir(ALICE), "new")
        with open(os.path.join(new, "1700000000.M1P1.othersoftware"), "wb") as f:
            f.write(big)
        port = None
        with open(self.daemon.ports_file) as f:
            for line in f.read().splitlines():
                name, addr = line.split()
                if name == "pop3s":
                    port = int(addr.rsplit(":", 1)[1])
        ctx = ssl.create_default_context(cafile=self.daemon.cert_file)
        ctx.check_hostname = False
        raw = RawPOP(port, timeout=60, ctx=ctx)
        self.addCleanup(raw.close)
        raw.line()
        raw.cmd(f"USER {ALICE}")
        self.assertTrue(raw.cmd(f"PASS {USERS[ALICE]}").startswith(b"+OK"))
        for n in (1, 2):
            head = raw.cmd(f"RETR {n}")
            body = raw.multiline()
            if head == f"+OK {crlf_size(big)} octets".encode():
                self.assertEqual(body, pop3_encode(big))
                break
        else:
            self.fail("large message not found")
        raw.sock.sendall(b"TOP 2 3\r\nTOP 1 3\r\nQUIT\r\n")
        tops = [raw.line(), raw.multiline(), raw.line(), raw.multiline()]
        self.assertIn(pop3_encode(big, top_lines=3), tops)
        self.assertEqual(raw.line(), b"+OK Logging out.")
