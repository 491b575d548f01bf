"""IMAP helpers shared by the IMAP integration tests (stdlib only): a parser
for imaplib's FETCH data, a raw line client for what imaplib cannot send,
and SMTP delivery."""
import datetime
import imaplib
import re
import smtplib
import socket


class Literal(bytes):
    """A literal's octets (distinguishes {n} data from atoms)."""


def _segments(data):
    """imaplib response data -> list of bytes (protocol text) / Literal."""
    out = []
    for d in data:
        if d is None:
            continue
        if isinstance(d, tuple):
            head, lit = d
            m = re.search(rb"\{(\d+)\}$", head)
            assert m, f"literal header without {{n}}: {head!r}"
            out.append(head[: m.start()])
            out.append(Literal(lit))
        else:
            out.append(d)
            out.append(b"\n")  # boundary between response lines
    return out


def _tokens(data):
    for seg in _segments(data):
        if isinstance(seg, Literal):
            yield seg
            continue
        i, n = 0, len(seg)
        while i < n:
            c = seg[i:i + 1]
            if c in b" \r":
                i += 1
            elif c == b"\n":
                yield "EOL"
                i += 1
            elif c in b"()":
                yield c.decode()
                i += 1
            elif c == b'"':
                j, buf = i + 1, bytearray()
                while seg[j:j + 1] != b'"':
                    if seg[j:j + 1] == b"\\":
                        j += 1
                    buf += seg[j:j + 1]
                    j += 1
                yield bytes(buf)
                i = j + 1
            else:
                j, depth = i, 0
                while j < n:
                    ch = seg[j:j + 1]
                    if ch == b"[":
                        depth += 1
                    elif ch == b"]":
                        depth -= 1
                    elif depth == 0 and ch in b" ()\r\n":
                        break
                    j += 1
                atom = seg[i:j].decode()
                yield None if atom.upper() == "NIL" else Atom(atom)
                i = j


class Atom(str):
    """An unquoted atom (a str), e.g. a flag, a number or a FETCH item name."""


def _parse_list(it):
    out = []
    for t in it:
        if t == ")":
            return out
        if t == "(":
            out.append(_parse_list(it))
        elif t == "EOL":
            continue
        else:
            out.append(t)
    raise AssertionError("unterminated list")


def parse_fetch(data):
    """imaplib FETCH data -> list of (seq, {ITEM-NAME: value}). Values are
    nested lists, Atom (str), bytes (quoted strings), Literal or None (NIL)."""
    out = []
    it = iter(_tokens(data))
    for t in it:
        if t == "EOL":
            continue
        seq = int(t)
        assert next(it) == "(", "FETCH without a list"
        items = _parse_list(it)
        d = {}
        for k in range(0, len(items), 2):
            d[str(items[k]).upper()] = items[k + 1]
        out.append((seq, d))
    return out


def fetch_uid(M, uid, items):
    """UID FETCH of one message -> its item dict (raises unless exactly one)."""
    typ, data = M.uid("FETCH", str(uid), items)
    assert typ == "OK", (typ, data)
    got = [d for _, d in parse_fetch(data) if int(d.get("UID", -1)) == int(uid)]
    assert len(got) == 1, f"UID FETCH {uid} {items}: {data!r}"
    return got[0]


def fetch_all(M, items, seqset="1:*"):
    """FETCH seqset items -> {uid: item dict} (items must include UID)."""
    typ, data = M.fetch(seqset, items)
    assert typ == "OK", (typ, data)
    return {int(d["UID"]): d for _, d in parse_fetch(data)}


def flags_of(d):
    return set(str(f) for f in d["FLAGS"])


def internaldate(value):
    """INTERNALDATE string -> aware datetime."""
    if isinstance(value, bytes):
        value = value.decode()
    return datetime.datetime.strptime(value, "%d-%b-%Y %H:%M:%S %z")


def resp_code(data, name):
    """The arguments of response code [NAME ...] in imaplib tagged data."""
    for d in data:
        if isinstance(d, bytes):
            m = re.search(rb"\[" + name.encode() + rb" ([^\]]*)\]", d)
            if m:
                return m.group(1).decode().split()
    return None


def uidvalidity(M, mailbox):
    typ, data = M.status(mailbox, "(UIDVALIDITY UIDNEXT MESSAGES)")
    assert typ == "OK", (typ, data)
    m = re.search(rb"UIDVALIDITY (\d+)", data[0])
    return int(m.group(1))


def smtp_deliver(port, rcpt, msg, sender="sender@client.test"):
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        refused = s.sendmail(sender, [rcpt], msg)
        assert refused == {}, refused


def login(port, user, password):
    M = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    typ, _ = M.login(user, password)
    assert typ == "OK"
    return M


def quiet_logout(M):
    """LOGOUT for a test's cleanup: a session the test (or the server) already
    closed is fine."""
    try:
        M.logout()
    except (imaplib.IMAP4.error, OSError):
        pass


class RawIMAP:
    """Line client for input imaplib refuses to send (overlong lines, bad
    literals, garbage, IDLE)."""

    def __init__(self, port, host="127.0.0.1", timeout=15.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"connection closed; pending {self.buf!r}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def until_tagged(self, tag):
        """Lines up to and including the one tagged `tag`."""
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line.startswith(tag + " "):
                return lines

    def cmd(self, tag, text):
        self.send(f"{tag} {text}\r\n")
        return self.until_tagged(tag)

    def read_until_eof(self, limit=1 << 20):
        """Everything until EOF (or `limit` bytes); returns (data, saw_eof)."""
        data = self.buf
        self.buf = b""
        try:
            while len(data) < limit:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return data, True
                data += chunk
        except (socket.timeout, TimeoutError):
            return data, False
        except OSError:
            return data, True
        return data, False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
