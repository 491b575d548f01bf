"""SORT, THREAD (RFC 5256, with DISPLAYFROM/DISPLAYTO of RFC 5957) and
ESEARCH (RFC 4731) end to end: messages with crafted Subject/From/To/Cc/
Date/Message-ID/References/In-Reply-To are APPENDed with chosen internal
dates, then the exact untagged responses are checked, before and after the
server has cached their MIME structures (the keys then come from the
cached ENVELOPE instead of the message files)."""
import re

from harness import DaemonTestCase, USERS
from imapcheck import RawIMAP, login, resp_code, quiet_logout

ALICE = "alice@example.test"


def message(subject, sender, to=None, cc=None, date=None, msgid=None,
            references=None, in_reply_to=None, pad=0):
    lines = [f"From: {sender}", f"Subject: {subject}"]
    if to:
        lines.append(f"To: {to}")
    if cc:
        lines.append(f"Cc: {cc}")
    if date:
        lines.append(f"Date: {date}")
    if msgid:
        lines.append(f"Message-ID: {msgid}")
    if references:
        lines.append(f"References: {references}")
    if in_reply_to:
        lines.append(f"In-Reply-To: {in_reply_to}")
    body = "".join("x" * 48 + "\r\n" for _ in range(pad // 50)) or "hi\r\n"
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


# (internal date, message). Sequence numbers 1..8 in this order; UIDs are
# 3..10 (two throw-away messages are expunged first). The sent dates (UTC)
# order them 3 6 7 1 2 4 5 8; internal dates 3 6 5 4 2 1 7 8; sizes (pad)
# 5 2 8 1 7 3 6 4.
MESSAGES = [
    ("05-Mar-2020 10:00:00 +0000",
     message("Project plan", "Carol <carol@example.test>", to="Dave <dave@example.test>",
             date="Mon, 02 Mar 2020 10:00:00 +0000", msgid="<p1@t>", pad=4000)),
    ("04-Mar-2020 10:00:00 +0000",
     message("Re: Project plan", "alice@example.test", to="Carol <carol@example.test>",
             date="Mon, 02 Mar 2020 12:00:00 +0100", msgid="<p2@t>",
             in_reply_to="<p1@t>", pad=2000)),
    ("01-Mar-2020 10:00:00 +0000",
     message("=?UTF-8?Q?Caf=C3=A9_menu?=", "=?UTF-8?Q?Zo=C3=AB?= <zoe@example.test>",
             to="Zed <bob@example.test>", date="Sun, 01 Mar 2020 09:00:00 +0000",
             msgid="<c1@t>", pad=6000)),
    ("03-Mar-2020 10:00:00 +0000",
     message("Re: [team] Fwd: Re: project plan (fwd)", "Bob <bob@example.test>",
             to="Dave <dave@example.test>", cc="Eve <eve@example.test>",
             date="Tue, 03 Mar 2020 08:00:00 +0000", msgid="<p3@t>",
             references="<p1@t> <p2@t>", pad=8000)),
    ("02-Mar-2020 10:00:00 +0000",
     message("Re: Project plan", "Dave <dave@example.test>", to="Carol <carol@example.test>",
             cc="team: frank@example.test;", date="Tue, 03 Mar 2020 07:00:00 -0500",
             msgid="<p4@t>", references="<p1@t>\r\n <p2@t>", pad=1000)),
    # No Date: the internal date is its sent date. Its parent is missing.
    ("02-Mar-2020 09:30:00 +0000",
     message("Re: lunch", "Alice <alice@example.test>", msgid="<l2@t>",
             in_reply_to="<l1@t>", pad=7000)),
    ("06-Mar-2020 10:00:00 +0000",
     message("Re: lunch", "Bob <bob@example.test>", date="Mon, 02 Mar 2020 09:45:00 +0000",
             msgid="<l3@t>", references="<l1@t>", pad=5000)),
    ("07-Mar-2020 10:00:00 +0000",
     message("Re: =?ISO-8859-1?Q?Caf=E9?= menu", "Yann <yann@example.test>",
             to="alice@example.test", date="Wed, 04 Mar 2020 10:00:00 +0000",
             msgid="<c2@t>", pad=3000)),
]

# command -> the one untagged line expected, by sequence number.
SORTS = {
    "SORT (DATE) UTF-8 ALL": "* SORT 3 6 7 1 2 4 5 8",
    "SORT (ARRIVAL) UTF-8 ALL": "* SORT 3 6 5 4 2 1 7 8",
    "SORT (SIZE) UTF-8 ALL": "* SORT 5 2 8 1 7 3 6 4",
    "SORT (REVERSE SIZE) US-ASCII ALL": "* SORT 4 6 3 7 1 8 2 5",
    "SORT (SUBJECT) UTF-8 ALL": "* SORT 3 8 6 7 1 2 4 5",
    "SORT (SUBJECT REVERSE DATE) UTF-8 ALL": "* SORT 8 3 7 6 5 4 2 1",
    "SORT (FROM) UTF-8 ALL": "* SORT 2 6 4 7 1 5 8 3",
    # REVERSE does not reverse the sequence-number tie-break (4 7, 2 6).
    "SORT (REVERSE FROM) UTF-8 ALL": "* SORT 3 8 5 1 4 7 2 6",
    # Missing To sorts as "".
    "SORT (TO) UTF-8 ALL": "* SORT 6 7 8 3 2 5 1 4",
    "SORT (TO REVERSE ARRIVAL) UTF-8 ALL": "* SORT 7 6 8 3 2 5 1 4",
    # A group's first member counts.
    "SORT (CC) UTF-8 ALL": "* SORT 1 2 3 6 7 8 4 5",
    "SORT (DISPLAYFROM) UTF-8 ALL": "* SORT 6 2 4 7 1 5 8 3",
    "SORT (DISPLAYTO) UTF-8 ALL": "* SORT 6 7 8 2 5 1 4 3",
    "SORT (REVERSE DATE) UTF-8 SUBJECT project": "* SORT 5 4 2 1",
    "SORT (ARRIVAL) UTF-8 FROM bob": "* SORT 4 7",
    "SORT (ARRIVAL) UTF-8 BODY nowhere-to-be-found": "* SORT",
    "THREAD ORDEREDSUBJECT UTF-8 ALL": "* THREAD (3 8)(6 7)(1 (2)(4)(5))",
    "THREAD REFERENCES UTF-8 ALL": "* THREAD (3 8)((6)(7))(1 2 (4)(5))",
    "THREAD REFERENCES UTF-8 NOT FROM zoe": "* THREAD ((6)(7))(1 2 (4)(5))(8)",
    "THREAD REFERENCES UTF-8 SUBJECT nothing-matches": "* THREAD",
    # UIDs are sequence numbers + 2.
    "UID SORT (SUBJECT) UTF-8 ALL": "* SORT 5 10 8 9 3 4 6 7",
    "UID SORT (REVERSE ARRIVAL) UTF-8 UID 5:8": "* SORT 6 7 8 5",
    "UID THREAD REFERENCES UTF-8 ALL": "* THREAD (5 10)((8)(9))(3 4 (6)(7))",
    "UID THREAD ORDEREDSUBJECT UTF-8 ALL": "* THREAD (5 10)(8 9)(3 (4)(6)(7))",
}


class ImapSortThreadTest(DaemonTestCase):
    imap = True

    def setUp(self):
        super().setUp()
        M = login(self.imap_port, ALICE, USERS[ALICE])
        self.addCleanup(quiet_logout, M)
        typ, data = M.select("INBOX")  # creates the Maildir
        self.assertEqual(typ, "OK", data)
        for i in range(2):
            typ, data = M.append("INBOX", None, None,
                                 message(f"junk {i}", "x@example.test", pad=100))
            self.assertEqual(typ, "OK", data)
        for internal, msg in MESSAGES:
            typ, data = M.append("INBOX", None, f'"{internal}"', msg)
            self.assertEqual(typ, "OK", data)
        typ, data = M.noop()
        M.store("1:2", "+FLAGS", r"(\Deleted)")
        typ, data = M.expunge()
        self.assertEqual(typ, "OK", data)
        typ, data = M.fetch("1:*", "(UID)")
        uids = [int(d.split()[2].rstrip(b")")) for d in data]
        self.assertEqual(uids, list(range(3, 11)), data)

    def raw(self):
        r = RawIMAP(self.imap_port)
        self.addCleanup(r.close)
        self.assertTrue(r.line().startswith("* OK"))
        lines = r.cmd("l", f"LOGIN {ALICE} {USERS[ALICE]}")
        self.assertTrue(lines[-1].startswith("l OK"), lines)
        lines = r.cmd("s", "SELECT INBOX")
        self.assertTrue(lines[-1].startswith("s OK"), lines)
        return r

    def run_command(self, r, tag, command):
        """The untagged lines of `command`; asserts a tagged OK."""
        lines = r.cmd(tag, command)
        self.assertTrue(lines[-1].startswith(f"{tag} OK"), (command, lines))
        return lines[:-1]

    def check_all(self, r):
        for i, (command, want) in enumerate(SORTS.items()):
            got = self.run_command(r, f"q{i}", command)
            self.assertEqual(got, [want], command)

    def test_capabilities(self):
        r = self.raw()
        caps = self.run_command(r, "c", "CAPABILITY")[0].split()
        for cap in ("ESEARCH", "SORT", "SORT=DISPLAY", "THREAD=REFERENCES",
                    "THREAD=ORDEREDSUBJECT"):
            self.assertIn(cap, caps)

    def test_sort_and_thread(self):
        r = self.raw()
        self.check_all(r)
        # FETCH ENVELOPE caches every structure: the same answers come from
        # the cached ENVELOPE data (THREAD=REFERENCES still reads files).
        self.run_command(r, "f", "FETCH 1:* ENVELOPE")
        self.check_all(r)

    def test_sort_with_modseq_key(self):
        # RFC 7162 §3.1.5: a MODSEQ search key enables CONDSTORE and SORT
        # reports the highest mod-sequence of the messages it returns.
        r = self.raw()
        got = self.run_command(r, "m1", "SORT (REVERSE DATE) UTF-8 SUBJECT project MODSEQ 1")
        # Enabling CONDSTORE may add "* OK [HIGHESTMODSEQ n]" first (§3.1).
        got = [line for line in got if not line.startswith("* OK [HIGHESTMODSEQ ")]
        self.assertEqual(len(got), 1, got)
        m = re.fullmatch(r"\* SORT 5 4 2 1 \(MODSEQ (\d+)\)", got[0])
        self.assertIsNotNone(m, got)
        fetched = self.run_command(r, "m2", "FETCH 1,2,4,5 (MODSEQ)")
        modseqs = [int(re.search(r"MODSEQ \((\d+)\)", line).group(1)) for line in fetched]
        self.assertEqual(int(m.group(1)), max(modseqs), fetched)
        # THREAD takes a MODSEQ key too (no MODSEQ in its response).
        self.assertEqual(self.run_command(r, "m3", "THREAD REFERENCES UTF-8 MODSEQ 1 FROM bob"),
                         ["* THREAD (7)(4)"])

    def test_imaplib_sort_and_thread(self):
        M = login(self.imap_port, ALICE, USERS[ALICE])
        self.addCleanup(quiet_logout, M)
        M.select("INBOX", readonly=True)
        typ, data = M.sort("(REVERSE DATE)", "UTF-8", "ALL")
        self.assertEqual((typ, data), ("OK", [b"8 5 4 2 1 7 6 3"]))
        typ, data = M.uid("SORT", "(DATE)", "UTF-8", "ALL")
        self.assertEqual((typ, data), ("OK", [b"5 8 9 3 4 6 7 10"]))
        typ, data = M.thread("REFERENCES", "UTF-8", "ALL")
        self.assertEqual((typ, data), ("OK", [b"(3 8)((6)(7))(1 2 (4)(5))"]))

    def test_esearch(self):
        r = self.raw()
        self.assertEqual(
            self.run_command(r, "t1", "SEARCH RETURN (MIN MAX COUNT ALL) SUBJECT project"),
            ['* ESEARCH (TAG "t1") MIN 1 MAX 5 COUNT 4 ALL 1:2,4:5'])
        self.assertEqual(
            self.run_command(r, "t2", "UID SEARCH RETURN (MIN MAX COUNT ALL) SUBJECT project"),
            ['* ESEARCH (TAG "t2") UID MIN 3 MAX 7 COUNT 4 ALL 3:4,6:7'])
        self.assertEqual(self.run_command(r, "t3", "SEARCH RETURN () FROM bob"),
                         ['* ESEARCH (TAG "t3") ALL 4,7'])
        self.assertEqual(self.run_command(r, "t4", "UID SEARCH RETURN (MAX) CHARSET UTF-8 ALL"),
                         ['* ESEARCH (TAG "t4") UID MAX 10'])
        self.assertEqual(
            self.run_command(r, "t5", "SEARCH RETURN (COUNT MIN) SUBJECT nothing-matches"),
            ['* ESEARCH (TAG "t5") COUNT 0'])
        self.assertEqual(self.run_command(r, "t6", "SEARCH RETURN (MIN) BODY nothing-matches"),
                         ['* ESEARCH (TAG "t6")'])
        # Without RETURN, SEARCH answers as before.
        self.assertEqual(self.run_command(r, "t7", "SEARCH FROM bob"), ["* SEARCH 4 7"])
        # imaplib leaves ESEARCH among its untagged responses.
        M = login(self.imap_port, ALICE, USERS[ALICE])
        self.addCleanup(quiet_logout, M)
        M.select("INBOX", readonly=True)
        typ, _ = M.uid("SEARCH", "RETURN", "(COUNT ALL)", "ALL")
        self.assertEqual(typ, "OK")
        _, data = M.response("ESEARCH")
        self.assertEqual(data[0].split(b") ", 1)[1], b"UID COUNT 8 ALL 3:10")

    def test_bad_input(self):
        r = self.raw()
        for tag, command, want in [
                ("b1", "SORT (BOGUS) UTF-8 ALL", "b1 BAD"),
                ("b2", "SORT (REVERSE) UTF-8 ALL", "b2 BAD"),
                ("b3", "SORT () UTF-8 ALL", "b3 BAD"),
                ("b4", "SORT (DATE) UTF-8", "b4 BAD"),
                ("b5", "SORT (DATE) KOI8-R ALL", "b5 NO [BADCHARSET"),
                ("b6", "THREAD BOGUS UTF-8 ALL", "b6 BAD"),
                ("b7", "THREAD REFERENCES KOI8-R ALL", "b7 NO [BADCHARSET"),
                ("b8", "SEARCH RETURN (SAVE) ALL", "b8 BAD"),
                ("b9", "SEARCH RETURN (BOGUS) ALL", "b9 BAD"),
                ("b10", "SORT (DATE) UTF-8 5:9", "b10 OK"),
                ("b11", "SORT (DATE) UTF-8 ALL (", "b11 BAD")]:
            lines = r.cmd(tag, command)
            self.assertTrue(lines[-1].startswith(want), (command, lines))
        # Not in the authenticated state.
        lines = r.cmd("u", "UNSELECT")
        self.assertTrue(lines[-1].startswith("u OK"), lines)
        for tag, command in [("n1", "SORT (DATE) UTF-8 ALL"),
                             ("n2", "UID THREAD REFERENCES UTF-8 ALL")]:
            lines = r.cmd(tag, command)
            self.assertTrue(lines[-1].startswith(f"{tag} BAD"), lines)
        # The session is still usable.
        self.assertEqual(self.run_command(r, "c", "CAPABILITY")[0].split()[0], "*")
