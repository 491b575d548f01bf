"""POP3 UIDLs of ringmail equal Debian's dovecot-pop3d for the same Maildir,
both with Dovecot's default pop3_uidl_format %08Xu%08Xv, in both directions:

- ringmail assigns the UIDs (SMTP delivery, POP3 and IMAP sessions, a DELE
  that leaves a gap); Dovecot, over a COPY of that tree, lists the same
  UIDLs, sizes and bytes.
- Dovecot assigns the UIDs first (it indexes mail ringmail delivered but no
  one has read, and APPENDs over its IMAP); ringmail then lists Dovecot's
  UIDLs, and numbers new mail after them.

A user moving between the two therefore keeps their UIDLs and their POP3
client does not download everything again. Dovecot runs from a private
config (tests/integration/dovecot.py)."""
import os
import poplib
import shutil
import tempfile
import unittest

from dovecot import DOVECOT_UIDL_FORMAT, Dovecot, copy_tree, installed
from harness import Daemon, USERS
from imapcheck import login, smtp_deliver
from mailcheck import make_message

ALICE = "alice@example.test"
CAROL = "carol@other.test"
SENDER = "sender@client.test"


def pop3_view(port, user, retr=True):
    """[(uidl, LIST size, RETR bytes or None)] in message-number order."""
    p = poplib.POP3("127.0.0.1", port, timeout=30)
    try:
        p.user(user)
        p.pass_(USERS[user])
        _, uidl_lines, _ = p.uidl()
        _, list_lines, _ = p.list()
        uidls = [l.split()[1].decode() for l in uidl_lines]
        sizes = [int(l.split()[1]) for l in list_lines]
        bodies = []
        for n in range(1, len(uidls) + 1):
            if retr:
                _, lines, _ = p.retr(n)
                bodies.append(b"\r\n".join(lines) + b"\r\n")
            else:
                bodies.append(None)
        # RSET: RETR's \Seen is not the point here; QUIT deletes nothing.
        p.rset()
        p.quit()
    finally:
        p.close()
    return list(zip(uidls, sizes, bodies))


def pop3_dele(port, user, msgno):
    p = poplib.POP3("127.0.0.1", port, timeout=30)
    try:
        p.user(user)
        p.pass_(USERS[user])
        p.dele(msgno)
        p.quit()
    finally:
        p.close()


class DovecotPop3UidlTest(unittest.TestCase):
    def setUp(self):
        if not installed(pop3=True):
            self.fail("dovecot pop3 is not installed (tools/lib/packages.txt lists dovecot-pop3d)")
        if os.geteuid() != 0:
            self.fail("this test runs its own dovecot and needs root")
        self.daemon = Daemon(imap=True)
        self.addCleanup(self.daemon.cleanup)

    def dovecot(self, data_dir):
        # Its own workdir, so that the copy of the tree and Dovecot's state
        # live apart from ringmail's.
        work = tempfile.mkdtemp(prefix="ringmail-dovecot.")
        if not os.environ.get("RINGMAIL_KEEP_TEST_DIRS"):
            self.addCleanup(shutil.rmtree, work, True)
        d = Dovecot(work, data_dir(work) if callable(data_dir) else data_dir, USERS, pop3=True,
                    uidl_format=DOVECOT_UIDL_FORMAT)
        self.addCleanup(d.stop)
        return d

    def assertUidlFormat(self, view):
        for uidl, _, _ in view:
            self.assertRegex(uidl, r"^[0-9a-f]{16}$")

    def test_ringmail_assigns_dovecot_lists_the_same(self):
        d = self.daemon.start()
        for i in range(4):
            smtp_deliver(d.smtp_port, ALICE, make_message(f"rm-a{i}", SENDER, ALICE))
        smtp_deliver(d.smtp_port, CAROL, make_message("rm-c0", SENDER, CAROL))
        # A POP3 session assigns UIDs to the first batch and deletes one (a
        # gap in the UIDs); later mail gets UIDs in a second sync.
        first = pop3_view(d.pop3_port, ALICE, retr=False)
        self.assertEqual(len(first), 4)
        pop3_dele(d.pop3_port, ALICE, 2)
        for i in range(4, 6):
            smtp_deliver(d.smtp_port, ALICE, make_message(f"rm-a{i}", SENDER, ALICE))
        M = login(d.imap_port, ALICE, USERS[ALICE])
        self.assertEqual(M.append("INBOX", r"(\Seen)", None,
                                  make_message("rm-appended", SENDER, ALICE))[0], "OK")
        M.logout()
        smtp_deliver(d.smtp_port, CAROL, make_message("rm-c1", SENDER, CAROL))
        by_ringmail = {u: pop3_view(d.pop3_port, u) for u in (ALICE, CAROL)}
        d.stop()
        self.assertEqual(len(by_ringmail[ALICE]), 6)
        self.assertEqual(len(by_ringmail[CAROL]), 2)
        self.assertNotIn(first[1][0], [u for u, _, _ in by_ringmail[ALICE]])
        self.assertUidlFormat(by_ringmail[ALICE])

        dc = self.dovecot(lambda work: os.path.join(work, "data"))
        copy_tree(self.daemon.data_dir, dc.data_dir)
        dc.start()
        for user in (ALICE, CAROL):
            by_dovecot = pop3_view(dc.pop3_port, user)
            self.assertEqual([u for u, _, _ in by_ringmail[user]],
                             [u for u, _, _ in by_dovecot], f"{user}: UIDLs differ\n{dc.tail()}")
            self.assertEqual(by_ringmail[user], by_dovecot, f"{user}: sizes or bytes differ")

    def test_dovecot_assigns_ringmail_lists_the_same(self):
        # ringmail delivers mail that no one reads: no UIDs yet.
        d = self.daemon.start()
        for i in range(3):
            smtp_deliver(d.smtp_port, ALICE, make_message(f"dc-a{i}", SENDER, ALICE))
        smtp_deliver(d.smtp_port, CAROL, make_message("dc-c0", SENDER, CAROL))
        d.stop()

        # Dovecot, on the same tree, numbers it, APPENDs more over IMAP and
        # deletes one message over POP3. (Its mail user must reach the tree
        # through ringmail's 0700 temp dir.)
        os.chmod(self.daemon.workdir, 0o711)
        dc = self.dovecot(self.daemon.data_dir)
        dc.start()
        for user in (ALICE, CAROL):
            D = login(dc.port, user, USERS[user])
            for i in range(2):
                typ, data = D.append("INBOX", None, None,
                                     make_message(f"dc-app-{user}-{i}", SENDER, user))
                self.assertEqual(typ, "OK", (data, dc.tail()))
            D.logout()
        pop3_dele(dc.pop3_port, ALICE, 1)
        by_dovecot = {u: pop3_view(dc.pop3_port, u) for u in (ALICE, CAROL)}
        dc.stop()
        self.assertEqual(len(by_dovecot[ALICE]), 4)
        self.assertEqual(len(by_dovecot[CAROL]), 3)
        self.assertUidlFormat(by_dovecot[ALICE])

        d.start()
        for user in (ALICE, CAROL):
            by_ringmail = pop3_view(d.pop3_port, user)
            self.assertEqual([u for u, _, _ in by_dovecot[user]],
                             [u for u, _, _ in by_ringmail], f"{user}: UIDLs differ")
            self.assertEqual(by_dovecot[user], by_ringmail, f"{user}: sizes or bytes differ")
        # New mail continues Dovecot's numbering under its UIDVALIDITY.
        smtp_deliver(d.smtp_port, ALICE, make_message("dc-after", SENDER, ALICE))
        after = pop3_view(d.pop3_port, ALICE, retr=False)
        d.stop()
        self.assertEqual([u for u, _, _ in after[:-1]], [u for u, _, _ in by_dovecot[ALICE]])
        last_uid = max(int(u[:8], 16) for u, _, _ in by_dovecot[ALICE])
        self.assertGreater(int(after[-1][0][:8], 16), last_uid)
        self.assertEqual(after[-1][0][8:], by_dovecot[ALICE][0][0][8:])


if __name__ == "__main__":
    unittest.main()
