#!/usr/bin/python3
"""POP3 download load client (stdlib asyncio; run with /usr/bin/python3).

  load.py PORT USERS_FILE [--concurrency 100] [--procs 2] [--timeout 600]

USERS_FILE has "address password" per line. Every user's session, as a
typical POP3 client does it, one command at a time: USER, PASS, STAT, UIDL,
RETR 1..n, QUIT. At most --concurrency sessions run at once, spread over
--procs client processes (so the client is not the bottleneck on its own
core). Prints one line:

  RESULT <sessions> <messages> <octets> <seconds> <client cpu seconds> <uidl digest>

where octets are the RETR bodies as received (CRLF, dot-stuffed), seconds
run from the first connection to the last QUIT, and the digest is a hash of
every user's UIDL list (the same on every pass against one server; two
servers differ, as each picks its own UIDVALIDITY on its own copy).
Exits 1 on any protocol error or a count that does not match STAT.
"""
import argparse
import asyncio
import hashlib
import multiprocessing
import resource
import sys
import time

TERM = b"\r\n.\r\n"


class Pop3Error(Exception):
    pass


async def session(port, user, password, timeout):
    r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, limit=1 << 24),
                                  timeout)

    async def line():
        data = await asyncio.wait_for(r.readuntil(b"\r\n"), timeout)
        if not data.startswith(b"+OK"):
            raise Pop3Error(f"{user}: {data!r}")
        return data

    async def cmd(text):
        w.write(text.encode() + b"\r\n")
        return await line()

    async def multi():
        # The status line, then lines up to the terminating ".".
        await line()
        lines = []
        while True:
            l = await asyncio.wait_for(r.readuntil(b"\r\n"), timeout)
            if l == b".\r\n":
                return lines
            lines.append(l)

    try:
        await line()  # greeting
        await cmd(f"USER {user}")
        await cmd(f"PASS {password}")
        stat = await cmd("STAT")
        count = int(stat.split()[1])
        w.write(b"UIDL\r\n")
        uidl = await multi()
        uidls = [l.split()[1] for l in uidl]
        if len(uidls) != count:
            raise Pop3Error(f"{user}: STAT {count} but {len(uidls)} UIDLs")
        octets = 0
        for n in range(1, count + 1):
            w.write(f"RETR {n}\r\n".encode())
            await line()
            body = await asyncio.wait_for(r.readuntil(TERM), timeout)
            octets += len(body) - 3  # without ".\r\n"
        await cmd("QUIT")
        return count, octets, hashlib.sha256(user.encode() + b"\0" + b" ".join(uidls)).digest()
    finally:
        w.close()


async def run_all(port, users, concurrency, timeout):
    sem = asyncio.Semaphore(concurrency)

    async def one(u, p):
        async with sem:
            return await session(port, u, p, timeout)

    return await asyncio.gather(*(one(u, p) for u, p in users))


def worker(args):
    port, users, concurrency, timeout, start_at = args
    # All processes start together, so the interval covers every session.
    time.sleep(max(0.0, start_at - time.time()))
    t0 = time.time()
    results = asyncio.run(run_all(port, users, concurrency, timeout))
    t1 = time.time()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return t0, t1, results, ru.ru_utime + ru.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("users_file")
    ap.add_argument("--concurrency", type=int, default=100)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_args()
    with open(a.users_file) as f:
        users = [tuple(l.split()) for l in f if l.strip()]
    procs = max(1, min(a.procs, len(users)))
    shares = [users[i::procs] for i in range(procs)]
    per_proc = max(1, a.concurrency // procs)
    start_at = time.time() + 0.5
    with multiprocessing.Pool(procs) as pool:
        try:
            out = pool.map(worker, [(a.port, s, per_proc, a.timeout, start_at) for s in shares])
        except (Pop3Error, OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError, ValueError, IndexError) as e:
            print(f"load.py: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
    t0 = min(o[0] for o in out)
    t1 = max(o[1] for o in out)
    results = [r for o in out for r in o[2]]
    cpu = sum(o[3] for o in out)
    messages = sum(r[0] for r in results)
    octets = sum(r[1] for r in results)
    digest = hashlib.sha256(b"".join(sorted(r[2] for r in results))).hexdigest()[:16]
    print(f"RESULT {len(results)} {messages} {octets} {t1 - t0:.3f} {cpu:.2f} {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
