"""Issue 15: concurrent IMAP sessions on the same mailboxes adding new
keywords (STORE +FLAGS, APPEND with flags), fetching FLAGS with bodies,
expunging, while SMTP and APPEND add mail. Every response is checked by
imapstress.Session: a FLAGS token must be a system flag or a keyword some
client sent to that mailbox (garbage here was a heap-use-after-free: keyword
names were views into the folder's dovecot-keywords table, replaced while a
FETCH waited for its file read), one message is \\Recent in one session only
(RFC 3501 §2.3.2), sequence numbers stay within EXISTS, no BAD, no NO but
NO [LIMIT] for a full keyword table (26 per Maildir folder). Folders are
rotated: when a folder's table is full a new one is created, so
dovecot-keywords keeps being rewritten for the whole run.

RINGMAIL_STRESS_SECONDS (default 12) sets the run time. Under an ASan build
(bazel build --config=asan //server:ringmaild) the daemon's report fails the
test through harness.Daemon.stop."""
import os
import random
import smtplib
import threading
import time

from harness import USERS, DaemonTestCase
from imapstress import Knowledge, ProtocolViolation, Session

SECONDS = float(os.environ.get("RINGMAIL_STRESS_SECONDS", "12"))
STRESS_USERS = ("alice@example.test", "bob@example.test")
SESSIONS_PER_USER = 5
# Long names: each is its own heap block, so a freed one shows as garbage.
KEYWORD_TAIL = "_stress-keyword-with-a-long-name"

OPS = (("fetch_body", 22), ("fetch_header", 10), ("store_new", 18), ("store_old", 8),
       ("append", 14), ("noop", 10), ("select", 8), ("expunge", 6), ("unselect", 2),
       ("logout", 2))


def message(rng, n, rcpt):
    body = "\r\n".join("line %d %s" % (i, "x" * rng.randint(0, 70))
                       for i in range(rng.randint(3, 30)))
    return (f"From: <stress@client.test>\r\nTo: <{rcpt}>\r\nSubject: stress {n}\r\n"
            f"Message-ID: <stress.{n}@client.test>\r\n\r\n{body}\r\n").encode()


class Run:
    """Folders per user and the keyword counter, shared by the workers."""

    def __init__(self, know):
        self.know = know
        self.lock = threading.Lock()
        self.folders = {u: ["INBOX", "kw1", "kw2"] for u in STRESS_USERS}
        self.full = set()   # (user, folder) whose keyword table refused a new one
        self.creating = set()
        self.next_keyword = 0
        self.next_message = 0
        self.next_sid = 0
        self.deadline = time.monotonic() + SECONDS

    def new_keywords(self, n):
        with self.lock:
            first = self.next_keyword
            self.next_keyword += n
        return [f"k{first + i:04d}{KEYWORD_TAIL}" for i in range(n)]

    def message_number(self):
        with self.lock:
            self.next_message += 1
            return self.next_message

    def sid(self):
        with self.lock:
            self.next_sid += 1
            return self.next_sid

    def pick_folder(self, user, rng):
        with self.lock:
            folders = list(self.folders[user])
            open_ = [f for f in folders if (user, f) not in self.full]
        r = rng.random()
        if open_ and r < 0.6:
            return rng.choice(open_[-2:])
        return rng.choice(folders)

    def table_full(self, session, folder):
        """NO [LIMIT]: remember it; the first to see the newest folder fill
        up creates the next one."""
        user = session.user
        with self.lock:
            self.full.add((user, folder))
            if folder != self.folders[user][-1] or user in self.creating:
                return
            self.creating.add(user)
            name = f"kw{len(self.folders[user]) + 1}"
        try:
            st, _ = session.command(f"CREATE {name}", allow_no=("[ALREADYEXISTS]",))
            if st in ("OK", "NO"):
                with self.lock:
                    if name not in self.folders[user]:
                        self.folders[user].append(name)
                session.know.count("folders_created")
        finally:
            with self.lock:
                self.creating.discard(user)


def run_op(run, s, op, rng):
    know = run.know
    if op in ("select", "unselect", "logout") or s.selected is None:
        if op == "unselect" and s.selected is not None:
            s.unselect()
        elif op == "logout":
            return False
        else:
            s.select(run.pick_folder(s.user, rng))
        return True
    if op == "noop":
        s.command("NOOP")
        if s.exists:
            s.command("FETCH 1:* (UID FLAGS)")
    elif op == "fetch_body":
        if s.exists:
            know.count("fetch_body")
            s.command(rng.choice(["FETCH 1:* (FLAGS BODY.PEEK[])",
                                  "UID FETCH 1:* (UID FLAGS BODY.PEEK[])",
                                  "FETCH 1:* (FLAGS UID RFC822.SIZE BODY.PEEK[TEXT])"]))
    elif op == "fetch_header":
        if s.exists:
            know.count("fetch_header")
            s.command("UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (TO)])")
    elif op in ("store_new", "store_old"):
        uids = s.known_uids()
        if not uids:
            return True
        targets = rng.sample(uids, min(len(uids), rng.randint(1, 4)))
        if op == "store_new":
            names = run.new_keywords(rng.randint(1, 2))
            know.count("new_keywords", len(names))
        else:
            with know.lock:
                pool = sorted(know.keywords.get((s.user, s.selected), ()))
            if not pool:
                return True
            names = rng.sample(pool, min(len(pool), 2))
        know.allow_keywords(s.user, s.selected, names)
        sign = "+" if op == "store_new" or rng.random() < 0.7 else "-"
        st, _ = s.command(f"UID STORE {','.join(map(str, targets))} {sign}FLAGS "
                          f"({' '.join(names)})", allow_no=("[LIMIT]",))
        if st == "NO":
            know.count("keyword_table_full")
            run.table_full(s, s.selected)
        else:
            know.count("stores")
    elif op == "append":
        folder = s.selected if rng.random() < 0.7 else run.pick_folder(s.user, rng)
        flags = rng.sample(["\\Seen", "\\Flagged", "\\Answered", "\\Draft"], rng.randint(0, 2))
        flags += run.new_keywords(rng.randint(0, 2))
        with know.lock:
            pool = sorted(know.keywords.get((s.user, folder), ()))
        if pool and rng.random() < 0.5:
            flags.append(rng.choice(pool))
        n = run.message_number()
        if s.append(folder, flags, message(rng, n, s.user)) == "OK":
            know.count("appends")
    elif op == "expunge":
        uids = s.known_uids()
        if len(uids) < 4:
            return True
        targets = rng.sample(uids, min(len(uids) // 4, 3))
        s.command(f"UID STORE {','.join(map(str, targets))} +FLAGS.SILENT (\\Deleted)")
        s.command("EXPUNGE")
        know.count("expunges")
    return True


def worker(run, port, user, seed):
    rng = random.Random(seed)
    names, weights = zip(*OPS)
    while time.monotonic() < run.deadline:
        s = None
        try:
            s = Session(port, user, USERS[user], run.know, run.sid())
            run.know.count("sessions")
            s.select(run.pick_folder(user, rng))
            while time.monotonic() < run.deadline:
                if not run_op(run, s, rng.choices(names, weights)[0], rng):
                    break
            s.logout()
        except ProtocolViolation:
            time.sleep(0.05)  # recorded; start a new session
        except Exception as e:  # noqa: BLE001 - any crash of the client is a failure
            run.know.violation(s.sid if s else "?", "client_error", repr(e))
            time.sleep(0.05)
        finally:
            if s is not None:
                s.close()


def deliverer(run, port):
    rng = random.Random(99)
    while time.monotonic() < run.deadline:
        rcpt = rng.choice(STRESS_USERS)
        n = run.message_number()
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                refused = smtp.sendmail("stress@client.test", [rcpt], message(rng, n, rcpt))
            if refused:
                run.know.violation("smtp", "smtp", f"refused {refused}")
            run.know.count("smtp_deliveries")
        except (OSError, smtplib.SMTPException) as e:
            run.know.violation("smtp", "smtp", f"delivery failed: {e!r}")
        time.sleep(0.05)


class ImapKeywordStress(DaemonTestCase):
    imap = True
    extra_args = ("--threads=2",)

    def seed(self, know):
        """Every user's folders exist and hold messages with keywords."""
        rng = random.Random(1)
        for user in STRESS_USERS:
            s = Session(self.imap_port, user, USERS[user], know, f"seed-{user}")
            for folder in ("kw1", "kw2"):
                s.command(f"CREATE {folder}")
            for folder in ("INBOX", "kw1", "kw2"):
                for i in range(6):
                    kws = [f"seed{i % 3}{KEYWORD_TAIL}"]
                    s.append(folder, ["\\Seen"] + kws if i % 2 else kws,
                             message(rng, f"seed-{folder}-{i}", user))
            s.logout()

    def test_keywords_fetch_expunge_recent_under_concurrency(self):
        know = Knowledge()
        self.seed(know)
        self.assertEqual(know.kinds, {}, know.report())
        run = Run(know)
        threads = [threading.Thread(target=deliverer, args=(run, self.port), daemon=True)]
        for i, user in enumerate(STRESS_USERS * SESSIONS_PER_USER):
            threads.append(threading.Thread(target=worker, args=(run, self.imap_port, user, i),
                                            daemon=True))
        for t in threads:
            t.start()
        for t in threads:
            t.join(SECONDS + 60)
        self.assertFalse(any(t.is_alive() for t in threads), "a worker hangs")
        asan = self.daemon.sanitizer_report()
        self.assertFalse(asan, f"ringmaild reported a memory error:\n{asan}")
        self.assertTrue(self.daemon.running(), "ringmaild died:\n" + self.daemon.log_tail())
        self.assertEqual(know.kinds, {}, know.report())
        # The run did what it is for (not vacuous).
        c = know.counts
        self.assertGreater(c.get("new_keywords", 0), 26, know.report())
        self.assertGreater(c.get("fetch_body", 0), 10, know.report())
        self.assertGreater(c.get("recent_seen", 0), 0, know.report())
        self.assertGreater(c.get("expunges", 0), 0, know.report())

    def test_recent_goes_to_one_session(self):
        """A message \\Recent in a session that unselects is not \\Recent
        again in a later session while the first is still logged in."""
        know = Knowledge()
        user = STRESS_USERS[0]
        first = Session(self.imap_port, user, USERS[user], know, 1)
        self.addCleanup(first.close)
        self.assertTrue(first.select("INBOX"))
        appender = Session(self.imap_port, user, USERS[user], know, 2)
        self.addCleanup(appender.close)
        self.assertEqual(appender.append("INBOX", [], message(random.Random(2), 1, user)), "OK")
        first.command("NOOP")
        first.command("FETCH 1:* (UID FLAGS)")
        self.assertEqual(know.counts.get("recent_seen"), 1, know.report())
        first.unselect()  # still logged in: the user's folder state stays
        second = Session(self.imap_port, user, USERS[user], know, 3)
        self.addCleanup(second.close)
        self.assertTrue(second.select("INBOX"))
        second.command("FETCH 1:* (UID FLAGS)")
        for s in (first, appender, second):
            s.logout()
        self.assertEqual(know.kinds, {}, know.report())
