#!/usr/bin/env python3
"""IMAP FETCH and POP3 RETR throughput, TLS vs plaintext, against one real
ringmaild (bench/tls_throughput.sh builds it and calls this).

The daemon runs with a fresh self-signed P-256 certificate
(tests/integration/harness.py), --imaps_listen/--pop3s_listen and the
plaintext ports on 127.0.0.1:0. MESSAGES messages of SIZE octets are
delivered over SMTP to one user first. Then, PASSES times for each of
imap, imaps, pop3, pop3s, one client connection logs in and downloads every
message ROUNDS times:
  IMAP  "FETCH 1:N BODY.PEEK[]" per round (the server streams all literals);
  POP3  "RETR i" for each message, one command at a time.
Timing covers the download only (after login/SELECT). The client is plain
Python on raw sockets (ssl.SSLContext.wrap_socket for TLS, 256 KiB recv,
no per-line parsing), so its own cost stays small next to the server's;
it still shares this machine's cores with the server. The server's CPU
time per pass comes from /proc/PID/stat (utime+stime).

Prints one JSON object per (protocol, pass) and a summary table (best pass
per protocol) on stdout.
"""
import argparse
import json
import os
import smtplib
import socket
import ssl
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
from harness import Daemon  # noqa: E402

USER, PASSWORD = "bench@example.test", "bench-pw"
RECV = 256 * 1024


def server_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_body(size, seq):
    # 76-column lines of printable text, no line starting with '.', no
    # "\r\na OK" anywhere: the raw clients below key on their terminators.
    line = (b"ringmail tls throughput " * 4)[:74] + b"\r\n"
    head = (f"From: bench@example.test\r\nTo: {USER}\r\n"
            f"Subject: bench {seq}\r\nMessage-ID: <b{seq}@example.test>\r\n\r\n").encode()
    body = head + line * max(1, (size - len(head)) // len(line))
    return body


def deliver(port, messages, size):
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
        for i in range(messages):
            s.sendmail("bench@example.test", [USER], make_body(size, i))


class Conn:
    def __init__(self, port, ctx):
        sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = ctx.wrap_socket(sock) if ctx else sock
        self.buf = bytearray()

    def send(self, data):
        self.sock.sendall(data)

    def read_until(self, marker, search_from=0):
        """Reads until `marker` is in the buffer; returns everything up to and
        including it (the rest stays buffered)."""
        start = max(0, search_from)
        while True:
            i = self.buf.find(marker, start)
            if i >= 0:
                out = bytes(self.buf[:i + len(marker)])
                del self.buf[:i + len(marker)]
                return out
            start = max(0, len(self.buf) - len(marker))
            chunk = self.sock.recv(RECV)
            if not chunk:
                raise ConnectionError(f"closed while waiting for {marker!r}")
            self.buf += chunk

    def tagged(self, tag):
        """Reads lines up to the tagged response `tag`; returns them all."""
        out = b""
        while True:
            line = self.read_until(b"\r\n")
            out += line
            if line.startswith(tag + b" "):
                return out

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def imap_pass(port, ctx, messages, rounds):
    c = Conn(port, ctx)
    c.read_until(b"\r\n")  # greeting
    c.send(f"a LOGIN {USER} {PASSWORD}\r\n".encode())
    r = c.tagged(b"a")
    assert b"\na OK" in b"\n" + r, r
    c.send(b"b SELECT INBOX\r\n")
    r = c.tagged(b"b")
    assert b"\nb OK" in r and f"* {messages} EXISTS".encode() in r, r
    total = 0
    t0 = time.perf_counter()
    for r in range(rounds):
        c.send(f"c{r} FETCH 1:{messages} BODY.PEEK[]\r\n".encode())
        data = c.read_until(f"\r\nc{r} OK".encode())
        c.read_until(b"\r\n")
        assert data.count(b" FETCH (") == messages, data[-200:]
        total += len(data)
    elapsed = time.perf_counter() - t0
    c.send(b"d LOGOUT\r\n")
    c.close()
    return total, elapsed


def pop3_pass(port, ctx, messages, rounds):
    c = Conn(port, ctx)
    c.read_until(b"\r\n")
    c.send(f"USER {USER}\r\n".encode())
    assert c.read_until(b"\r\n").startswith(b"+OK")
    c.send(f"PASS {PASSWORD}\r\n".encode())
    r = c.read_until(b"\r\n")
    assert r.startswith(b"+OK"), r
    total = 0
    t0 = time.perf_counter()
    for i in list(range(1, messages + 1)) * rounds:
        c.send(f"RETR {i}\r\n".encode())
        first = c.read_until(b"\r\n")
        assert first.startswith(b"+OK"), first
        total += len(first) + len(c.read_until(b"\r\n.\r\n"))
    elapsed = time.perf_counter() - t0
    c.send(b"QUIT\r\n")
    c.read_until(b"\r\n")
    c.close()
    return total, elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=200)
    ap.add_argument("--size", type=int, default=100 * 1024)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=10,
                    help="downloads of the whole mailbox per connection and pass")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    d = Daemon(extra_args=[f"--threads={args.threads}"], users={USER: PASSWORD},
               imap=True, tls=True, start_timeout=60)
    try:
        d.start()
        ports = {k: int(v.rsplit(":", 1)[1]) for k, v in d.ports.items()}
        deliver(ports["smtp"], args.messages, args.size)
        d.wait_for_count(USER, args.messages, timeout=120)
        ctx = ssl.create_default_context(cafile=d.cert_file)
        ctx.check_hostname = False
        runs = {"imap": (imap_pass, None), "imaps": (imap_pass, ctx),
                "pop3": (pop3_pass, None), "pop3s": (pop3_pass, ctx)}
        best = {}
        for p in range(args.passes):
            for name, (fn, c) in runs.items():
                cpu0 = server_cpu_seconds(d.proc.pid)
                octets, secs = fn(ports[name], c, args.messages, args.rounds)
                cpu = server_cpu_seconds(d.proc.pid) - cpu0
                n = args.messages * args.rounds
                rec = {"protocol": name, "pass": p + 1, "messages": n,
                       "octets": octets, "seconds": round(secs, 4),
                       "MB_per_s": round(octets / secs / 1e6, 1),
                       "msgs_per_s": round(n / secs, 1),
                       "server_cpu_s": round(cpu, 3)}
                print(json.dumps(rec), flush=True)
                if name not in best or rec["MB_per_s"] > best[name]["MB_per_s"]:
                    best[name] = rec
        print(f"\nbest of {args.passes} passes, each {args.rounds} downloads of "
              f"{args.messages} x {args.size} octets over one connection, "
              f"ringmaild --threads={args.threads}, load average "
              f"{open('/proc/loadavg').read().split()[0]}")
        print("| protocol | MB/s | messages/s | server CPU s per pass | server CPU µs/MB |")
        print("|---|---|---|---|---|")
        for name, r in best.items():
            print(f"| {name} | {r['MB_per_s']} | {r['msgs_per_s']} | {r['server_cpu_s']} | "
                  f"{round(r['server_cpu_s'] / (r['octets'] / 1e6) * 1e6)} |")
        d.stop()
    finally:
        d.cleanup()


if __name__ == "__main__":
    main()
