"""CONDSTORE and QRESYNC (RFC 7162) end to end: a client resynchronises with
SELECT (QRESYNC ...) after another client (imaplib) changed flags,
expunged and received mail; conditional STORE, CHANGEDSINCE, SEARCH
MODSEQ, VANISHED; mod-sequences across a clean restart and a crash, and
for flags changed by renaming files outside ringmail.

Exact response lines are read with the raw line client (imaplib keeps
untagged responses in a dict and loses their order)."""
import os
import re
import time

from harness import DaemonTestCase, USERS
from imapcheck import RawIMAP, login, smtp_deliver, quiet_logout

ALICE = "alice@example.test"

FETCH_RE = re.compile(r"^\* (\d+) FETCH \((.*)\)$")


def message(n):
    return (f"From: <sender@client.test>\r\nTo: <{ALICE}>\r\nSubject: m{n}\r\n"
            f"Message-ID: <m{n}@client.test>\r\n\r\nbody {n}\r\n").encode()


def fetch_items(text):
    """'UID 3 FLAGS (\\Seen) MODSEQ (12)' -> {'UID': '3', 'FLAGS': {...}, 'MODSEQ': 12}."""
    out = {}
    m = re.search(r"UID (\d+)", text)
    if m:
        out["UID"] = int(m.group(1))
    m = re.search(r"FLAGS \(([^)]*)\)", text)
    if m:
        out["FLAGS"] = set(m.group(1).split()) - {"\\Recent"}
    m = re.search(r"MODSEQ \((\d+)\)", text)
    if m:
        out["MODSEQ"] = int(m.group(1))
    return out


def fetches(lines):
    """[(seq, items)] of the untagged FETCH lines, in order."""
    out = []
    for line in lines:
        m = FETCH_RE.match(line)
        if m:
            out.append((int(m.group(1)), fetch_items(m.group(2))))
    return out


def code_value(lines, name):
    """The argument of response code [NAME n] in `lines` (last one wins)."""
    val = None
    for line in lines:
        m = re.search(r"\[" + name + r" ([^\]]*)\]", line)
        if m:
            val = m.group(1)
    return val


class CondstoreTest(DaemonTestCase):
    imap = True

    # ------------------------------------------------------------ helpers
    def raw(self, user=ALICE):
        r = RawIMAP(self.imap_port)
        self.addCleanup(r.close)
        self.assertTrue(r.line().startswith("* OK"))
        lines = r.cmd("l", f'LOGIN "{user}" "{USERS[user]}"')
        self.assertTrue(lines[-1].startswith("l OK"), lines)
        return r

    def ok(self, r, tag, text):
        lines = r.cmd(tag, text)
        self.assertTrue(lines[-1].startswith(f"{tag} OK"), lines)
        return lines

    def imaplib_client(self):
        M = login(self.imap_port, ALICE, USERS[ALICE])
        self.addCleanup(quiet_logout, M)
        return M

    def deliver(self, n):
        smtp_deliver(self.port, ALICE, message(n))

    def deliver_and_wait(self, first, last, exists=None):
        """Delivers messages first..last by SMTP and waits until INBOX has
        `exists` messages (default: last)."""
        for n in range(first, last + 1):
            self.deliver(n)
        M = self.imaplib_client()
        deadline = time.monotonic() + 10
        count = -1
        while time.monotonic() < deadline:
            typ, data = M.select("INBOX", readonly=True)
            count = int(data[0]) if typ == "OK" else -1
            if count == (last if exists is None else exists):
                break
            time.sleep(0.05)
        M.logout()
        self.assertEqual(count, last if exists is None else exists)

    def file_of_uid(self, uid):
        """(directory, name) of the message file with `uid` (from the uidlist)."""
        maildir = self.daemon.maildir(ALICE)
        with open(os.path.join(maildir, "dovecot-uidlist")) as f:
            for line in f:
                head, _, name = line.partition(" :")
                if head.split()[0] == str(uid):
                    key = name.strip().split(":", 1)[0]
                    for sub in ("new", "cur"):
                        for n in os.listdir(os.path.join(maildir, sub)):
                            if n.split(":", 1)[0] == key:
                                return os.path.join(maildir, sub), n
        self.fail(f"no file for UID {uid}")

    def select_qresync(self, r, tag, params=""):
        self.ok(r, "e", "ENABLE QRESYNC")
        return self.ok(r, tag, f"SELECT INBOX{params}")

    def uid_state(self, r):
        """{uid: (flags, modseq)} of the selected mailbox."""
        lines = self.ok(r, "f", "UID FETCH 1:* (FLAGS MODSEQ)")
        return {d["UID"]: (d["FLAGS"], d["MODSEQ"]) for _, d in fetches(lines)}

    def wait_closed_index(self):
        """Waits until the INBOX index file carries the owner's close token
        (the closing write after the last session left)."""
        maildir = self.daemon.maildir(ALICE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with open(os.path.join(maildir, "ringmail-index.owner")) as f:
                    owner = f.read().strip()
                with open(os.path.join(maildir, "ringmail-index"), "rb") as f:
                    header = f.read(512)
                # docs/mailbox-index.md: the close token is bytes 56..88.
                if (owner and header[:8] == b"RMINDEX3"
                        and header[56:88] == owner.encode()):
                    return
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        self.fail("the index was not closed")

    # ------------------------------------------------------------ tests
    def test_capability_enable_and_select_responses(self):
        r = self.raw()
        caps = self.ok(r, "c", "CAPABILITY")[0]
        self.assertIn(" CONDSTORE QRESYNC", caps)
        # QRESYNC parameter before ENABLE QRESYNC: BAD (RFC 7162 §3.2.5).
        lines = r.cmd("s0", "SELECT INBOX (QRESYNC (1 1))")
        self.assertTrue(lines[-1].startswith("s0 BAD"), lines)
        lines = self.ok(r, "s1", "SELECT INBOX")
        self.assertIsNone(code_value(lines, "HIGHESTMODSEQ"))  # not enabled yet
        lines = self.ok(r, "s2", "EXAMINE INBOX (CONDSTORE)")
        self.assertIn("* OK [CLOSED] Previous mailbox closed.", lines)
        self.assertIsNotNone(code_value(lines, "HIGHESTMODSEQ"))
        lines = self.ok(r, "e", "ENABLE CONDSTORE QRESYNC")
        self.assertIn("* ENABLED QRESYNC", lines)  # CONDSTORE was on already
        lines = r.cmd("f", "FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")
        self.assertTrue(lines[-1].startswith("f BAD"), lines)  # UID FETCH only
        lines = r.cmd("s3", "SELECT INBOX (QRESYNC (1 2 1:* ))")
        self.assertTrue(lines[-1].startswith("s3 BAD"), lines)  # no "*" in known-uids

    def test_qresync_after_changes_by_another_client(self):
        self.deliver_and_wait(1, 5)
        a = self.raw()
        lines = self.select_qresync(a, "s")
        uidvalidity = int(code_value(lines, "UIDVALIDITY"))
        hms = int(code_value(lines, "HIGHESTMODSEQ"))
        before = self.uid_state(a)
        self.assertEqual(sorted(before), [1, 2, 3, 4, 5])
        self.assertTrue(all(m <= hms for _, m in before.values()), (before, hms))
        self.ok(a, "z", "LOGOUT")

        # Client B (imaplib): a flag, two expunges, and new mail by SMTP.
        B = self.imaplib_client()
        B.select("INBOX")
        self.assertEqual(B.uid("STORE", "2", "+FLAGS", "(\\Flagged)")[0], "OK")
        self.assertEqual(B.uid("STORE", "4:5", "+FLAGS", "(\\Deleted)")[0], "OK")
        self.assertEqual(B.expunge()[0], "OK")
        B.logout()
        self.deliver_and_wait(6, 9, exists=7)  # UIDs 6..9

        # A resynchronises with the UIDs it knew: exactly the expunges and
        # the flag change of its messages; the new ones show in EXISTS.
        a2 = self.raw()
        lines = self.select_qresync(a2, "q", f" (QRESYNC ({uidvalidity} {hms} 1:5))")
        vanished = [l for l in lines if l.startswith("* VANISHED")]
        self.assertEqual(vanished, ["* VANISHED (EARLIER) 4:5"], lines)
        got = fetches(lines)
        self.assertEqual(len(got), 1, lines)
        seq, d = got[0]
        self.assertEqual((seq, d["UID"], d["FLAGS"]), (2, 2, {"\\Flagged"}))
        self.assertGreater(d["MODSEQ"], hms)
        new_hms = int(code_value(lines, "HIGHESTMODSEQ"))
        self.assertGreaterEqual(new_hms, d["MODSEQ"])
        exists = [l for l in lines if l.endswith(" EXISTS")]
        self.assertEqual(exists, ["* 7 EXISTS"])  # 1,2,3 and 6..9
        # VANISHED comes before the FETCHes, all before the tagged OK.
        self.assertLess(lines.index(vanished[0]), lines.index(
            next(l for l in lines if FETCH_RE.match(l))))
        self.assertTrue(lines[-1].startswith("q OK [READ-WRITE]"), lines)

        # Without known-uids the new messages are reported as well.
        lines = self.ok(a2, "q2", f"SELECT INBOX (QRESYNC ({uidvalidity} {hms}))")
        self.assertIn("* OK [CLOSED] Previous mailbox closed.", lines)
        self.assertIn("* VANISHED (EARLIER) 4:5", lines)
        self.assertEqual([d["UID"] for _, d in fetches(lines)], [2, 6, 7, 8, 9])

        # Up to date: nothing to report.
        lines = self.ok(a2, "q3", f"SELECT INBOX (QRESYNC ({uidvalidity} {new_hms} 1:9))")
        self.assertFalse([l for l in lines if "VANISHED" in l or "FETCH" in l], lines)

        # Another UIDVALIDITY: a plain SELECT.
        lines = self.ok(a2, "q4", f"SELECT INBOX (QRESYNC ({uidvalidity + 1} 1 1:9))")
        self.assertFalse([l for l in lines if "VANISHED" in l or "FETCH" in l], lines)

        # seq-match-data: the client's view 1:5 <-> UIDs 1:5 still matches
        # for UIDs 1..3, so nothing below 4 is reported even with a modseq
        # older than anything (here the log answers exactly anyway).
        lines = self.ok(a2, "q5", f"SELECT INBOX (QRESYNC ({uidvalidity} 1 1:5 (1:3 1:3)))")
        self.assertIn("* VANISHED (EARLIER) 4:5", lines)
        self.assertEqual([d["UID"] for _, d in fetches(lines)], [1, 2, 3])

    def test_conditional_store_changedsince_search_status(self):
        self.deliver_and_wait(1, 3)
        a = self.raw()
        lines = self.ok(a, "s", "SELECT INBOX (CONDSTORE)")
        hms = int(code_value(lines, "HIGHESTMODSEQ"))
        state = self.uid_state(a)
        # B flags message 2: A's UNCHANGEDSINCE store must not touch it.
        B = self.imaplib_client()
        B.select("INBOX")
        self.assertEqual(B.uid("STORE", "2", "+FLAGS", "(\\Answered)")[0], "OK")
        lines = self.ok(a, "t", f"STORE 1:3 (UNCHANGEDSINCE {hms}) +FLAGS (\\Seen)")
        self.assertTrue(lines[-1].startswith("t OK [MODIFIED 2]"), lines)
        got = {seq: d for seq, d in fetches(lines)}  # seq == UID here
        # Messages 1 and 3 changed (with their new MODSEQ); message 2's
        # update from B is reported too, with its MODSEQ.
        self.assertEqual(got[1]["FLAGS"], {"\\Seen"})
        self.assertGreater(got[1]["MODSEQ"], hms)
        self.assertEqual(got[3]["FLAGS"], {"\\Seen"})
        self.assertEqual(got[2]["FLAGS"], {"\\Answered"})
        self.assertGreater(got[2]["MODSEQ"], hms)
        # .SILENT still reports the new MODSEQ (RFC 7162 §3.1.3).
        lines = self.ok(a, "t2", "UID STORE 3 (UNCHANGEDSINCE 99999999999999999) "
                                 "+FLAGS.SILENT (\\Flagged)")
        (seq, d), = fetches(lines)
        self.assertEqual(set(d), {"UID", "MODSEQ"})
        m3 = d["MODSEQ"]
        # UNCHANGEDSINCE 0 always fails.
        lines = self.ok(a, "t3", "UID STORE 1:3 (UNCHANGEDSINCE 0) +FLAGS (\\Draft)")
        self.assertTrue(lines[-1].startswith("t3 OK [MODIFIED 1:3]"), lines)
        # CHANGEDSINCE: only what changed after the given value.
        lines = self.ok(a, "f", f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {m3 - 1})")
        self.assertEqual([(d["UID"], d["MODSEQ"]) for _, d in fetches(lines)], [(3, m3)])
        lines = self.ok(a, "f2", "FETCH 1 (MODSEQ)")
        self.assertEqual(fetches(lines)[0][1]["MODSEQ"], got[1]["MODSEQ"])
        # SEARCH MODSEQ with the (MODSEQ n) of the hits.
        lines = self.ok(a, "r", f"SEARCH MODSEQ {hms + 1}")
        self.assertIn(f"* SEARCH 1 2 3 (MODSEQ {m3})", lines)
        lines = self.ok(a, "r2", f'UID SEARCH MODSEQ "/flags/\\\\flagged" all {m3}')
        self.assertIn(f"* SEARCH 3 (MODSEQ {m3})", lines)
        lines = self.ok(a, "r3", f"SEARCH MODSEQ {m3 + 1}")
        self.assertIn("* SEARCH", lines)
        # STATUS HIGHESTMODSEQ.
        lines = self.ok(a, "st", "STATUS INBOX (HIGHESTMODSEQ MESSAGES)")
        self.assertIn(f'* STATUS "INBOX" (MESSAGES 3 HIGHESTMODSEQ {m3})', lines)
        self.assertEqual(sorted(state), [1, 2, 3])

    def test_vanished_while_selected_and_uid_fetch_vanished(self):
        self.deliver_and_wait(1, 4)
        a = self.raw()
        lines = self.select_qresync(a, "s")
        hms = int(code_value(lines, "HIGHESTMODSEQ"))
        # Another session expunges UID 2: A hears "* VANISHED 2", no EXPUNGE.
        B = self.imaplib_client()
        B.select("INBOX")
        B.uid("STORE", "2", "+FLAGS", "(\\Deleted)")
        B.expunge()
        lines = self.ok(a, "n", "NOOP")
        self.assertIn("* VANISHED 2", lines)
        self.assertFalse([l for l in lines if l.endswith("EXPUNGE")], lines)
        self.assertGreater(int(code_value(lines, "HIGHESTMODSEQ")), hms)
        # A's own expunge: VANISHED, and the new HIGHESTMODSEQ in the OK.
        self.ok(a, "d", "UID STORE 3:4 +FLAGS.SILENT (\\Deleted)")
        lines = self.ok(a, "x", "EXPUNGE")
        self.assertIn("* VANISHED 3:4", lines)
        self.assertTrue(lines[-1].startswith("x OK [HIGHESTMODSEQ "), lines)
        # UID FETCH ... (CHANGEDSINCE n VANISHED): expunged UIDs of the set.
        lines = self.ok(a, "v", f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {hms} VANISHED)")
        self.assertEqual(lines[0], "* VANISHED (EARLIER) 2:4")
        self.assertEqual(fetches(lines), [])
        lines = self.ok(a, "v2", f"UID FETCH 3:10 (FLAGS) (CHANGEDSINCE {hms} VANISHED)")
        self.assertEqual(lines[0], "* VANISHED (EARLIER) 3:4")
        # MOVE: COPYUID, then VANISHED instead of EXPUNGE (RFC 6851 §4.3).
        lines = self.ok(a, "m", "UID MOVE 1 Trash")
        self.assertTrue([l for l in lines if l.startswith("* OK [COPYUID ")], lines)
        self.assertIn("* VANISHED 1", lines)
        self.assertFalse([l for l in lines if l.endswith("EXPUNGE")], lines)
        # A plain CONDSTORE client (no QRESYNC) still gets EXPUNGE.
        c = self.raw()
        self.ok(c, "s", "SELECT INBOX (CONDSTORE)")
        self.deliver_and_wait(5, 6, exists=2)  # UIDs 5, 6
        self.ok(c, "n", "NOOP")
        self.ok(c, "d", "UID STORE 5 +FLAGS.SILENT (\\Deleted)")
        lines = self.ok(c, "x", "UID EXPUNGE 5")
        self.assertIn("* 1 EXPUNGE", lines)
        # The QRESYNC client never saw UID 5 (no EXISTS yet): it only
        # learns of UID 6.
        lines = self.ok(a, "n2", "NOOP")
        self.assertIn("* 1 EXISTS", lines)
        self.assertFalse([l for l in lines if "VANISHED" in l], lines)

    def test_highestmodseq_stays_below_held_back_expunges(self):
        self.deliver_and_wait(1, 3)
        a = self.raw()
        lines = self.ok(a, "s", "SELECT INBOX (CONDSTORE)")
        hms = int(code_value(lines, "HIGHESTMODSEQ"))
        B = self.imaplib_client()
        B.select("INBOX")
        B.uid("STORE", "3", "+FLAGS", "(\\Seen)")
        B.uid("STORE", "2", "+FLAGS", "(\\Deleted)")
        B.expunge()
        # FETCH may not send EXPUNGE (RFC 3501 §7.4.1), but sends UID 3's
        # new MODSEQ: a HIGHESTMODSEQ below the expunge goes with it.
        lines = self.ok(a, "f", "FETCH 1:* (FLAGS)")
        self.assertFalse([l for l in lines if l.endswith("EXPUNGE")], lines)
        self.assertIn(f"* OK [HIGHESTMODSEQ {hms}] Highest", lines)
        self.assertGreater(max(d["MODSEQ"] for _, d in fetches(lines)), hms)
        # Once the expunge is out, the real value follows in the tagged OK.
        lines = self.ok(a, "n", "NOOP")
        self.assertIn("* 2 EXPUNGE", lines)
        self.assertGreater(int(code_value(lines[-1:], "HIGHESTMODSEQ")), hms)

    def test_modseqs_survive_restart_and_never_go_down(self):
        self.deliver_and_wait(1, 3)
        a = self.raw()
        lines = self.ok(a, "s", "SELECT INBOX (CONDSTORE)")
        self.ok(a, "t", "STORE 2 +FLAGS (\\Seen)")
        lines = self.ok(a, "n", "NOOP")
        before = self.uid_state(a)
        hms = max(m for _, m in before.values())
        self.ok(a, "z", "LOGOUT")
        self.wait_closed_index()

        # A clean restart keeps every value.
        self.daemon.stop()
        self.daemon.start()
        self.imap_port = self.daemon.imap_port
        self.port = self.daemon.smtp_port
        a = self.raw()
        lines = self.ok(a, "s", "SELECT INBOX (CONDSTORE)")
        self.assertEqual(int(code_value(lines, "HIGHESTMODSEQ")), hms)
        self.assertEqual(self.uid_state(a), before)

        # A change, seen by the client, then a crash before the index is
        # closed: after the restart nothing goes down and the change is
        # above what the client saw.
        lines = self.ok(a, "t2", "STORE 3 +FLAGS (\\Flagged)")
        seen = fetches(lines)[0][1]["MODSEQ"]
        self.assertGreater(seen, hms)
        self.daemon.kill9()
        self.daemon.start()
        self.imap_port = self.daemon.imap_port
        self.port = self.daemon.smtp_port
        a = self.raw()
        lines = self.ok(a, "s", "SELECT INBOX (CONDSTORE)")
        after = int(code_value(lines, "HIGHESTMODSEQ"))
        uidvalidity = int(code_value(lines, "UIDVALIDITY"))
        self.assertGreater(after, seen)
        state = self.uid_state(a)
        self.assertEqual(state[3][0], {"\\Flagged"})
        self.ok(a, "t3", "STORE 1 +FLAGS (\\Answered)")
        self.assertGreater(self.uid_state(a)[1][1], after)
        # A client with the pre-crash value gets the full answer.
        self.ok(a, "e", "ENABLE QRESYNC")
        lines = self.ok(a, "q", f"SELECT INBOX (QRESYNC ({uidvalidity} {seen}))")
        self.assertEqual([d["UID"] for _, d in fetches(lines)], [1, 3])
        highest = int(code_value(lines, "HIGHESTMODSEQ"))

        # The index lost entirely (dovecot-uidlist kept): the UIDVALIDITY
        # stays, and HIGHESTMODSEQ still goes up.
        self.ok(a, "z", "LOGOUT")
        self.wait_closed_index()
        self.daemon.stop()
        os.unlink(os.path.join(self.daemon.maildir(ALICE), "ringmail-index"))
        self.daemon.start()
        self.imap_port = self.daemon.imap_port
        a = self.raw()
        lines = self.ok(a, "s", "SELECT INBOX (CONDSTORE)")
        self.assertEqual(int(code_value(lines, "UIDVALIDITY")), uidvalidity)
        self.assertGreater(int(code_value(lines, "HIGHESTMODSEQ")), highest)

    def test_nomodseq_when_the_owner_file_cannot_be_written(self):
        self.deliver(1)
        maildir = self.daemon.maildir(ALICE)
        deadline = time.monotonic() + 10
        while not os.path.isdir(os.path.join(maildir, "new")) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.mkdir(os.path.join(maildir, "ringmail-index.owner"))  # unwritable as a file
        a = self.raw()
        lines = self.ok(a, "s", "SELECT INBOX (CONDSTORE)")
        self.assertIn("* OK [NOMODSEQ] No permanent modsequences", lines)
        self.assertIsNone(code_value(lines, "HIGHESTMODSEQ"))
        lines = a.cmd("f", "FETCH 1 (MODSEQ)")
        self.assertTrue(lines[-1].startswith("f BAD"), lines)
        lines = a.cmd("t", "STORE 1 (UNCHANGEDSINCE 5) +FLAGS (\\Seen)")
        self.assertTrue(lines[-1].startswith("t BAD"), lines)
        lines = self.ok(a, "st", "STATUS INBOX (HIGHESTMODSEQ)")
        self.assertIn('* STATUS "INBOX" (HIGHESTMODSEQ 0)', lines)
        lines = self.ok(a, "f2", "FETCH 1 (FLAGS)")  # a plain FETCH still works
        self.assertEqual(len(fetches(lines)), 1)

    def test_flag_change_by_rename_outside_ringmail(self):
        self.deliver_and_wait(1, 2)
        a = self.raw()
        lines = self.ok(a, "s", "SELECT INBOX (CONDSTORE)")
        hms = int(code_value(lines, "HIGHESTMODSEQ"))
        directory, name = self.file_of_uid(2)
        self.assertTrue(directory.endswith("new"))
        # mutt marks the message flagged and seen: new/x -> cur/x:2,FS
        os.rename(os.path.join(directory, name),
                  os.path.join(os.path.dirname(directory), "cur", name + ":2,FS"))
        deadline = time.monotonic() + 10
        got = []
        while time.monotonic() < deadline and not got:
            got = fetches(self.ok(a, "n", "NOOP"))
            time.sleep(0.05)
        self.assertEqual(len(got), 1)
        seq, d = got[0]
        self.assertEqual((seq, d["UID"], d["FLAGS"]), (2, 2, {"\\Flagged", "\\Seen"}))
        self.assertGreater(d["MODSEQ"], hms)
        lines = self.ok(a, "f", f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {hms})")
        self.assertEqual([x["UID"] for _, x in fetches(lines)], [2])
