#!/usr/bin/python3
"""Writes a POP3 benchmark mail tree in ringmail's layout (stdlib only).

  gen_tree.py DATA_DIR PASSWD_FILE USERS_FILE --users 100 --messages 200 --size 20480

DATA_DIR/mail/bench.test/userNNN/Maildir/{cur,new,tmp}, each message in new/
named <secs>.M<usecs>P<pid>Q0_<n>.<host>,S=<size>,W=<vsize> (vsize counts
CRLF line ends), LF line ends, about --size octets, with some lines that
need dot-stuffing. PASSWD_FILE is ringmail's passwd-file ({PLAIN});
USERS_FILE is "address password" per line for the load client and Dovecot.
"""
import argparse
import os
import random

HOST = "bench.ringmail.test"
DOMAIN = "bench.test"
WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod "
         "tempor incididunt ut labore et dolore magna aliqua enim ad minim veniam").split()


def body(rng, size):
    lines = []
    n = 0
    while n < size:
        if rng.random() < 0.02:
            line = "." + " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 8)))
        else:
            line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 13)))
        lines.append(line)
        n += len(line) + 1
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir")
    ap.add_argument("passwd_file")
    ap.add_argument("users_file")
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--messages", type=int, default=200)
    ap.add_argument("--size", type=int, default=20480)
    a = ap.parse_args()
    rng = random.Random(1939)
    # A few bodies reused with distinct headers: generation stays fast, and
    # every message still differs (headers) and varies in size.
    bodies = [body(rng, a.size - 400 + rng.randint(-512, 512)) for _ in range(16)]
    secs = 1700000000
    seq = 0
    pid = os.getpid()
    with open(a.passwd_file, "w") as pw, open(a.users_file, "w") as uf:
        for u in range(a.users):
            local = f"user{u:03d}"
            addr = f"{local}@{DOMAIN}"
            password = f"bench-{u:03d}"
            pw.write(f"{addr}:{{PLAIN}}{password}::::::\n")
            uf.write(f"{addr} {password}\n")
            md = os.path.join(a.data_dir, "mail", DOMAIN, local, "Maildir")
            for sub in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(md, sub), exist_ok=True)
            for m in range(a.messages):
                seq += 1
                head = (f"Return-Path: <sender{m % 7}@client.test>\n"
                        f"Received: from client.test ([127.0.0.1]) by mx.ringmail.test\n"
                        f"\twith ESMTP id {seq:08x}; Tue, 14 Nov 2023 22:13:20 +0000\n"
                        f"From: <sender{m % 7}@client.test>\n"
                        f"To: <{addr}>\n"
                        f"Subject: benchmark message {m} for {local}\n"
                        f"Message-ID: <{seq}.bench@client.test>\n"
                        f"Date: Tue, 14 Nov 2023 22:13:20 +0000\n\n")
                data = (head + bodies[seq % len(bodies)]).encode()
                vsize = len(data) + data.count(b"\n")
                t = secs + seq // 1000
                name = (f"{t}.M{seq % 1000000:06d}P{pid}Q0_{seq}.{HOST},"
                        f"S={len(data)},W={vsize}")
                path = os.path.join(md, "new", name)
                with open(path, "wb") as f:
                    f.write(data)
                os.utime(path, (t, t))


if __name__ == "__main__":
    main()
