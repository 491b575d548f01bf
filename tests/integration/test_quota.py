"""Per-user quotas (RFC 9208 IMAP QUOTA, Maildir++ maildirsize): limits from
the passwd-file's Dovecot quota rules and the config default, SMTP and
LMTP refusals (452 4.2.2 / 552 5.2.2), APPEND/COPY over quota, space given
back by EXPUNGE and POP3 DELE, and a maildirsize file Dovecot reads the same
way."""
import imaplib
import os
import poplib
import shutil
import smtplib
import tempfile
import unittest

from harness import Daemon, DaemonTestCase, RawSMTP, parse_maildir_name
from imapcheck import login, smtp_deliver, quiet_logout
import dovecot

QUOTA = "quota@example.test"  # 10 KiB, 3 messages (passwd-file rules)
ALICE = "alice@example.test"  # the config default: 1000000 bytes
BOB = "bob@example.test"      # storage=0: unlimited despite the default
USERS = {QUOTA: "quota-pw", ALICE: "alice-pw", BOB: "bob-pw",
         "carol@other.test": "carol-pw"}
EXTRA = {
    QUOTA: "userdb_quota_rule=*:storage=10K userdb_quota_rule2=*:messages=3",
    BOB: "quota_rule=*:storage=0",
}
DEFAULT_STORAGE = 1000000
LIMIT_BYTES = 10 * 1024
LIMIT_MESSAGES = 3
ROOT = '"User quota"'


def message(body_bytes, subject="quota test"):
    body = ("x" * 70 + "\r\n") * (body_bytes // 72) + "y" * (body_bytes % 72)
    return (f"From: <sender@client.test>\r\nTo: <{QUOTA}>\r\nSubject: {subject}\r\n"
            f"\r\n{body}\r\n").encode()


def kib_up(n):
    return (n + 1023) // 1024


class QuotaTest(DaemonTestCase):
    imap = True

    def setUp(self):
        # Like DaemonTestCase.setUp, with extra fields in the passwd-file.
        self.daemon = Daemon(extra_args=[f"--quota_storage={DEFAULT_STORAGE}"],
                             users=USERS, imap=True)
        self.addCleanup(self.daemon.cleanup)
        self.addCleanup(self.daemon.stop)
        with open(self.daemon.passwd_file, "w") as f:
            for user, pw in sorted(USERS.items()):
                f.write(f"{user}:{{PLAIN}}{pw}::::::{EXTRA.get(user, '')}\n")
        self.daemon.start()
        self.port = self.daemon.smtp_port
        self.imap_port = self.daemon.imap_port

    # ---------------------------------------------------------------- helpers
    def imap(self, user=QUOTA):
        M = login(self.imap_port, user, USERS[user])
        self.addCleanup(quiet_logout, M)
        return M

    def smtp(self, port=None):
        c = RawSMTP(port or self.port)
        self.addCleanup(c.close)
        self.assertEqual(c.reply()[0], 220)
        return c

    def send(self, rcpts, msg, lmtp=False):
        """One transaction; returns (rcpt replies, data replies)."""
        c = self.smtp(self.daemon.lmtp_port if lmtp else None)
        self.assertEqual(c.cmd("LHLO t" if lmtp else "EHLO t")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<sender@client.test>")[0], 250)
        rcpt_replies = [c.cmd(f"RCPT TO:<{r}>") for r in rcpts]
        accepted = sum(1 for code, _ in rcpt_replies if code == 250)
        if not accepted:
            return rcpt_replies, []
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(msg.replace(b"\r\n.", b"\r\n..") + b".\r\n")
        data_replies = [c.reply() for _ in range(accepted if lmtp else 1)]
        c.cmd("QUIT")
        return rcpt_replies, data_replies

    def stored(self, user=QUOTA):
        """(bytes, count) of every message file of the user's Maildir++ tree,
        sizes from S= (as maildirsize counts them)."""
        root = self.daemon.maildir(user)
        total = count = 0
        folders = [root] + [os.path.join(root, d) for d in os.listdir(root)
                            if d.startswith(".") and not d.startswith("..")
                            and os.path.isdir(os.path.join(root, d))]
        for folder in folders:
            for sub in ("new", "cur"):
                d = os.path.join(folder, sub)
                if not os.path.isdir(d):
                    continue
                for name in os.listdir(d):
                    if name.startswith("."):
                        continue
                    size = parse_maildir_name(name).get("S")
                    total += size if size is not None else os.path.getsize(os.path.join(d, name))
                    count += 1
        return total, count

    def maildirsize(self, user=QUOTA):
        with open(os.path.join(self.daemon.maildir(user), "maildirsize")) as f:
            return f.read()

    def quota_line(self, M, root=ROOT):
        typ, data = M.getquota(root)
        self.assertEqual(typ, "OK", data)
        return data[0].decode()

    def fill_to_count(self):
        """Delivers small messages until the message limit is reached."""
        have = self.stored()[1] if os.path.isdir(self.daemon.maildir(QUOTA)) else 0
        for i in range(LIMIT_MESSAGES - have):
            smtp_deliver(self.port, QUOTA, message(500, f"fill {i}"))
        self.assertEqual(self.stored()[1], LIMIT_MESSAGES)

    # ------------------------------------------------------------------ tests
    def test_getquotaroot_and_getquota(self):
        M = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=30)
        self.addCleanup(quiet_logout, M)
        self.assertNotIn("QUOTA", M.capabilities)  # after login only, as Dovecot
        M.login(QUOTA, USERS[QUOTA])
        typ, caps = M.capability()
        caps = caps[0].decode().split()
        for cap in ("QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE"):
            self.assertIn(cap, caps)
        self.assertNotIn("QUOTASET", caps)

        typ, data = M.getquotaroot("INBOX")
        self.assertEqual(typ, "OK", data)
        self.assertEqual(data, [[b'INBOX "User quota"'],
                                [b'"User quota" (STORAGE 0 10 MESSAGE 0 3)']])

        smtp_deliver(self.port, QUOTA, message(1500))
        size, count = self.stored()
        self.assertEqual(count, 1)
        self.assertEqual(self.quota_line(M),
                         f'"User quota" (STORAGE {kib_up(size)} 10 MESSAGE 1 3)')
        # Every folder has the same root, existing or not (Dovecot too).
        typ, data = M.getquotaroot("Nowhere")
        self.assertEqual(typ, "OK", data)
        self.assertEqual(data[0], [b'Nowhere "User quota"'])

        typ, data = M._simple_command("GETQUOTA", '"no such root"')
        self.assertEqual(typ, "NO")
        typ, data = M.setquota(ROOT, "(STORAGE 100)")
        self.assertEqual(typ, "NO")
        self.assertIn(b"admin", data[0])
        with self.assertRaises(imaplib.IMAP4.error):
            M._simple_command("GETQUOTAROOT")  # missing argument: BAD

        # The config default applies to users without rules; storage=0 in a
        # rule means unlimited.
        A = self.imap(ALICE)
        typ, data = A.getquotaroot("INBOX")
        self.assertEqual(data, [[b'INBOX "User quota"'],
                                [f'"User quota" (STORAGE 0 {kib_up(DEFAULT_STORAGE)})'.encode()]])
        B = self.imap(BOB)
        typ, data = B.getquotaroot("INBOX")
        self.assertEqual(typ, "OK", data)
        self.assertEqual(data[0], [b"INBOX"])  # no root
        typ, data = B._simple_command("GETQUOTA", ROOT)
        self.assertEqual(typ, "NO")

    def test_smtp_refuses_over_quota(self):
        self.assertEqual(self.send([QUOTA], message(1500))[1][0][0], 250)
        # Does not fit what is left: temporary, nothing stored.
        _, data = self.send([QUOTA], message(9000))
        self.assertEqual(data[0], (452, ["452 4.2.2 Mailbox full"]))
        # Larger than the whole quota: permanent.
        _, data = self.send([QUOTA], message(LIMIT_BYTES + 100))
        self.assertEqual(data[0][0], 552, data)
        self.assertTrue(data[0][1][0].startswith("552 5.2.2 "), data)
        self.assertEqual(self.stored()[1], 1)
        # SMTP has one reply: a message that does not fit one recipient is
        # refused for all of them.
        _, data = self.send([ALICE, QUOTA], message(9000))
        self.assertEqual(data[0][0], 452, data)
        self.assertEqual(self.daemon.new_files(ALICE), [])

        self.fill_to_count()
        # Full: refused at RCPT, the other recipient still gets the message.
        rcpts, data = self.send([QUOTA, ALICE], message(100))
        self.assertEqual(rcpts[0], (452, [f"452 4.2.2 <{QUOTA}>: Recipient address "
                                          "rejected: Mailbox full"]))
        self.assertEqual(rcpts[1][0], 250)
        self.assertEqual(data[0][0], 250, data)
        self.assertEqual(len(self.daemon.new_files(ALICE)), 1)
        self.assertEqual(self.stored()[1], LIMIT_MESSAGES)
        with self.assertRaises(smtplib.SMTPRecipientsRefused):
            smtp_deliver(self.port, QUOTA, message(100))
        # LMTP refuses at RCPT too.
        rcpts, _ = self.send([QUOTA], message(100), lmtp=True)
        self.assertEqual(rcpts[0][0], 452, rcpts)

    def test_lmtp_answers_per_recipient(self):
        rcpts, data = self.send([QUOTA, ALICE], message(LIMIT_BYTES + 100), lmtp=True)
        self.assertEqual([r[0] for r in rcpts], [250, 250])
        self.assertEqual(data[0][0], 552, data)
        self.assertTrue(data[0][1][0].startswith(f"552 5.2.2 <{QUOTA}> "), data)
        self.assertEqual(data[1], (250, [f"250 2.0.0 <{ALICE}> Ok"]))
        self.assertEqual(len(self.daemon.new_files(ALICE)), 1)
        self.assertEqual(self.daemon.new_files(QUOTA), [])  # its copy is gone
        self.assertEqual(self.stored(), (0, 0))
        rcpts, data = self.send([QUOTA], message(1000), lmtp=True)
        self.assertEqual(data[0], (250, [f"250 2.0.0 <{QUOTA}> Ok"]))

    def test_append_and_copy_over_quota(self):
        M = self.imap()
        self.assertEqual(M.create("Kept")[0], "OK")
        big = message(9000)
        self.assertEqual(M.append("INBOX", None, None, message(1500))[0], "OK")
        # APPEND that does not fit: NO [OVERQUOTA], nothing stored.
        before = self.stored()
        typ, data = M.append("INBOX", None, None, big)
        self.assertEqual((typ, data), ("NO", [b"[OVERQUOTA] Quota exceeded (mailbox for user is full)"]))
        self.assertEqual(self.stored(), before)
        # COPY that does not fit: NO [OVERQUOTA], nothing stored.
        self.assertEqual(M.append("INBOX", None, None, message(4000))[0], "OK")
        M.select("INBOX")
        typ, data = M.copy("1:2", "Kept")
        self.assertEqual(typ, "NO", data)
        self.assertIn(b"[OVERQUOTA]", data[0])
        self.assertEqual(M.status("Kept", "(MESSAGES)")[1][0],
                         b'"Kept" (MESSAGES 0)')
        # One message still fits; then the count is full.
        self.assertEqual(M.copy("1", "Kept")[0], "OK")
        typ, data = M.append("INBOX", None, None, message(10))
        self.assertEqual(typ, "NO")
        self.assertIn(b"[OVERQUOTA]", data[0])
        # MOVE does not grow the usage: allowed when full (to Trash, say).
        typ, data = M._simple_command("MOVE", "2", "Kept")
        self.assertEqual(typ, "OK", data)
        size, count = self.stored()
        self.assertEqual(count, 3)
        self.assertEqual(self.quota_line(M),
                         f'"User quota" (STORAGE {kib_up(size)} 10 MESSAGE 3 3)')

    def test_expunge_dele_and_delete_give_space_back(self):
        self.fill_to_count()
        with self.assertRaises(smtplib.SMTPRecipientsRefused):
            smtp_deliver(self.port, QUOTA, message(100))
        M = self.imap()
        M.select("INBOX")
        M.store("1", "+FLAGS", "(\\Deleted)")
        self.assertEqual(M.expunge()[0], "OK")
        # Right after the EXPUNGE reply, delivery works again (on any core).
        smtp_deliver(self.port, QUOTA, message(100, "after expunge"))
        self.assertEqual(self.stored()[1], LIMIT_MESSAGES)
        quiet_logout(M)

        # POP3: DELE takes effect at QUIT (UPDATE).
        with self.assertRaises(smtplib.SMTPRecipientsRefused):
            smtp_deliver(self.port, QUOTA, message(100))
        p = poplib.POP3("127.0.0.1", self.daemon.pop3_port, timeout=30)
        p.user(QUOTA)
        p.pass_(USERS[QUOTA])
        p.dele(1)
        p.quit()
        smtp_deliver(self.port, QUOTA, message(100, "after dele"))
        self.assertEqual(self.stored()[1], LIMIT_MESSAGES)

        # DELETE of a folder: maildirsize is recounted before the reply.
        M = self.imap()
        self.assertEqual(M.create("Kept")[0], "OK")
        M.select("INBOX")
        self.assertEqual(M._simple_command("MOVE", "1", "Kept")[0], "OK")
        M.close()
        with self.assertRaises(smtplib.SMTPRecipientsRefused):
            smtp_deliver(self.port, QUOTA, message(100))
        self.assertEqual(M.delete("Kept")[0], "OK")
        smtp_deliver(self.port, QUOTA, message(100, "after delete"))
        self.assertEqual(self.stored()[1], LIMIT_MESSAGES)

    def test_maildirsize_is_maildirplusplus(self):
        smtp_deliver(self.port, QUOTA, message(1500))
        M = self.imap()
        M.create("Kept")
        self.assertEqual(M.append("INBOX", None, None, message(700))[0], "OK")
        M.select("INBOX")
        self.assertEqual(M.copy("1", "Kept")[0], "OK")
        M.store("2", "+FLAGS", "(\\Deleted)")
        M.expunge()
        smtp_deliver(self.port, QUOTA, message(300))
        text = self.maildirsize()
        lines = text.split("\n")
        self.assertEqual(lines[0], f"{LIMIT_BYTES}S,{LIMIT_MESSAGES}C")
        self.assertEqual(lines[-1], "")  # every line ends with LF
        total = [0, 0]
        for line in lines[1:-1]:
            self.assertRegex(line, r"^-?\d+ -?\d+$")
            b, c = map(int, line.split())
            total[0] += b
            total[1] += c
        self.assertEqual(tuple(total), self.stored())
        self.assertLess(len(text), 5120)
        size, count = self.stored()
        self.assertEqual(self.quota_line(M),
                         f'"User quota" (STORAGE {kib_up(size)} 10 MESSAGE {count} 3)')

    def test_rebuilt_when_missing_or_wrong(self):
        smtp_deliver(self.port, QUOTA, message(1500))
        path = os.path.join(self.daemon.maildir(QUOTA), "maildirsize")
        os.unlink(path)
        M = self.imap()
        size, count = self.stored()
        self.assertEqual(self.quota_line(M),
                         f'"User quota" (STORAGE {kib_up(size)} 10 MESSAGE 1 3)')
        self.assertEqual(self.maildirsize(), f"10240S,3C\n{size} 1\n")
        # Other limits in the file (an old configuration): rewritten.
        with open(path, "w") as f:
            f.write("99999S\n5 5\n")
        self.assertEqual(self.quota_line(M),
                         f'"User quota" (STORAGE {kib_up(size)} 10 MESSAGE 1 3)')
        self.assertEqual(self.maildirsize(), f"10240S,3C\n{size} 1\n")

    @unittest.skipUnless(dovecot.installed() and os.path.exists(
        "/usr/lib/dovecot/modules/lib11_imap_quota_plugin.so"), "no Dovecot quota plugin")
    def test_dovecot_reads_the_same_quota(self):
        smtp_deliver(self.port, QUOTA, message(1500))
        M = self.imap()
        M.create("Kept")
        M.append("Kept", None, None, message(2500))
        ours = self.quota_line(M)
        self.assertIn("MESSAGE 2 3", ours)
        work = tempfile.mkdtemp(prefix="ringmail-quota-dovecot.")
        self.addCleanup(shutil.rmtree, work, True)
        data = os.path.join(work, "data")
        dovecot.copy_tree(self.daemon.data_dir, data)

        class QuotaDovecot(dovecot.Dovecot):
            def write_conf(self):
                super().write_conf()
                with open(self.conf, "a") as f:
                    f.write(self.extra_conf)

        d = QuotaDovecot(work, data, {QUOTA: USERS[QUOTA]}, extra_conf="""
mail_plugins = $mail_plugins quota
protocol imap {
  mail_plugins = $mail_plugins imap_quota
}
plugin {
  quota = maildir:User quota
  quota_rule = *:storage=10K
  quota_rule2 = *:messages=3
}
""")
        d.start()
        self.addCleanup(d.stop)
        D = login(d.port, QUOTA, USERS[QUOTA])
        self.addCleanup(quiet_logout, D)
        typ, data = D.getquotaroot("INBOX")
        self.assertEqual(typ, "OK", data)
        self.assertEqual(data[1][0].decode(), ours)


if __name__ == "__main__":
    unittest.main()
