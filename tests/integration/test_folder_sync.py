"""A folder changed behind ringmail's back (another Maildir program renaming,
adding and deleting files while ringmail runs), and the directory stamps
that let an unchanged folder reopen without a listing (docs/mailbox-index.md,
"Skipping the directory listing"). The same-second rule itself is tested
with a fake clock in storage/mailbox/folder_sync_test.cc."""
import imaplib
import os
import poplib
import time

from harness import DaemonTestCase, USERS
from imapcheck import login, parse_fetch

ALICE = "alice@example.test"
LETTER_FLAGS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen",
                "T": "\\Deleted"}
SUBJECT_ITEM = "BODY[HEADER.FIELDS (SUBJECT)]"


class FolderSyncTest(DaemonTestCase):
    imap = True

    def setUp(self):
        super().setUp()
        self.md = self.daemon.maildir(ALICE)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.md, sub), exist_ok=True)
        self.serial = 0

    # ------------------------------------------------------------ the other tool
    def add(self, sub, flags=""):
        """A new message file as procmail/mutt/Dovecot would write it; its
        Subject is its key."""
        self.serial += 1
        key = f"{1600000000 + self.serial}.M{self.serial}P77.othertool"
        name = key if sub == "new" else f"{key}:2,{flags}"
        with open(os.path.join(self.md, "tmp", key), "w") as f:
            f.write(f"Subject: {key}\n\nbody {self.serial}\n")
        os.rename(os.path.join(self.md, "tmp", key), os.path.join(self.md, sub, name))
        return key

    def files(self):
        """{key: (sub, name)} of every message file."""
        out = {}
        for sub in ("new", "cur"):
            for n in os.listdir(os.path.join(self.md, sub)):
                out[n.split(":", 1)[0]] = (sub, n)
        return out

    def set_flags(self, key, flags):
        sub, name = self.files()[key]
        os.rename(os.path.join(self.md, sub, name),
                  os.path.join(self.md, "cur", f"{key}:2,{flags}"))

    def delete(self, key):
        sub, name = self.files()[key]
        os.unlink(os.path.join(self.md, sub, name))

    def expected(self):
        """{subject: frozenset of IMAP flags} from the directory."""
        out = {}
        for key, (sub, name) in self.files().items():
            letters = name.split(":2,", 1)[1] if sub == "cur" and ":2," in name else ""
            out[key] = frozenset(LETTER_FLAGS[c] for c in letters if c in LETTER_FLAGS)
        return out

    # ------------------------------------------------------------ IMAP side
    def client(self):
        M = login(self.imap_port, ALICE, USERS[ALICE])
        self.addCleanup(self._logout, M)
        return M

    @staticmethod
    def _logout(M):
        try:
            M.logout()
        except (imaplib.IMAP4.error, OSError):
            pass

    def state(self, M):
        """({subject: frozenset of flags}, {subject: uid}) of the selected
        mailbox (\\Recent left out: it is session state)."""
        typ, data = M.fetch("1:*", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(typ, "OK", data)
        if data == [None]:
            return {}, {}
        flags, uids = {}, {}
        for _, d in parse_fetch(data):
            if SUBJECT_ITEM not in d:
                continue  # an unsolicited flag update (another change)
            raw = d[SUBJECT_ITEM]
            raw = bytes(getattr(raw, "data", raw))
            subject = raw.decode().split(":", 1)[1].strip()
            flags[subject] = frozenset(str(f) for f in d["FLAGS"] if str(f) != "\\Recent")
            uids[subject] = int(d["UID"])
        return flags, uids

    def wait_state(self, M, timeout=15.0):
        """Waits (NOOP, bounded) until the selected session shows the
        directory's state; returns the UIDs."""
        deadline = time.monotonic() + timeout
        while True:
            M.noop()
            flags, uids = self.state(M)
            if flags == self.expected():
                return uids
            if time.monotonic() > deadline:
                self.assertEqual(flags, self.expected())
            time.sleep(0.05)

    def select_state(self, M):
        typ, data = M.select("INBOX")
        self.assertEqual(typ, "OK", data)
        return self.state(M)

    def wait_index_written(self, after):
        """Waits until ringmail-index was written after `after` (the last
        session left and the folder's final state was saved)."""
        path = os.path.join(self.md, "ringmail-index")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if os.stat(path).st_mtime_ns > after:
                    return
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        self.fail("ringmail-index was not written")

    def change_behind_ringmails_back(self):
        """Renames (flag changes, new/ -> cur/), deletions and new files."""
        keys = sorted(self.files())
        for k in keys[0:12]:
            self.set_flags(k, "FS")
        for k in keys[12:18]:
            self.set_flags(k, "")  # flags cleared
        for k in keys[18:24]:
            self.delete(k)
        for _ in range(5):
            self.add("new")
        for _ in range(3):
            self.add("cur", "RS")

    # ------------------------------------------------------------ tests
    def test_changes_by_another_program_while_open_closed_and_after_restart(self):
        for i in range(150):
            self.add("cur", "S" if i % 3 else "")
        for _ in range(20):
            self.add("new")
        a = self.client()
        flags, uids_a = self.select_state(a)
        self.assertEqual(flags, self.expected())

        # While a session has the folder selected (inotify on).
        self.change_behind_ringmails_back()
        uids_a = self.wait_state(a)
        b = self.client()
        flags, uids_b = self.select_state(b)
        self.assertEqual(flags, self.expected())
        self.assertEqual(uids_b, uids_a)  # UIDs are stable across sessions

        # Every session gone: the folder state is dropped, the index saved.
        left = time.time_ns()
        a.logout()
        b.logout()
        self.wait_index_written(left)
        self.change_behind_ringmails_back()
        c = self.client()
        flags, uids_c = self.select_state(c)
        self.assertEqual(flags, self.expected())
        for k, uid in uids_c.items():
            if k in uids_a:
                self.assertEqual(uid, uids_a[k], k)
        c.logout()

        # ringmail down: the next open starts from the index file.
        self.daemon.stop()
        self.change_behind_ringmails_back()
        self.daemon.start()
        self.imap_port = self.daemon.imap_port
        d = self.client()
        flags, uids_d = self.select_state(d)
        self.assertEqual(flags, self.expected())
        for k, uid in uids_d.items():
            if k in uids_c:
                self.assertEqual(uid, uids_c[k], k)
        # POP3 uses the same folder state.
        p = poplib.POP3("127.0.0.1", self.daemon.pop3_port, timeout=30)
        p.user(ALICE)
        p.pass_(USERS[ALICE])
        self.assertEqual(p.stat()[0], len(self.expected()))
        p.quit()

    def test_a_settled_unchanged_directory_is_not_listed_again(self):
        for _ in range(5):
            self.add("cur", "S")
        # cur/ and new/ last changed long ago: the stamps ringmail records
        # are settled (an mtime in a second before the listing's).
        old = time.time() - 100
        for sub in ("cur", "new"):
            os.utime(os.path.join(self.md, sub), (old, old))
        keeper = self.client()  # keeps the user's folder states in memory
        a = self.client()
        flags, _ = self.select_state(a)
        self.assertEqual(len(flags), 5)
        a.logout()

        def add_hidden():
            """A file added with cur/'s stamp put back as it was: only a
            change within the same clock tick as the recorded stamp could
            do this for real, which the same-second rule excludes. A listing
            would see the file; a skipped one does not."""
            cur = os.path.join(self.md, "cur")
            before = os.stat(cur)
            key = self.add("cur", "S")
            os.utime(cur, ns=(before.st_atime_ns, before.st_mtime_ns))
            if os.stat(cur).st_size != before.st_size:
                self.skipTest("this file system changes directory sizes per entry")
            return key

        # 1. The folder state still in memory (another session is open).
        hidden = add_hidden()
        b = self.client()
        flags, _ = self.select_state(b)
        self.assertNotIn(hidden, flags)
        self.assertEqual(len(flags), 5)
        b.logout()
        # 2. Reloaded from ringmail-index after a restart.
        keeper.logout()
        self.daemon.stop()
        hidden2 = add_hidden()
        self.daemon.start()
        self.imap_port = self.daemon.imap_port
        c = self.client()
        flags, _ = self.select_state(c)
        self.assertEqual(len(flags), 5)
        self.assertNotIn(hidden2, flags)
        c.logout()
        # 3. Any real change moves the stamp: both files appear.
        os.utime(os.path.join(self.md, "cur"))
        d = self.client()
        flags, _ = self.select_state(d)
        self.assertEqual(flags, self.expected())
        self.assertIn(hidden, flags)
        self.assertIn(hidden2, flags)

    def test_first_open_of_a_large_folder(self):
        """12,000 messages: above the sizes from which a first open builds
        the index on a helper and saves it at once (folder_state.cc,
        kBuildOnHelperMin and kSaveAfterAdded)."""
        n = 12000
        cur = os.path.join(self.md, "cur")
        for i in range(n):
            with open(os.path.join(cur, f"{1600000000 + i}.M{i}P9.big,S=20:2,{'S' if i % 2 else ''}"),
                      "w") as f:
                f.write(f"Subject: big {i}\n\nx\n")
        a = self.client()
        typ, data = a.select("INBOX")
        self.assertEqual(typ, "OK")
        self.assertEqual(int(data[0]), n)
        # Saved while the session is still open (not only when it leaves).
        path = os.path.join(self.md, "ringmail-index")
        deadline = time.monotonic() + 15
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(os.path.exists(path))
        typ, data = a.uid("SEARCH", None, "UNSEEN")
        self.assertEqual(typ, "OK")
        unseen = [int(u) for u in data[0].split()]
        self.assertEqual(len(unseen), n // 2)
        # UIDs in Maildir time order: the message of second i has UID i + 1.
        self.assertEqual(unseen[:3], [1, 3, 5])
        typ, data = a.fetch(f"{n}", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(typ, "OK")
        self.assertIn(f"big {n - 1}".encode(), data[0][1])
        b = self.client()
        typ, data = b.select("INBOX")
        self.assertEqual(int(data[0]), n)
        typ, data = b.uid("SEARCH", None, "UNSEEN")
        self.assertEqual([int(u) for u in data[0].split()], unseen)
