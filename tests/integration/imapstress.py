"""A raw IMAP client for stress tests that follows one session's view of its
selected mailbox and checks every response it reads (stdlib only; used by
test_imap_keyword_stress.py).

What is checked, per untagged response (violations go to Knowledge):
- FLAGS in FETCH, `* FLAGS` and PERMANENTFLAGS: every token is a system flag
  or a keyword some client sent to that very mailbox (STORE or APPEND);
- \\Recent (RFC 3501 §2.3.2): one message is \\Recent in at most one session
  (connection), keyed by (user, mailbox, UIDVALIDITY, UID);
- `* n FETCH` / `* n EXPUNGE` name 1 <= n <= EXISTS; EXISTS never shrinks
  without EXPUNGE; a sequence number keeps its UID and UIDs ascend;
- nothing unparseable, no unexpected continuation, `* BYE`, `* NO`/`* BAD`;
- tagged BAD always, tagged NO unless the caller allows its code.
"""
import re
import socket
import threading

SYSTEM_FLAGS = frozenset(["\\seen", "\\answered", "\\flagged", "\\deleted", "\\draft",
                          "\\recent"])
MAX_LINE = 1 << 20
MAX_VIOLATIONS = 200


class ProtocolViolation(Exception):
    """The session cannot go on (stream out of sync, closed, timed out)."""


def canonical_folder(name):
    return "INBOX" if name.upper() == "INBOX" else name


class Knowledge:
    """What every session of one run shares: keywords sent per mailbox,
    \\Recent sightings, violations and counters."""

    def __init__(self):
        self.lock = threading.Lock()
        self.keywords = {}    # (user, folder) -> {lowercase keyword}
        self.recent = {}      # (user, folder, uidvalidity, uid) -> first session id
        self.violations = []  # "session N: KIND: text", distinct, the first MAX_VIOLATIONS
        self.kinds = {}       # KIND -> how many (duplicates included)
        self.counts = {}

    def allow_keywords(self, user, folder, names):
        """Called before a command that sends `names` to the folder."""
        with self.lock:
            s = self.keywords.setdefault((user, canonical_folder(folder)), set())
            s.update(n.lower() for n in names)

    def keyword_known(self, user, folder, name):
        with self.lock:
            return name.lower() in self.keywords.get((user, canonical_folder(folder)), ())

    def saw_recent(self, key, sid):
        """Returns the other session that had \\Recent for key, or None."""
        with self.lock:
            first = self.recent.setdefault(key, sid)
            return None if first == sid else first

    def violation(self, sid, kind, text):
        line = f"session {sid}: {kind}: {text}"
        with self.lock:
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
            if len(self.violations) < MAX_VIOLATIONS and line not in self.violations:
                self.violations.append(line)

    def report(self, examples=4):
        """Counts per kind, then a few examples of each."""
        with self.lock:
            out = [f"violations by kind: {self.kinds}; counters: {self.counts}"]
            for kind in self.kinds:
                out += [v for v in self.violations if f": {kind}: " in v][:examples]
        return "\n".join(out)

    def count(self, name, n=1):
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + n


# ------------------------------------------------------------------ parsing
class Atom(str):
    """An atom (flags, item names, numbers, NIL)."""


class Literal(bytes):
    """A literal's octets."""


def _value(buf, i):
    """Parses one IMAP value at buf[i]; returns (value, next index). Raises
    ValueError on anything malformed."""
    c = buf[i:i + 1]
    if c == b"(":
        out, i = [], i + 1
        while True:
            while buf[i:i + 1] == b" ":
                i += 1
            if buf[i:i + 1] == b")":
                return out, i + 1
            if i >= len(buf):
                raise ValueError("unterminated list")
            v, i = _value(buf, i)
            out.append(v)
    if c == b'"':
        j, s = i + 1, bytearray()
        while True:
            d = buf[j:j + 1]
            if not d or d in b"\r\n":
                raise ValueError("unterminated quoted string")
            if d == b'"':
                return bytes(s), j + 1
            if d == b"\\":
                j += 1
                d = buf[j:j + 1]
            s += d
            j += 1
    if c == b"{":
        m = re.compile(rb"\{(\d+)\+?\}\r\n").match(buf, i)
        if not m:
            raise ValueError("bad literal header")
        n = int(m.group(1))
        start = m.end()
        if start + n > len(buf):
            raise ValueError("short literal")
        return Literal(buf[start:start + n]), start + n
    # Atom; a section "[...]" (BODY[HEADER.FIELDS (TO)]) may hold spaces.
    j, depth = i, 0
    while j < len(buf):
        d = buf[j:j + 1]
        if d == b"[":
            depth += 1
        elif d == b"]":
            depth -= 1
        elif depth == 0 and d in b" ()\r\n":
            break
        elif d in b"\r\n" or (depth == 0 and d in b'{"'):
            raise ValueError(f"bad byte {d!r} in atom")
        j += 1
    if j == i:
        raise ValueError(f"empty atom at {buf[i:i + 20]!r}")
    return Atom(buf[i:j].decode("latin-1")), j


def parse_fetch(resp):
    """`* n FETCH (...)` -> (n, {ITEM: value}); ValueError if malformed."""
    m = re.match(rb"\* (\d+) FETCH ", resp)
    if not m:
        raise ValueError("not a FETCH")
    items, end = _value(resp, m.end())
    if not isinstance(items, list) or len(items) % 2:
        raise ValueError("FETCH items are not name/value pairs")
    if resp[end:] not in (b"\r\n", b"\n"):
        raise ValueError(f"bytes after the FETCH list: {resp[end:end + 40]!r}")
    out = {}
    for k in range(0, len(items), 2):
        name = items[k]
        if not isinstance(name, Atom):
            raise ValueError(f"FETCH item name {name!r}")
        out[name.upper()] = items[k + 1]
    return int(m.group(1)), out


def flag_list(v):
    """A parsed FLAGS value -> list of str; ValueError if not a list of atoms."""
    if not isinstance(v, list) or not all(isinstance(t, Atom) for t in v):
        raise ValueError(f"FLAGS is not a list of atoms: {v!r}")
    return list(v)


# ------------------------------------------------------------------ session
class Session:
    """One IMAP connection. `sid` must be unique within the run."""

    def __init__(self, port, user, password, know, sid, timeout=30.0):
        self.user, self.know, self.sid = user, know, sid
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.tag = 0
        self.logging_out = False
        self.selected = None
        self.uidvalidity = None
        self.exists = 0
        self.uids = []  # by sequence number - 1; None while unknown
        greeting = self.read_response()
        if not greeting.startswith(b"* OK"):
            self.fail(f"greeting {greeting!r}")
        self.command(f'LOGIN "{user}" "{password}"')

    # -- I/O -------------------------------------------------------------
    def _readline(self):
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line, self.buf = self.buf[:nl + 1], self.buf[nl + 1:]
                return line
            if len(self.buf) > MAX_LINE:
                self.fail("response line over 1 MiB")
            try:
                chunk = self.sock.recv(65536)
            except OSError as e:
                self.fail(f"read failed: {e!r}")
            if not chunk:
                self.fail(f"connection closed by the server (pending {self.buf[:100]!r})")
            self.buf += chunk

    def _readexact(self, n):
        while len(self.buf) < n:
            try:
                chunk = self.sock.recv(max(65536, n - len(self.buf)))
            except OSError as e:
                self.fail(f"read failed: {e!r}")
            if not chunk:
                self.fail("connection closed inside a literal")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self):
        """One response with its literals inline (raw bytes, CRLF kept)."""
        data = bytearray()
        while True:
            line = self._readline()
            data += line
            m = re.search(rb"\{(\d+)\+?\}\r?\n$", line)
            if not m:
                return bytes(data)
            data += self._readexact(int(m.group(1)))

    def send(self, data):
        try:
            self.sock.sendall(data.encode() if isinstance(data, str) else data)
        except OSError as e:
            self.fail(f"write failed: {e!r}")

    def fail(self, text):
        self.know.violation(self.sid, "protocol", text)
        raise ProtocolViolation(text)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- commands --------------------------------------------------------
    def _until_tagged(self, tag, allow_no, cmd):
        while True:
            resp = self.read_response()
            if resp.startswith(tag.encode() + b" "):
                status = resp[len(tag) + 1:].split(b" ", 1)[0]
                if status == b"OK":
                    return "OK", resp
                if status == b"NO" and any(c.encode() in resp for c in allow_no):
                    return "NO", resp
                self.know.violation(self.sid, "command_failed",
                                    f"{cmd[:80]!r} -> {resp[:200]!r}")
                return status.decode("latin-1"), resp
            self.observe(resp)

    def command(self, text, allow_no=()):
        """Sends `text` tagged; returns ("OK"|"NO"|"BAD", tagged line). A NO
        whose line holds one of `allow_no` is not a violation."""
        self.tag += 1
        tag = f"S{self.tag}"
        self.send(f"{tag} {text}\r\n")
        return self._until_tagged(tag, allow_no, text)

    def select(self, folder):
        self.selected, self.uidvalidity, self.exists, self.uids = folder, None, 0, []
        st, _ = self.command(f"SELECT {folder}")
        if st != "OK":
            self.selected = None
            return False
        if self.uidvalidity is None:
            self.fail(f"SELECT {folder} gave no UIDVALIDITY")
        if self.exists:
            self.command("UID FETCH 1:* (UID FLAGS)")
        return True

    def unselect(self):
        self.command("UNSELECT")
        self.selected, self.uidvalidity, self.exists, self.uids = None, None, 0, []

    def append(self, folder, flags, message):
        """APPEND with a synchronizing literal; returns the tagged status."""
        self.know.allow_keywords(self.user, folder,
                                 [f for f in flags if not f.startswith("\\")])
        self.tag += 1
        tag = f"S{self.tag}"
        cmd = f"APPEND {folder} ({' '.join(flags)}) {{{len(message)}}}"
        self.send(f"{tag} {cmd}\r\n")
        while True:
            resp = self.read_response()
            if resp.startswith(b"+"):
                break
            if resp.startswith(tag.encode() + b" "):
                self.know.violation(self.sid, "command_failed", f"{cmd!r} -> {resp[:200]!r}")
                return "NO"
            self.observe(resp)
        self.send(message + b"\r\n")
        return self._until_tagged(tag, (), cmd)[0]

    def logout(self):
        self.logging_out = True
        self.command("LOGOUT")
        self.close()

    def known_uids(self):
        return [u for u in self.uids if u is not None]

    # -- checks ----------------------------------------------------------
    def check_flags(self, flags, where, allow_star=False):
        for f in flags:
            low = f.lower()
            if low in SYSTEM_FLAGS or (allow_star and f == "\\*"):
                continue
            if f.startswith("\\"):
                self.know.violation(self.sid, "unknown_system_flag", f"{where}: {f!r}")
            elif not self.know.keyword_known(self.user, self.selected or "", f):
                self.know.violation(
                    self.sid, "unknown_keyword", f"{where}: {f!r}, which no client set in "
                    f"{self.user}/{self.selected}")

    def observe(self, resp):
        """Checks one untagged response and updates the session's view."""
        if resp.startswith(b"+"):
            self.fail(f"unexpected continuation {resp[:100]!r}")
        if not resp.startswith(b"* "):
            self.fail(f"not an IMAP response: {resp[:200]!r}")
        m = re.match(rb"\* (\d+) (EXISTS|EXPUNGE|RECENT|FETCH)\b", resp)
        if m:
            n, what = int(m.group(1)), m.group(2)
            if what == b"EXISTS":
                if n < self.exists:
                    self.know.violation(self.sid, "exists_shrank",
                                        f"EXISTS {n} after {self.exists} without EXPUNGE")
                    self.uids = self.uids[:n]
                self.uids += [None] * (n - len(self.uids))
                self.exists = n
            elif what == b"EXPUNGE":
                if not 1 <= n <= self.exists:
                    self.fail(f"EXPUNGE {n} with EXISTS {self.exists}")
                del self.uids[n - 1]
                self.exists -= 1
            elif what == b"FETCH":
                self.observe_fetch(resp)
            return
        if resp.startswith(b"* FLAGS "):
            try:
                flags, _ = _value(resp, 8)
                self.check_flags(flag_list(flags), "FLAGS response")
            except (ValueError, IndexError) as e:
                self.know.violation(self.sid, "malformed", f"FLAGS ({e}): {resp[:200]!r}")
            return
        if resp.startswith(b"* OK [PERMANENTFLAGS "):
            try:
                flags, _ = _value(resp, len(b"* OK [PERMANENTFLAGS "))
                self.check_flags(flag_list(flags), "PERMANENTFLAGS", allow_star=True)
            except (ValueError, IndexError) as e:
                self.know.violation(self.sid, "malformed",
                                    f"PERMANENTFLAGS ({e}): {resp[:200]!r}")
            return
        m = re.match(rb"\* OK \[UIDVALIDITY (\d+)\]", resp)
        if m:
            self.uidvalidity = int(m.group(1))
            return
        if resp.startswith(b"* BYE") and self.logging_out:
            return
        if re.match(rb"\* (OK|CAPABILITY|SEARCH|LIST|LSUB|STATUS|ENABLED|ID|NAMESPACE)\b",
                    resp):
            return
        self.know.violation(self.sid, "unexpected_response", f"{resp[:200]!r}")

    def observe_fetch(self, resp):
        try:
            n, items = parse_fetch(resp)
            flags = flag_list(items["FLAGS"]) if "FLAGS" in items else None
            uid = int(items["UID"]) if "UID" in items else None
        except (ValueError, IndexError, KeyError) as e:
            self.know.violation(self.sid, "malformed", f"FETCH ({e}): {resp[:300]!r}")
            return
        if not 1 <= n <= self.exists:
            self.know.violation(self.sid, "fetch_beyond_exists",
                                f"EXISTS {self.exists} in {self.selected}: {resp[:120]!r}")
            return
        known = self.uids[n - 1]
        if uid is not None:
            if known is not None and known != uid:
                self.know.violation(self.sid, "uid_changed",
                                    f"seq {n} was UID {known}, FETCH says {uid}")
            lower = next((u for u in reversed(self.uids[:n - 1]) if u is not None), 0)
            higher = next((u for u in self.uids[n:] if u is not None), None)
            if uid <= lower or (higher is not None and uid >= higher):
                self.know.violation(self.sid, "uid_order",
                                    f"UID {uid} at seq {n}, between {lower} and {higher}")
            self.uids[n - 1] = uid
        else:
            uid = known
        if flags is None:
            return
        self.know.count("fetch_flags")
        self.check_flags(flags, f"FETCH {n} (UID {uid}) in {self.selected}")
        if "\\recent" in (f.lower() for f in flags) and uid is not None:
            self.know.count("recent_seen")
            key = (self.user, canonical_folder(self.selected), self.uidvalidity, uid)
            other = self.know.saw_recent(key, self.sid)
            if other is not None:
                self.know.violation(self.sid, "recent_twice",
                                    f"{key} was \\Recent in session {other} already "
                                    "(RFC 3501 §2.3.2: one session only)")
