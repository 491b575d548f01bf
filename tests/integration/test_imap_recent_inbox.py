"""RFC 3501 session state that several sessions share: \\Recent goes to
exactly one session (§2.3.2), INBOX exists for every user (§5.1), and SEARCH
HEADER sees every header field FETCH returns (§6.4.4)."""
import re
import time

from harness import DaemonTestCase, USERS
from imapcheck import fetch_all, flags_of, login, smtp_deliver, quiet_logout

ALICE = "alice@example.test"
BOB = "bob@example.test"
DAVE = "dave@other.test"


def message(subject):
    return (f"From: <sender@client.test>\r\nTo: <alice@example.test>\r\n"
            f"Subject: {subject}\r\n\r\nbody\r\n").encode()


def status_items(M, mailbox, items):
    typ, data = M.status(mailbox, f"({items})")
    if typ != "OK":
        raise AssertionError(f"STATUS {mailbox}: {typ} {data}")
    text = data[0].decode()
    return {k: int(v) for k, v in re.findall(r"([A-Z]+) (\d+)", text.split("(", 1)[1])}


class RecentTest(DaemonTestCase):
    imap = True

    def client(self, user=ALICE):
        M = login(self.imap_port, user, USERS[user])
        self.addCleanup(quiet_logout, M)
        return M

    @staticmethod
    def wait_exists(M, n, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            M.noop()
            typ, data = M.search(None, "ALL")
            if typ == "OK" and len(data[0].split()) >= n:
                return
            time.sleep(0.1)
        raise AssertionError(f"never saw {n} messages")

    def test_two_selected_sessions_one_recent_and_status_zero(self):
        smtp_deliver(self.port, ALICE, message("warm-up"))
        self.daemon.wait_for_count(ALICE, 1)
        a, b, c = self.client(), self.client(), self.client()
        self.assertEqual(a.select("INBOX")[0], "OK")
        self.assertEqual(b.select("INBOX")[0], "OK")
        smtp_deliver(self.port, ALICE, message("new one"))
        self.daemon.wait_for_count(ALICE, 2)
        self.wait_exists(a, 2)
        self.wait_exists(b, 2)
        recent_a = {u for u, d in fetch_all(a, "(UID FLAGS)").items() if "\\Recent" in flags_of(d)}
        recent_b = {u for u, d in fetch_all(b, "(UID FLAGS)").items() if "\\Recent" in flags_of(d)}
        self.assertEqual(len(recent_a & recent_b), 0, (recent_a, recent_b))
        # The message went to one of the selecting sessions, so for a third
        # session it is not recent any more.
        self.assertEqual(len(recent_a | recent_b), 2, (recent_a, recent_b))
        self.assertEqual(status_items(c, "INBOX", "MESSAGES RECENT")["RECENT"], 0)

    def test_select_then_close_leaves_status_recent_zero(self):
        for i in range(2):
            smtp_deliver(self.port, ALICE, message(f"m{i}"))
        self.daemon.wait_for_count(ALICE, 2)
        a = self.client()
        self.assertEqual(status_items(a, "INBOX", "RECENT")["RECENT"], 2)
        typ, data = a.select("INBOX")
        self.assertEqual(typ, "OK")
        self.assertEqual(int(a.response("RECENT")[1][0]), 2)
        a.close()
        self.assertEqual(status_items(a, "INBOX", "RECENT")["RECENT"], 0)
        b = self.client()
        b.select("INBOX")
        self.assertEqual(int(b.response("RECENT")[1][0]), 0)
        self.assertFalse(any("\\Recent" in flags_of(d)
                             for d in fetch_all(b, "(UID FLAGS)").values()))

    def test_examine_does_not_take_recent(self):
        smtp_deliver(self.port, ALICE, message("m"))
        self.daemon.wait_for_count(ALICE, 1)
        a = self.client()
        a.select("INBOX", readonly=True)
        self.assertEqual(int(a.response("RECENT")[1][0]), 1)
        a.close()
        b = self.client()
        b.select("INBOX")
        self.assertEqual(int(b.response("RECENT")[1][0]), 1)
        c = self.client()
        c.select("INBOX")
        self.assertEqual(int(c.response("RECENT")[1][0]), 0)


class InboxAlwaysExistsTest(DaemonTestCase):
    imap = True

    def test_status_select_examine_append_for_user_without_mail(self):
        # dave has never received mail: no Maildir on disk yet.
        M = login(self.imap_port, DAVE, USERS[DAVE])
        try:
            st = status_items(M, "INBOX", "MESSAGES UNSEEN RECENT UIDNEXT")
            self.assertEqual(st["MESSAGES"], 0)
            self.assertEqual(st["UIDNEXT"], 1)
            typ, data = M.select("INBOX", readonly=True)
            self.assertEqual((typ, data), ("OK", [b"0"]))
            typ, data = M.select("INBOX")
            self.assertEqual((typ, data), ("OK", [b"0"]))
            M.close()
            self.assertEqual(M.append("INBOX", None, None, message("first"))[0], "OK")
            self.assertEqual(status_items(M, "INBOX", "MESSAGES")["MESSAGES"], 1)
        finally:
            M.logout()

    def test_status_first_for_fresh_user(self):
        M = login(self.imap_port, BOB, USERS[BOB])
        try:
            self.assertEqual(status_items(M, "inbox", "MESSAGES")["MESSAGES"], 0)
        finally:
            M.logout()


class SearchHeaderTest(DaemonTestCase):
    imap = True

    def test_header_after_the_thousandth_field(self):
        fillers = "".join(f"X-Filler: {i}\r\n" for i in range(1200))
        msg = (f"From: <s@client.test>\r\nTo: <alice@example.test>\r\n{fillers}"
               "X-Late: needle\r\nSubject: late\r\n\r\nbody\r\n").encode()
        M = login(self.imap_port, ALICE, USERS[ALICE])
        try:
            self.assertEqual(M.append("INBOX", None, None, msg)[0], "OK")
            M.select("INBOX")
            typ, data = M.fetch("1", "(BODY.PEEK[HEADER.FIELDS (X-LATE)])")
            self.assertIn(b"needle", data[0][1])
            typ, data = M.search(None, "HEADER", "X-Late", "needle")
            self.assertEqual(data[0].split(), [b"1"])
            typ, data = M.search(None, "SUBJECT", "late")
            self.assertEqual(data[0].split(), [b"1"])
        finally:
            M.logout()


if __name__ == "__main__":
    import unittest
    unittest.main()
