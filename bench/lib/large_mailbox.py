#!/usr/bin/python3
"""The large-mailbox workload of bench/compare (issue 21), stdlib only.

One user's INBOX of --messages messages (large_tree.py), the same tree for
both servers; each step is timed from the command sent to its tagged reply
read completely, by a raw-socket client that does not parse what it reads
(Python's imaplib would dominate a 40 MB FETCH):

  cold SELECT          first SELECT of the tree, no index of the server's own
  warm SELECT          SELECT from a new session (new connection and login,
                       not timed), the user having no other session
  warm SELECT, kept    the same while another session of the user stays
                       logged in (ringmail then keeps the folder in memory)
  STATUS               STATUS INBOX (MESSAGES UNSEEN UIDNEXT) from a new session
  FETCH 1:* (FLAGS)    in a selected session
  UID FETCH last 100   UID FETCH <uidnext-100>:* (FLAGS)
  UID SEARCH UNSEEN
  UID SEARCH SINCE     the last 30 days
  POP3 login+STAT      PASS (the maildrop opens) then STAT
  POP3 UIDL            UIDL of every message

Used by compare.py (run_large); also runnable against a running server:

  large_mailbox.py --imap HOST:PORT [--pop3 HOST:PORT] --user U --password P
"""
import argparse
import socket
import statistics
import time

RECV = 1 << 20


class Conn:
    """A line-protocol connection that reads until a terminating line."""

    def __init__(self, port, host="127.0.0.1", timeout=600):
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.n = 0

    def read_until(self, end):
        """Reads until a line starting with `end` has arrived; returns every
        byte up to and including that line (searching only new bytes)."""
        buf = bytearray(self.buf)
        self.buf = b""
        needle = b"\r\n" + end
        scanned = 0  # bytes of buf already searched for `needle`
        line = 0 if buf.startswith(end) else -1
        while True:
            if line < 0:
                i = buf.find(needle, max(0, scanned - len(needle)))
                scanned = len(buf)
                if i >= 0:
                    line = i + 2
            if line >= 0:
                k = buf.find(b"\r\n", line)
                if k >= 0:
                    self.buf = bytes(buf[k + 2:])
                    return bytes(buf[:k + 2])
            c = self.s.recv(RECV)
            if not c:
                raise ConnectionError("connection closed")
            if line < 0 and not buf and c.startswith(end):
                line = 0
            buf += c

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


class Imap(Conn):
    def __init__(self, port, user, password, host="127.0.0.1"):
        super().__init__(port, host)
        self.read_until(b"* OK")
        self.cmd(f'LOGIN "{user}" "{password}"')

    def cmd(self, text):
        """Sends one command; returns (seconds, reply bytes). Raises unless
        the tagged reply is OK."""
        self.n += 1
        tag = f"b{self.n}".encode()
        t = time.perf_counter()
        self.s.sendall(tag + b" " + text.encode() + b"\r\n")
        data = self.read_until(tag + b" ")
        dt = time.perf_counter() - t
        nl = data.rfind(b"\r\n", 0, len(data) - 2)
        last = data[nl + 2:] if nl >= 0 else data
        if not last.startswith(tag + b" OK"):
            raise RuntimeError(f"{text}: {last[:200]!r}")
        return dt, data

    def logout(self):
        try:
            self.cmd("LOGOUT")
        except (RuntimeError, OSError, ConnectionError):
            pass
        self.close()


class Pop3(Conn):
    def __init__(self, port, host="127.0.0.1"):
        super().__init__(port, host)
        self.read_until(b"+OK")

    def cmd(self, text, multi=False):
        t = time.perf_counter()
        self.s.sendall(text.encode() + b"\r\n")
        data = self.read_until(b"")  # the status line
        if multi and data.startswith(b"+OK"):
            data += self.read_until(b".")
        dt = time.perf_counter() - t
        return dt, data


def code(data, name):
    i = data.find(b"[" + name.encode() + b" ")
    return int(data[i + len(name) + 2:data.find(b"]", i)]) if i >= 0 else None


def exists(data):
    for line in data.split(b"\r\n"):
        if line.endswith(b" EXISTS"):
            return int(line.split()[1])
    return None


STEPS = ["cold SELECT", "warm SELECT", "warm SELECT, kept", "STATUS", "FETCH 1:* (FLAGS)",
         "UID FETCH last 100 (FLAGS)", "UID SEARCH UNSEEN", "UID SEARCH SINCE (30 days)",
         "POP3 login+STAT", "POP3 UIDL"]


def measure_memory(imap_port, user, password, messages, sample, settle=20.0):
    """On a freshly started server whose index of the folder exists: calls
    sample(label) at "start", "selected" (a session has the folder selected
    and fetched every message's flags), and "cached" (that session left,
    another of the user stays logged in, so ringmail keeps the folder
    state; Dovecot keeps nothing). Waits `settle` seconds before the last
    sample so the allocator can return what the selected session freed
    (ringmaild's jemalloc purges dirty pages from a background thread over
    its 10 s decay time: measured, the pages of a finished FETCH 1:* left
    11-14 s after it; at 12 s they were often still there)."""
    sample("start")
    keeper = Imap(imap_port, user, password)
    c = Imap(imap_port, user, password)
    _, data = c.cmd("SELECT INBOX")
    if exists(data) != messages:
        raise RuntimeError("SELECT saw the wrong number of messages")
    c.cmd("FETCH 1:* (FLAGS)")
    sample("selected")
    c.logout()
    time.sleep(settle)
    sample("cached")
    keeper.logout()


def measure(imap_port, pop3_port, user, password, messages, repeats=5, cold=True, log=print,
            memory=None):
    """One server: every step, `repeats` times where it can be repeated.
    Returns {step: [seconds...]} and notes."""
    out = {s: [] for s in STEPS}
    notes = {}

    def new_select(kept=False):
        c = Imap(imap_port, user, password)
        dt, data = c.cmd("SELECT INBOX")
        n = exists(data)
        if n != messages:
            raise RuntimeError(f"SELECT saw {n} messages, not {messages}")
        return c, dt, data

    if cold:
        c, dt, _ = new_select()
        out["cold SELECT"].append(dt)
        log(f"cold SELECT {dt * 1000:.1f} ms")
        c.logout()
        time.sleep(1.0)  # let the server finish writing its index
    for _ in range(repeats):
        c, dt, _ = new_select()
        out["warm SELECT"].append(dt)
        c.logout()
        time.sleep(0.2)  # the previous session's close, as a reconnecting client
    keeper = Imap(imap_port, user, password)
    for _ in range(repeats):
        c, dt, _ = new_select()
        out["warm SELECT, kept"].append(dt)
        c.logout()
    for _ in range(repeats):
        c = Imap(imap_port, user, password)
        dt, data = c.cmd("STATUS INBOX (MESSAGES UNSEEN UIDNEXT)")
        out["STATUS"].append(dt)
        c.logout()
    c, _, data = new_select()
    uidnext = code(data, "UIDNEXT")
    since = time.strftime("%d-%b-%Y", time.gmtime(time.time() - 30 * 86400))
    for _ in range(repeats):
        dt, data = c.cmd("FETCH 1:* (FLAGS)")
        out["FETCH 1:* (FLAGS)"].append(dt)
        notes["fetch_bytes"] = len(data)
        dt, _ = c.cmd(f"UID FETCH {max(1, uidnext - 100)}:* (FLAGS)")
        out["UID FETCH last 100 (FLAGS)"].append(dt)
        dt, data = c.cmd("UID SEARCH UNSEEN")
        out["UID SEARCH UNSEEN"].append(dt)
        notes["unseen"] = data.count(b" ") - 2
        dt, _ = c.cmd(f"UID SEARCH SINCE {since}")
        out["UID SEARCH SINCE (30 days)"].append(dt)
    c.logout()
    keeper.logout()
    time.sleep(0.5)
    if pop3_port:
        for _ in range(repeats):
            p = Pop3(pop3_port)
            p.cmd(f"USER {user}")
            t = time.perf_counter()
            _, data = p.cmd(f"PASS {password}")
            if not data.startswith(b"+OK"):
                raise RuntimeError(f"POP3 PASS: {data[:200]!r}")
            _, data = p.cmd("STAT")
            out["POP3 login+STAT"].append(time.perf_counter() - t)
            if int(data.split()[1]) != messages:
                raise RuntimeError(f"POP3 STAT: {data[:100]!r}")
            dt, data = p.cmd("UIDL", multi=True)
            out["POP3 UIDL"].append(dt)
            p.cmd("QUIT")
            p.close()
            time.sleep(0.2)
    return out, notes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--imap", required=True)
    ap.add_argument("--pop3")
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--messages", type=int, required=True)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-cold", action="store_true")
    a = ap.parse_args()
    res, notes = measure(int(a.imap.rsplit(":", 1)[1]),
                         int(a.pop3.rsplit(":", 1)[1]) if a.pop3 else None,
                         a.user, a.password, a.messages, a.repeats, cold=not a.no_cold)
    for s in STEPS:
        v = res[s]
        if v:
            print(f"{s:<30} median {statistics.median(v) * 1000:9.2f} ms  "
                  f"(min {min(v) * 1000:.2f}, max {max(v) * 1000:.2f}, n={len(v)})")
    print(notes)


if __name__ == "__main__":
    main()
