#!/usr/bin/python3
"""Writes one user's Maildir with a large INBOX for the large-mailbox
benchmark (stdlib only):

  large_tree.py MAILDIR --messages 100000 [--size 600]

Every message goes to cur/ as a Maildir program that already saw it would
leave it: <secs>.M<usecs>P<pid>Q<n>.<host>,S=<size>,W=<vsize>:2,<flags>,
LF line ends, ~--size octets, two in three \\Seen and one in ten \\Flagged.
The file mtimes (the internal dates) spread over the last 1,000 days, so
SEARCH SINCE has something to select. Deterministic: the same arguments
give the same tree.
"""
import argparse
import os
import random
import time

HOST = "bench.ringmail.test"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("maildir")
    ap.add_argument("--messages", type=int, default=100000)
    ap.add_argument("--size", type=int, default=600)
    a = ap.parse_args()
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(a.maildir, sub), exist_ok=True)
    rng = random.Random(21)
    cur = os.path.join(a.maildir, "cur")
    filler = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod "
              "tempor incididunt ut labore et dolore magna aliqua\n")
    now = int(time.time())
    first = now - 1000 * 86400
    step = max(1, (now - first) // max(1, a.messages))
    for i in range(a.messages):
        secs = first + i * step
        head = (f"From: <sender{i % 97}@bench.test>\nTo: <user000@bench.test>\n"
                f"Subject: message {i}\nMessage-ID: <{i}@bench.test>\n\n")
        body = filler * max(1, (a.size - len(head)) // len(filler))
        data = (head + body).encode()
        vsize = len(data) + data.count(b"\n")
        flags = ("F" if i % 10 == 0 else "") + ("S" if i % 3 else "")
        name = (f"{secs}.M{rng.randrange(1000000)}P{1000 + i % 30000}Q{i}.{HOST},"
                f"S={len(data)},W={vsize}:2,{flags}")
        path = os.path.join(cur, name)
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (secs, secs))
    # The directories last changed long before anything reads them, as in a
    # mailbox that is years old.
    old = now - 3600
    for sub in ("cur", "new", "tmp"):
        os.utime(os.path.join(a.maildir, sub), (old, old))


if __name__ == "__main__":
    main()
