"""IMAP4rev1 end to end with Python's imaplib: mail delivered by SMTP, then
read, searched, flagged, moved and expunged as a client would."""
import base64
import imaplib
import os
import random
import re
import smtplib
import socket
import time

from harness import DaemonTestCase, USERS
from imapcheck import (Literal, RawIMAP, fetch_all, fetch_uid, flags_of, internaldate,
                       login, parse_fetch, resp_code, smtp_deliver, uidvalidity, quiet_logout)
from mailcheck import make_message

ALICE = "alice@example.test"
BOB = "bob@example.test"
SENDER = "sender@client.test"

ATTACH1 = bytes(random.Random(1).getrandbits(8) for _ in range(3000))
ATTACH2 = bytes(random.Random(2).getrandbits(8) for _ in range(5000))


def b64_lines(data):
    enc = base64.b64encode(data).decode()
    return "\r\n".join(enc[i:i + 76] for i in range(0, len(enc), 76))


def multipart_message():
    """multipart/mixed: text, application/octet-stream, image/png (CRLF)."""
    return (
        "From: Alice Example <alice@example.test>\r\n"
        "To: Bob <bob@example.test>\r\n"
        "Subject: quarterly report\r\n"
        "Date: Mon, 02 Mar 2020 10:00:00 +0000\r\n"
        "Message-ID: <mp-1@client.test>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="=_b0undary"\r\n'
        "\r\n"
        "This is a multi-part message in MIME format.\r\n"
        "--=_b0undary\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "Please find the numbers attached.\r\n"
        "--=_b0undary\r\n"
        'Content-Type: application/octet-stream; name="data.bin"\r\n'
        'Content-Disposition: attachment; filename="data.bin"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n" + b64_lines(ATTACH1) + "\r\n"
        "--=_b0undary\r\n"
        'Content-Type: image/png; name="chart.png"\r\n'
        'Content-Disposition: attachment; filename="chart.png"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n" + b64_lines(ATTACH2) + "\r\n"
        "--=_b0undary--\r\n").encode()


def simple(subject, body="hello\r\n", sender="Sender <sender@client.test>",
           date="Tue, 03 Mar 2020 09:00:00 +0000"):
    return (f"From: {sender}\r\nTo: <alice@example.test>\r\nSubject: {subject}\r\n"
            f"Date: {date}\r\nMessage-ID: <{subject.replace(' ', '-')}@client.test>\r\n"
            f"\r\n{body}").encode()


class ImapTest(DaemonTestCase):
    imap = True

    def client(self, user=ALICE):
        M = login(self.imap_port, user, USERS[user])
        self.addCleanup(quiet_logout, M)
        return M

    def raw(self):
        r = RawIMAP(self.imap_port)
        self.addCleanup(r.close)
        greeting = r.line()
        self.assertTrue(greeting.startswith("* OK"), greeting)
        return r

    def deliver(self, msg, rcpt=ALICE):
        smtp_deliver(self.port, rcpt, msg)

    def select(self, M, mailbox="INBOX"):
        typ, data = M.select(mailbox)
        self.assertEqual(typ, "OK", data)
        return int(data[0])

    def delimiter(self, M):
        typ, data = M.list('""', '""')
        self.assertEqual(typ, "OK", data)
        m = re.match(rb'\(.*?\) "(.)"', data[0])
        self.assertIsNotNone(m, data)
        return m.group(1).decode()

    def names(self, M, cmd="LIST"):
        typ, data = (M.list if cmd == "LIST" else M.lsub)('""', "*")
        self.assertEqual(typ, "OK", data)
        out = {}
        for line in data:
            if line is None:
                continue
            m = re.match(rb'\(([^)]*)\) (?:"."|NIL) (.*)$', line)
            self.assertIsNotNone(m, line)
            name = m.group(2).decode()
            if name.startswith('"'):
                name = name[1:-1]
            out[name] = set(m.group(1).decode().split())
        return out

    # ------------------------------------------------------------ auth
    def test_login_and_authenticate_plain(self):
        M = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=30)
        self.addCleanup(quiet_logout, M)
        self.assertIn("AUTH=PLAIN", M.capabilities)
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            M.login(ALICE, "wrong-password")
        self.assertIn("AUTHENTICATIONFAILED", str(cm.exception))
        typ, _ = M.noop()  # the session continues after a failed login
        self.assertEqual(typ, "OK")
        typ, _ = M.login(ALICE, USERS[ALICE])
        self.assertEqual(typ, "OK")
        self.assertEqual(M.state, "AUTH")

        M2 = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=30)
        self.addCleanup(quiet_logout, M2)
        bob = USERS[BOB]
        typ, _ = M2.authenticate("PLAIN", lambda _: f"\0{BOB}\0{bob}".encode())
        self.assertEqual(typ, "OK")
        self.select(M2)

        M3 = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=30)
        self.addCleanup(quiet_logout, M3)
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            M3.authenticate("PLAIN", lambda _: f"\0{BOB}\0nope".encode())
        self.assertIn("AUTHENTICATIONFAILED", str(cm.exception))
        with self.assertRaises(imaplib.IMAP4.error):
            M3.login("nobody@example.test", "x")

    # ------------------------------------------------------------ folders
    def test_list_special_use_and_folder_management(self):
        M = self.client()
        d = self.delimiter(M)
        names = self.names(M)
        self.assertIn("INBOX", names)
        for name, attr in (("Sent", "\\Sent"), ("Drafts", "\\Drafts"), ("Trash", "\\Trash"),
                           ("Junk", "\\Junk"), ("Archive", "\\Archive")):
            self.assertIn(name, names, names)
            self.assertIn(attr, names[name], f"{name}: {names[name]}")

        nested = f"Projects{d}2024{d}Q1"
        typ, data = M.create(nested)
        self.assertEqual(typ, "OK", data)
        names = self.names(M)
        for n in ("Projects", f"Projects{d}2024", nested):
            self.assertIn(n, names)
        self.assertIn("\\HasChildren", names["Projects"])
        self.assertIn("\\HasNoChildren", names[nested])
        maildir = self.daemon.maildir(ALICE)
        self.assertTrue(os.path.isdir(os.path.join(maildir, ".Projects.2024.Q1", "cur")))
        typ, _ = M.create(nested)  # exists already
        self.assertEqual(typ, "NO")

        # APPEND into the nested folder, then RENAME the parent: the child
        # and its message follow.
        typ, data = M.append(nested, None, None, simple("in q1"))
        self.assertEqual(typ, "OK", data)
        typ, data = M.rename("Projects", "Work")
        self.assertEqual(typ, "OK", data)
        names = self.names(M)
        self.assertNotIn("Projects", names)
        self.assertIn(f"Work{d}2024{d}Q1", names)
        self.assertEqual(self.select(M, f"Work{d}2024{d}Q1"), 1)
        M.close()

        typ, data = M.delete(f"Work{d}2024{d}Q1")
        self.assertEqual(typ, "OK", data)
        self.assertNotIn(f"Work{d}2024{d}Q1", self.names(M))
        self.assertFalse(os.path.exists(os.path.join(maildir, ".Work.2024.Q1")))
        typ, _ = M.delete('"No such folder"')
        self.assertEqual(typ, "NO")

        # SUBSCRIBE / LSUB (subscriptions may name folders that do not exist).
        for n in ("Work", "Archive", "Ghost"):
            typ, data = M.subscribe(n)
            self.assertEqual(typ, "OK", data)
        typ, _ = M.unsubscribe("Archive")
        self.assertEqual(typ, "OK")
        lsub = self.names(M, "LSUB")
        self.assertIn("Work", lsub)
        self.assertIn("Ghost", lsub)
        self.assertNotIn("Archive", lsub)
        with open(os.path.join(maildir, "subscriptions")) as f:
            self.assertIn("Work", f.read().split("\n"))

    def test_rename_inbox_moves_messages(self):
        for i in range(3):
            self.deliver(simple(f"inbox {i}"))
        M = self.client()
        self.assertEqual(self.select(M), 3)
        M.close()
        typ, data = M.rename("INBOX", '"Old Inbox"')
        self.assertEqual(typ, "OK", data)
        self.assertEqual(self.select(M, "INBOX"), 0)
        M.close()
        self.assertEqual(self.select(M, '"Old Inbox"'), 3)
        got = fetch_all(M, "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        subjects = sorted(bytes(d["BODY[HEADER.FIELDS (SUBJECT)]"]).strip().decode()
                          for d in got.values())
        self.assertEqual(subjects, [f"Subject: inbox {i}" for i in range(3)])
        # Delivery still goes to INBOX.
        self.deliver(simple("after rename"))
        M.close()
        self.assertEqual(self.select(M, "INBOX"), 1)

    # ------------------------------------------------------------ append/copy/move
    def test_append_copy_move(self):
        M = self.client()
        M.create("Target")
        M.create("Moved")
        msg = simple("appended", body="appended body\r\n")
        typ, data = M.append("INBOX", r"(\Seen \Flagged $Label1)",
                             '"01-Feb-2020 10:11:12 +0100"', msg)
        self.assertEqual(typ, "OK", data)
        appenduid = resp_code(data, "APPENDUID")
        self.assertIsNotNone(appenduid, data)
        uv, uid = int(appenduid[0]), int(appenduid[1])
        self.assertEqual(uv, uidvalidity(M, "INBOX"))

        self.select(M)
        d = fetch_uid(M, uid, "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
        # \Recent is per session (RFC 3501 §2.3.2): this session is the first
        # to see the appended message, so it may carry it.
        self.assertEqual(flags_of(d) - {"\\Recent"}, {"\\Seen", "\\Flagged", "$Label1"})
        self.assertEqual(internaldate(d["INTERNALDATE"]).timestamp(),
                         internaldate("01-Feb-2020 10:11:12 +0100").timestamp())
        self.assertEqual(bytes(d["BODY[]"]), msg)
        self.assertEqual(int(d["RFC822.SIZE"]), len(msg))

        M.untagged_responses.clear()
        typ, data = M.uid("COPY", str(uid), "Target")
        self.assertEqual(typ, "OK", data)
        # imaplib keeps the tagged [COPYUID ...] code among untagged_responses.
        copyuid = M.untagged_responses.get("COPYUID", [b""])[-1].decode().split()
        self.assertEqual(len(copyuid), 3, M.untagged_responses)
        self.assertEqual(int(copyuid[0]), uidvalidity(M, "Target"))
        self.assertEqual(int(copyuid[1]), uid)
        tuid = int(copyuid[2])

        # A second message for MOVE.
        typ, data = M.append("INBOX", None, '"05-May-2021 01:02:03 +0000"', simple("to move"))
        muid = int(resp_code(data, "APPENDUID")[1])
        M.noop()
        M.untagged_responses.clear()
        typ, data = M.uid("MOVE", str(muid), "Moved")
        self.assertEqual(typ, "OK", data)
        self.assertIn("EXPUNGE", M.untagged_responses, M.untagged_responses)
        # RFC 6851 section 4.3: COPYUID in an untagged OK before the EXPUNGEs.
        moveuid = M.untagged_responses.get("COPYUID")
        self.assertTrue(moveuid, (data, M.untagged_responses))
        new_uid = int(moveuid[0].split()[2])
        typ, data = M.uid("SEARCH", "ALL")
        self.assertEqual(data[0].split(), [str(uid).encode()])

        M.close()
        self.select(M, "Target")
        t = fetch_uid(M, tuid, "(UID FLAGS INTERNALDATE BODY.PEEK[])")
        self.assertEqual(internaldate(t["INTERNALDATE"]).timestamp(),
                         internaldate("01-Feb-2020 10:11:12 +0100").timestamp())
        self.assertEqual(flags_of(t) - {"\\Recent"}, {"\\Seen", "\\Flagged", "$Label1"})
        self.assertEqual(bytes(t["BODY[]"]), msg)
        M.close()
        self.select(M, "Moved")
        m = fetch_uid(M, new_uid, "(UID INTERNALDATE)")
        self.assertEqual(internaldate(m["INTERNALDATE"]).timestamp(),
                         internaldate("05-May-2021 01:02:03 +0000").timestamp())

    # ------------------------------------------------------------ fetch
    def test_fetch_multipart_summary_and_part(self):
        sent = multipart_message()
        self.deliver(sent)
        M = self.client()
        self.assertEqual(self.select(M), 1)
        d = fetch_all(M, "(UID ENVELOPE FLAGS RFC822.SIZE INTERNALDATE BODYSTRUCTURE)")
        (uid, s), = d.items()
        env = s["ENVELOPE"]
        self.assertEqual(env[0], b"Mon, 02 Mar 2020 10:00:00 +0000")
        self.assertEqual(env[1], b"quarterly report")
        self.assertEqual(env[2], [[b"Alice Example", None, b"alice", b"example.test"]])
        self.assertEqual(env[5], [[b"Bob", None, b"bob", b"example.test"]])
        self.assertEqual(env[9], b"<mp-1@client.test>")
        self.assertEqual(flags_of(s), {"\\Recent"} & flags_of(s))  # unseen
        self.assertNotIn("\\Seen", flags_of(s))
        internaldate(s["INTERNALDATE"])  # parses
        bs = s["BODYSTRUCTURE"]
        self.assertEqual(bs[3].upper(), b"MIXED")
        parts = bs[:3]
        self.assertEqual([(p[0].upper(), p[1].upper()) for p in parts],
                         [(b"TEXT", b"PLAIN"), (b"APPLICATION", b"OCTET-STREAM"),
                          (b"IMAGE", b"PNG")])
        self.assertEqual(parts[2][5].upper(), b"BASE64")
        self.assertEqual(int(parts[2][6]), len(b64_lines(ATTACH2)))  # CRLF before -- is the delimiter's

        p = fetch_uid(M, uid, "(UID BODY.PEEK[3] BODY.PEEK[3.MIME])")
        self.assertEqual(base64.b64decode(bytes(p["BODY[3]"])), ATTACH2)
        self.assertIn(b"chart.png", bytes(p["BODY[3.MIME]"]))
        p = fetch_uid(M, uid, "(UID BODY.PEEK[2])")
        self.assertEqual(base64.b64decode(bytes(p["BODY[2]"])), ATTACH1)
        self.assertNotIn("\\Seen", flags_of(fetch_uid(M, uid, "(UID FLAGS)")))

        full = fetch_uid(M, uid, "(UID RFC822.SIZE BODY[])")
        body = bytes(full["BODY[]"])
        self.assertEqual(int(full["RFC822.SIZE"]), len(body))
        self.assertTrue(body.endswith(sent), "BODY[] does not end with the sent message")
        trace = body[: len(body) - len(sent)]
        self.assertTrue(trace.lower().startswith(b"return-path:"), trace)
        self.assertNotIn(b"\n", trace.replace(b"\r\n", b""), "bare LF in BODY[]")
        # BODY[] (not PEEK) sets \Seen.
        self.assertIn("\\Seen", flags_of(fetch_uid(M, uid, "(UID FLAGS)")))
        # Partial fetch.
        part = fetch_uid(M, uid, "(UID BODY.PEEK[]<10.20>)")
        self.assertEqual(bytes(part["BODY[]<10>"]), body[10:30])
        hdr = fetch_uid(M, uid, "(UID BODY.PEEK[HEADER])")
        self.assertEqual(bytes(hdr["BODY[HEADER]"]), body[: body.index(b"\r\n\r\n") + 4])

    # ------------------------------------------------------------ store/search
    def _three(self, M):
        self.deliver(simple("alpha report", body="the quick brown fox\r\n",
                            sender="Ann <ann@one.test>",
                            date="Wed, 01 Jan 2020 00:00:00 +0000"))
        self.deliver(simple("beta notes", body="lazy dog\r\n" + ("x" * 70 + "\r\n") * 60,
                            sender="Ben <ben@two.test>"))
        self.deliver(simple("gamma alpha", body="nothing to see\r\n",
                            sender="Cat <cat@one.test>"))
        self.assertEqual(self.select(M), 3)
        return sorted(fetch_all(M, "(UID)"))

    def test_store_and_search(self):
        M = self.client()
        u1, u2, u3 = self._three(M)

        def search(*crit, uid=False):
            typ, data = (M.uid("SEARCH", *crit) if uid else M.search(None, *crit))
            self.assertEqual(typ, "OK", (crit, data))
            return [int(x) for x in data[0].split()]

        typ, data = M.store("1", "+FLAGS", r"(\Flagged $Work)")
        self.assertEqual(typ, "OK")
        self.assertEqual(flags_of(parse_fetch(data)[0][1]) - {"\\Recent"}, {"\\Flagged", "$Work"})
        typ, data = M.store("1:2", "+FLAGS", r"(\Seen)")
        self.assertEqual(typ, "OK")
        typ, data = M.store("1", "-FLAGS", r"(\Flagged)")
        self.assertEqual(flags_of(parse_fetch(data)[0][1]) - {"\\Recent"}, {"\\Seen", "$Work"})
        typ, data = M.store("3", "+FLAGS.SILENT", r"(\Answered)")
        self.assertEqual(typ, "OK")
        self.assertEqual([x for x in data if x], [], "FLAGS.SILENT produced FETCH responses")
        typ, data = M.uid("STORE", str(u2), "FLAGS", r"(\Draft $Other)")
        self.assertEqual(typ, "OK")
        got = fetch_all(M, "(UID FLAGS)")
        self.assertEqual(flags_of(got[u1]) - {"\\Recent"}, {"\\Seen", "$Work"})
        self.assertEqual(flags_of(got[u2]) - {"\\Recent"}, {"\\Draft", "$Other"})
        self.assertEqual(flags_of(got[u3]) - {"\\Recent"}, {"\\Answered"})
        with open(os.path.join(self.daemon.maildir(ALICE), "dovecot-keywords")) as f:
            kw = f.read()
        self.assertIn("$Work", kw)
        self.assertIn("$Other", kw)

        self.assertEqual(search("ALL"), [1, 2, 3])
        self.assertEqual(search("SEEN"), [1])
        self.assertEqual(search("UNSEEN"), [2, 3])
        self.assertEqual(search("KEYWORD", "$Work"), [1])
        self.assertEqual(search("UNKEYWORD", "$Work"), [2, 3])
        self.assertEqual(search("ANSWERED"), [3])
        self.assertEqual(search("DRAFT"), [2])
        self.assertEqual(search("FROM", "one.test"), [1, 3])
        self.assertEqual(search("FROM", '"Ben"'), [2])
        self.assertEqual(search("SUBJECT", "alpha"), [1, 3])
        self.assertEqual(search("BODY", '"brown fox"'), [1])
        self.assertEqual(search("TEXT", "lazy"), [2])
        self.assertEqual(search("SENTBEFORE", "1-Feb-2020"), [1])
        self.assertEqual(search("SINCE", "1-Jan-2000"), [1, 2, 3])
        self.assertEqual(search("SINCE", "1-Jan-2099"), [])
        self.assertEqual(search("LARGER", "3000"), [2])
        self.assertEqual(search("SMALLER", "3000"), [1, 3])
        self.assertEqual(search("UID", f"{u2}:{u3}"), [2, 3])
        self.assertEqual(search("UID", f"{u3}:*"), [3])
        self.assertEqual(search("OR", "SEEN", "DRAFT"), [1, 2])
        self.assertEqual(search("NOT", "SEEN"), [2, 3])
        self.assertEqual(search("NOT", "OR", "FROM", "ann", "FROM", "ben"), [3])
        self.assertEqual(search("2:3", "SUBJECT", "alpha"), [3])
        self.assertEqual(search("SUBJECT", "alpha", uid=True), [u1, u3])
        self.assertEqual(search("OR", "KEYWORD", "$Other", "ANSWERED", uid=True), [u2, u3])
        self.assertEqual(search("UID", f"{u1},{u3}", uid=True), [u1, u3])
        with self.assertRaisesRegex(imaplib.IMAP4.error, "BAD"):
            M.search(None, "NOSUCHKEY")
        self.assertEqual(M.noop()[0], "OK")

    # ------------------------------------------------------------ expunge
    def test_expunge_close_uid_expunge(self):
        M = self.client()
        for i in range(6):
            self.deliver(simple(f"m{i}"))
        self.assertEqual(self.select(M), 6)
        uids = sorted(fetch_all(M, "(UID)"))
        M.store("2,4", "+FLAGS", r"(\Deleted)")
        typ, data = M.expunge()
        self.assertEqual(typ, "OK")
        self.assertEqual([int(x) for x in data], [4, 2] if data[0] == b"4" else [2, 3])
        self.assertEqual(sorted(fetch_all(M, "(UID)")),
                         [uids[0], uids[2], uids[4], uids[5]])

        # UID EXPUNGE removes only the named \Deleted messages.
        M.uid("STORE", f"{uids[0]},{uids[2]}", "+FLAGS", r"(\Deleted)")
        typ, data = M.uid("EXPUNGE", str(uids[2]))
        self.assertEqual(typ, "OK", data)
        self.assertEqual(sorted(fetch_all(M, "(UID)")), [uids[0], uids[4], uids[5]])

        # CLOSE expunges silently.
        typ, _ = M.close()
        self.assertEqual(typ, "OK")
        self.assertEqual(self.select(M), 2)
        self.assertEqual(sorted(fetch_all(M, "(UID)")), [uids[4], uids[5]])
        # UNSELECT (RFC 3691) and CLOSE after EXAMINE do not expunge.
        M.store("1", "+FLAGS", r"(\Deleted)")
        typ, _ = M.unselect()
        self.assertEqual(typ, "OK")
        typ, data = M.select("INBOX", readonly=True)
        self.assertEqual(int(data[0]), 2)
        M.close()
        self.assertEqual(self.select(M), 2)
        self.assertEqual(M.search(None, "DELETED")[1][0], b"1")
        M.store("1", "-FLAGS", r"(\Deleted)")
        files = [n for sub in ("cur", "new")
                 for n in os.listdir(os.path.join(self.daemon.maildir(ALICE), sub))
                 if not n.startswith(".")]
        self.assertEqual(len(files), 2, files)

    # ------------------------------------------------------------ concurrency
    def test_two_sessions_see_each_other(self):
        for i in range(3):
            self.deliver(simple(f"shared {i}"))
        A = self.client()
        B = self.client()
        self.assertEqual(self.select(A), 3)
        self.assertEqual(self.select(B), 3)

        B.store("2", "+FLAGS", r"(\Flagged)")
        A.untagged_responses.clear()
        A.noop()
        fetches = A.untagged_responses.get("FETCH", [])
        self.assertTrue(any(b"\\Flagged" in f for f in fetches), A.untagged_responses)
        self.assertTrue(any(f.startswith(b"2 ") for f in fetches), fetches)

        B.store("1", "+FLAGS", r"(\Deleted)")
        B.expunge()
        A.untagged_responses.clear()
        A.noop()
        self.assertEqual(A.untagged_responses.get("EXPUNGE"), [b"1"], A.untagged_responses)

        self.deliver(simple("shared new"))
        A.untagged_responses.clear()
        deadline = time.monotonic() + 20
        while "EXISTS" not in A.untagged_responses and time.monotonic() < deadline:
            A.noop()
            if "EXISTS" not in A.untagged_responses:
                time.sleep(0.1)
        self.assertEqual(A.untagged_responses.get("EXISTS"), [b"3"], A.untagged_responses)
        B.untagged_responses.clear()
        B.noop()
        self.assertEqual(B.untagged_responses.get("EXISTS"), [b"3"], B.untagged_responses)

    def test_idle_sees_smtp_delivery(self):
        self.deliver(simple("before idle"))
        r = self.raw()
        r.cmd("a1", f"LOGIN {ALICE} {USERS[ALICE]}")
        lines = r.cmd("a2", "SELECT INBOX")
        self.assertIn("* 1 EXISTS", lines)
        r.send("a3 IDLE\r\n")
        self.assertTrue(r.line().startswith("+"))
        self.deliver(simple("during idle"))
        r.sock.settimeout(30)
        seen = []
        while "* 2 EXISTS" not in seen:
            seen.append(r.line())
        r.send("DONE\r\n")
        done = r.until_tagged("a3")
        self.assertTrue(done[-1].startswith("a3 OK"), done)
        self.assertTrue(r.cmd("a4", "NOOP")[-1].startswith("a4 OK"))

    def test_outside_drop_into_new(self):
        self.deliver(simple("first"))
        M = self.client()
        self.assertEqual(self.select(M), 1)
        (old_uid,) = fetch_all(M, "(UID)")
        maildir = self.daemon.maildir(ALICE)
        name = f"{int(time.time())}.M1P{os.getpid()}.outside"
        msg = simple("dropped", body="dropped from outside\r\n").replace(b"\r\n", b"\n")
        tmp = os.path.join(maildir, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(msg)
        os.rename(tmp, os.path.join(maildir, "new", name))
        M.untagged_responses.clear()
        deadline = time.monotonic() + 20
        while "EXISTS" not in M.untagged_responses and time.monotonic() < deadline:
            M.noop()
            if "EXISTS" not in M.untagged_responses:
                time.sleep(0.1)
        self.assertEqual(M.untagged_responses.get("EXISTS"), [b"2"], M.untagged_responses)
        got = fetch_all(M, "(UID BODY.PEEK[])")
        new_uid = max(got)
        self.assertGreater(new_uid, old_uid)
        self.assertEqual(bytes(got[new_uid]["BODY[]"]), msg.replace(b"\n", b"\r\n"))

    def _idle_inbox(self, expect_exists):
        r = self.raw()
        r.cmd("a1", f"LOGIN {ALICE} {USERS[ALICE]}")
        lines = r.cmd("a2", "SELECT INBOX")
        self.assertIn(f"* {expect_exists} EXISTS", lines)
        r.send("a3 IDLE\r\n")
        self.assertTrue(r.line().startswith("+"))
        # IDLE itself starts a rescan; let it finish so that what the test
        # sees afterwards can only come from the directory watch.
        time.sleep(0.5)
        return r

    def _idle_until(self, r, wanted):
        # Generous: the point is that it arrives during IDLE, with no
        # command from the client, not how fast.
        r.sock.settimeout(30)
        seen = []
        while wanted not in seen:
            seen.append(r.line())
        r.send("DONE\r\n")
        done = r.until_tagged("a3")
        self.assertTrue(done[-1].startswith("a3 OK"), done)
        return seen

    def test_idle_sees_outside_rename_into_new(self):
        self.deliver(simple("before idle"))
        r = self._idle_inbox(1)
        maildir = self.daemon.maildir(ALICE)
        name = f"{int(time.time())}.M2P{os.getpid()}.outside"
        tmp = os.path.join(maildir, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(simple("outside during idle").replace(b"\r\n", b"\n"))
        os.rename(tmp, os.path.join(maildir, "new", name))
        self._idle_until(r, "* 2 EXISTS")
        lines = r.cmd("a4", "UID FETCH 1:* (UID)")
        self.assertTrue(lines[-1].startswith("a4 OK"), lines)
        self.assertEqual(len([l for l in lines if l.startswith("* ")]), 2, lines)

    def test_idle_sees_outside_delete(self):
        self.deliver(simple("stays"))
        self.deliver(simple("goes"))
        r = self._idle_inbox(2)
        maildir = self.daemon.maildir(ALICE)
        files = sorted(os.path.join(maildir, sub, n) for sub in ("cur", "new")
                       for n in os.listdir(os.path.join(maildir, sub))
                       if not n.startswith("."))
        self.assertEqual(len(files), 2, files)
        victim = [f for f in files if b"Subject: goes" in open(f, "rb").read()]
        self.assertEqual(len(victim), 1, files)
        os.unlink(victim[0])
        self._idle_until(r, "* 2 EXPUNGE")
        lines = r.cmd("a4", "FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertTrue(lines[-1].startswith("a4 OK"), lines)
        self.assertTrue(any("stays" in l for l in lines), lines)
        self.assertFalse(any("goes" in l for l in lines), lines)

    # ------------------------------------------------------------ bad input
    def test_bad_input(self):
        r = self.raw()
        r.send("a1 NOOP " + "x" * (70 * 1024) + "\r\n")
        line = r.line()
        self.assertRegex(line, r"^(a1|\*) BAD", line)
        self.assertTrue(r.cmd("a2", "NOOP")[-1].startswith("a2 OK"))
        lines = r.cmd("a3", "FROBNICATE now")
        self.assertTrue(lines[-1].startswith("a3 BAD"), lines)
        self.assertTrue(r.cmd("a4", "NOOP")[-1].startswith("a4 OK"))
        # A synchronizing literal larger than allowed before login: refused
        # instead of a continuation, and the session goes on.
        r.send("a5 LOGIN {10000000}\r\n")
        line = r.line()
        self.assertRegex(line, r"^a5 (BAD|NO)", line)
        self.assertTrue(r.cmd("a6", "NOOP")[-1].startswith("a6 OK"))
        # The session still works for a real login.
        self.assertTrue(r.cmd("a7", f"LOGIN {ALICE} {USERS[ALICE]}")[-1].startswith("a7 OK"))
        # Garbage: the server gives up with BYE and closes.
        r.sock.settimeout(15)
        rng = random.Random(7)
        data = b""
        eof = False
        for _ in range(50):
            junk = bytes(rng.choice(b"\x01\x02\xff()*%{}[] abc") for _ in range(200))
            try:
                r.send(junk + b"\r\n")
            except OSError:
                eof = True
                break
        more, eof2 = r.read_until_eof()
        data += more
        self.assertIn(b"* BYE", data, data[-500:])
        self.assertTrue(eof or eof2, "connection not closed after BYE")

    def test_garbage_before_login_gets_bye(self):
        r = self.raw()
        r.sock.settimeout(15)
        for i in range(20):
            try:
                r.send(f"x{i} \x00\x7f garbage ((( \r\n")
            except OSError:
                break
        data, eof = r.read_until_eof()
        self.assertIn(b"BAD", data)
        self.assertIn(b"* BYE", data)
        self.assertTrue(eof)
