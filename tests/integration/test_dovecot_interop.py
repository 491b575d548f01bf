"""ringmail and Dovecot (Debian's dovecot-imapd) over the SAME Maildir root:
what one writes, the other must show with the same UIDVALIDITY, UIDs, flags
(keywords included) and bytes.

The test runs its own Dovecot as root from a private config in a temp dir
(tests/integration/dovecot.py: own base_dir, 127.0.0.1 on a free port,
passwd-file users, mail accessed as the system user ringmail-test). The
system dovecot service is stopped and disabled by tools/lib/common.sh."""
import os
import unittest

from dovecot import DOVECOT, Dovecot
from harness import Daemon, USERS
from imapcheck import fetch_all, flags_of, login, smtp_deliver, uidvalidity
from mailcheck import make_message

ALICE = "alice@example.test"


def snapshot(M, mailboxes):
    """{mailbox: (uidvalidity, {uid: (flags without \\Recent, BODY[])})}."""
    out = {}
    for mb in mailboxes:
        uv = uidvalidity(M, mb)
        typ, data = M.select(mb, readonly=True)
        assert typ == "OK", (mb, data)
        msgs = {}
        if int(data[0]) > 0:
            for uid, d in fetch_all(M, "(UID FLAGS BODY.PEEK[])").items():
                msgs[uid] = (flags_of(d) - {"\\Recent"}, bytes(d["BODY[]"]))
        M.close()
        out[mb] = (uv, msgs)
    return out


class DovecotInteropTest(unittest.TestCase):
    def setUp(self):
        if not os.path.exists(DOVECOT):
            self.fail("dovecot is not installed (tools/lib/packages.txt lists dovecot-imapd)")
        if os.geteuid() != 0:
            self.fail("this test runs its own dovecot and needs root")
        self.daemon = Daemon(imap=True)
        self.addCleanup(self.daemon.cleanup)
        self.dovecot = Dovecot(self.daemon.workdir, self.daemon.data_dir, USERS)
        self.addCleanup(self.dovecot.stop)

    def assertSameView(self, before, after, who):
        self.assertEqual(sorted(before), sorted(after))
        for mb in before:
            uv1, m1 = before[mb]
            uv2, m2 = after[mb]
            self.assertEqual(uv1, uv2, f"{mb}: UIDVALIDITY differs in {who}")
            self.assertEqual(sorted(m1), sorted(m2), f"{mb}: UIDs differ in {who}")
            for uid in m1:
                self.assertEqual(m1[uid][0], m2[uid][0], f"{mb} UID {uid}: flags differ in {who}")
                self.assertEqual(m1[uid][1], m2[uid][1], f"{mb} UID {uid}: BODY[] differs in {who}")

    def test_ringmail_writes_dovecot_reads(self):
        d = self.daemon.start()
        for i in range(2):
            smtp_deliver(d.smtp_port, ALICE, make_message(f"interop-{i}", "s@client.test", ALICE))
        M = login(d.imap_port, ALICE, USERS[ALICE])
        self.assertEqual(M.create("Stuff")[0], "OK")
        typ, data = M.append("INBOX", r"(\Seen $Custom)", '"02-Jan-2021 03:04:05 +0000"',
                             make_message("interop-appended", "a@client.test", ALICE))
        self.assertEqual(typ, "OK", data)
        M.select("INBOX")
        M.store("1", "+FLAGS", r"(\Flagged $Work)")
        M.store("2", "+FLAGS", r"(\Answered)")
        self.assertEqual(M.copy("1,3", "Stuff")[0], "OK")
        M.close()
        seen_by_ringmail = snapshot(M, ["INBOX", "Stuff"])
        M.logout()
        self.assertEqual(len(seen_by_ringmail["INBOX"][1]), 3)
        self.assertEqual(len(seen_by_ringmail["Stuff"][1]), 2)
        d.stop()

        self.dovecot.start()
        D = login(self.dovecot.port, ALICE, USERS[ALICE])
        seen_by_dovecot = snapshot(D, ["INBOX", "Stuff"])
        D.logout()
        self.assertSameView(seen_by_ringmail, seen_by_dovecot, "dovecot")
        # Keywords really were written (not merely both sides empty).
        inbox = seen_by_dovecot["INBOX"][1]
        self.assertIn("$Work", inbox[min(inbox)][0])
        self.assertIn("$Custom", inbox[max(inbox)][0])

    def test_dovecot_writes_ringmail_reads(self):
        # ringmail delivers first so that both servers share history.
        d = self.daemon.start()
        smtp_deliver(d.smtp_port, ALICE, make_message("from-ringmail", "s@client.test", ALICE))
        d.stop()

        self.dovecot.start()
        D = login(self.dovecot.port, ALICE, USERS[ALICE])
        self.assertEqual(D.create("Dove/Sub")[0], "OK", self.dovecot.tail())
        typ, data = D.append("INBOX", r"(\Flagged $Dove)", '"03-Feb-2022 04:05:06 +0000"',
                             make_message("dove-appended", "d@client.test", ALICE))
        self.assertEqual(typ, "OK", data)
        typ, data = D.append("Dove/Sub", r"(\Seen)", None,
                             make_message("dove-sub", "d@client.test", ALICE))
        self.assertEqual(typ, "OK", data)
        D.select("INBOX")
        D.store("1", "+FLAGS", r"(\Seen $FromDove)")
        self.assertEqual(D.copy("2", "Dove/Sub")[0], "OK")
        D.close()
        seen_by_dovecot = snapshot(D, ["INBOX", "Dove/Sub"])
        D.logout()
        self.assertEqual(len(seen_by_dovecot["INBOX"][1]), 2)
        self.assertEqual(len(seen_by_dovecot["Dove/Sub"][1]), 2)
        self.dovecot.stop()

        d.start()
        M = login(d.imap_port, ALICE, USERS[ALICE])
        seen_by_ringmail = snapshot(M, ["INBOX", "Dove/Sub"])
        M.logout()
        d.stop()
        self.assertSameView(seen_by_dovecot, seen_by_ringmail, "ringmail")
        # Keywords really were written (not merely both sides empty). Which
        # UID each message got is Dovecot's choice (it may number its own
        # APPEND before the file delivered into new/), so look at all.
        inbox_flags = set().union(*(f for f, _ in seen_by_ringmail["INBOX"][1].values()))
        self.assertIn("$FromDove", inbox_flags)
        self.assertIn("$Dove", inbox_flags)
