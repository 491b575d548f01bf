"""Shared folders (RFC 4314 ACL + RFC 2342 shared NAMESPACE): one user
shares a folder with another, who finds it under shared/<owner>/, reads it,
and is refused (NOPERM, RFC 5530) what the granted rights do not allow;
the ACL replies, the dovecot-acl file and the shared-mailboxes dictionary
(Dovecot formats); folders without the lookup right stay invisible.

The daemon runs two cores; alice and bob have different home cores, so bob
reaches alice's folders in guest mode (docs/architecture.md)."""
import imaplib
import os
import time
import unittest

import dovecot
from harness import Daemon, DaemonTestCase, USERS
from imapcheck import RawIMAP, login, smtp_deliver, quiet_logout

# imaplib knows every RFC 4314 command but LISTRIGHTS.
imaplib.Commands.setdefault("LISTRIGHTS", ("AUTH", "SELECTED"))

ALICE = "alice@example.test"  # home core 1 of 2
BOB = "bob@example.test"      # home core 0 of 2
DAVE = "dave@other.test"      # home core 1, like alice
SHARED = f"shared/{ALICE}/Projects"


def core_of(user, cores=2):
    h = 1469598103934665603  # FNV-1a, as ImapService::HomeCore
    for c in user.encode():
        h = ((h ^ c) * 1099511628211) % (1 << 64)
    return h % cores


def msg(subject):
    return (f"From: <alice@example.test>\r\nTo: <bob@example.test>\r\n"
            f"Subject: {subject}\r\n\r\nbody of {subject}\r\n").encode()


class AclTest(DaemonTestCase):
    imap = True
    extra_args = ("--threads=2",)

    def setUp(self):
        super().setUp()
        self.assertNotEqual(core_of(ALICE), core_of(BOB))
        self.assertEqual(core_of(ALICE), core_of(DAVE))

    # ---------------------------------------------------------------- helpers
    def imap(self, user):
        M = login(self.imap_port, user, USERS[user])
        self.addCleanup(quiet_logout, M)
        return M

    @staticmethod
    def cmd(M, name, *args):
        """Runs a command; returns (status, tagged text, untagged data)."""
        typ, dat = M._simple_command(name, *args)
        untagged = M.untagged_responses.pop("ACL" if name == "GETACL" else name, [])
        return typ, dat[-1] if dat else b"", untagged

    def folder_dir(self, user, folder):
        return os.path.join(self.daemon.maildir(user), "." + folder)

    def dict_text(self):
        path = os.path.join(self.daemon.data_dir, "shared-mailboxes")
        if not os.path.exists(path):
            return ""
        with open(path) as f:
            return f.read()

    def prepare_projects(self):
        a = self.imap(ALICE)
        self.assertEqual(a.create("Projects")[0], "OK")
        for i in range(2):
            typ, _ = a.append("Projects", None, None, msg(f"p{i}"))
            self.assertEqual(typ, "OK")
        self.assertEqual(a.create("Secret")[0], "OK")
        self.assertEqual(a.append("Secret", None, None, msg("s"))[0], "OK")
        return a

    # ------------------------------------------------------------------ tests
    def test_capability_and_namespace(self):
        a = self.imap(ALICE)
        typ, caps = a.capability()
        words = caps[0].split()
        self.assertIn(b"ACL", words)
        self.assertIn(b"RIGHTS=texk", words)
        typ, ns = a.namespace()
        self.assertEqual(typ, "OK")
        self.assertEqual(ns[0], b'(("" "/")) NIL (("shared/" "/"))')

    def test_owner_rights_and_acl_replies(self):
        a = self.prepare_projects()
        self.assertEqual(self.cmd(a, "MYRIGHTS", "Projects")[2],
                         [b"Projects lrwstipekxacd"])
        self.assertEqual(self.cmd(a, "GETACL", "Projects")[2],
                         [f"Projects {ALICE} lrwstipekxacd".encode()])
        typ, _, _ = self.cmd(a, "SETACL", "Projects", BOB, "lr")
        self.assertEqual(typ, "OK")
        with open(os.path.join(self.folder_dir(ALICE, "Projects"), "dovecot-acl")) as f:
            self.assertEqual(f.read(), f"user={BOB} lr\n")
        self.assertEqual(self.dict_text(),
                         f"shared/shared-boxes/user/{BOB}/{ALICE}\n1\n")
        self.assertEqual(self.cmd(a, "GETACL", "Projects")[2],
                         [f"Projects {ALICE} lrwstipekxacd {BOB} lr".encode()])
        # Modifiers (RFC 4314 §3.1) and the obsolete "c"/"d" (§2.1.1).
        self.assertEqual(self.cmd(a, "SETACL", "Projects", BOB, "+sc")[0], "OK")
        self.assertEqual(self.cmd(a, "GETACL", "Projects")[2],
                         [f"Projects {ALICE} lrwstipekxacd {BOB} lrskxc".encode()])
        self.assertEqual(self.cmd(a, "SETACL", "Projects", BOB, "-kx")[0], "OK")
        self.assertEqual(self.cmd(a, "SETACL", "Projects", "anyone", "l")[0], "OK")
        with open(os.path.join(self.folder_dir(ALICE, "Projects"), "dovecot-acl")) as f:
            self.assertEqual(f.read(), f"user={BOB} lrs\nanyone l\n")
        self.assertEqual(self.cmd(a, "LISTRIGHTS", "Projects", BOB)[2],
                         [f'Projects {BOB} "" l r w s t p i e k x a c d'.encode()])
        with self.assertRaisesRegex(imaplib.IMAP4.error, "Invalid ACL right: Z"):
            self.cmd(a, "SETACL", "Projects", BOB, "lrZ")  # BAD
        # "anyone" never restricts the owner (Dovecot).
        self.assertEqual(self.cmd(a, "MYRIGHTS", "Projects")[2],
                         [b"Projects lrwstipekxacd"])
        # DELETEACL removes the entry; the dictionary follows.
        self.assertEqual(self.cmd(a, "DELETEACL", "Projects", "anyone")[0], "OK")
        self.assertEqual(self.cmd(a, "DELETEACL", "Projects", BOB)[0], "OK")
        self.assertFalse(os.path.exists(
            os.path.join(self.folder_dir(ALICE, "Projects"), "dovecot-acl")))
        self.assertEqual(self.dict_text(), "")
        self.assertEqual(self.cmd(a, "GETACL", "Projects")[2],
                         [f"Projects {ALICE} lrwstipekxacd".encode()])
        typ, text, _ = self.cmd(a, "GETACL", "Nope")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[NONEXISTENT]", text)

    def test_grantee_reads_and_is_refused(self):
        a = self.prepare_projects()
        self.assertEqual(self.cmd(a, "SETACL", "Projects", BOB, "lr")[0], "OK")
        # The owner's index ownership must not move to bob's core.
        a.select("Projects")
        a.close()
        owner_file = os.path.join(self.folder_dir(ALICE, "Projects"), "ringmail-index.owner")
        with open(owner_file) as f:
            owner_token = f.read()

        b = self.imap(BOB)
        typ, lines = b.list('""', "*")
        self.assertEqual(typ, "OK")
        self.assertIn(b'(\\Noselect \\HasChildren) "/" "shared"', lines)
        self.assertIn(f'(\\Noselect \\HasChildren) "/" "shared/{ALICE}"'.encode(), lines)
        self.assertIn(f'(\\HasNoChildren) "/" "{SHARED}"'.encode(), lines)
        self.assertFalse(any(b"Secret" in l for l in lines), lines)
        typ, lines = b.list("shared/", "%")
        self.assertEqual(lines, [f'(\\Noselect \\HasChildren) "/" "shared/{ALICE}"'.encode()])

        self.assertEqual(self.cmd(b, "MYRIGHTS", SHARED)[2], [f"{SHARED} lr".encode()])
        # Read-only: no right to change anything (RFC 4314 §4, as Dovecot).
        typ, text, _ = self.cmd(b, "SELECT", SHARED)
        self.assertEqual(typ, "OK")
        self.assertTrue(text.startswith(b"[READ-ONLY]"), text)
        b.untagged_responses.clear()
        b.state = "SELECTED"  # imaplib's select() refuses READ-ONLY
        typ, data = b.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(typ, "OK")
        subjects = [d[1].strip() for d in data if isinstance(d, tuple)]
        self.assertEqual(subjects, [b"Subject: p0", b"Subject: p1"])
        typ, data = b.append(SHARED, None, None, msg("from bob"))
        self.assertEqual(typ, "NO")
        self.assertIn(b"[NOPERM]", data[0])
        typ, text, _ = self.cmd(b, "GETACL", SHARED)
        self.assertEqual(typ, "NO")
        self.assertIn(b"[NOPERM]", text)
        typ, text, _ = self.cmd(b, "SETACL", SHARED, BOB, "lrwstipekxa")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[NOPERM]", text)
        typ, data = b.create(SHARED + "/Sub")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[NOPERM]", data[0])
        typ, data = b.delete(SHARED)
        self.assertEqual(typ, "NO")
        self.assertIn(b"[NOPERM]", data[0])
        b.close()

        # More rights: l r s i (read-write, but no w, t, e, k, x, a).
        self.assertEqual(self.cmd(a, "SETACL", "Projects", BOB, "lrsi")[0], "OK")
        typ, _ = b.select(SHARED)
        self.assertEqual(typ, "OK")
        self.assertEqual(self.cmd(b, "MYRIGHTS", SHARED)[2], [f"{SHARED} lrsi".encode()])
        typ, data = b.store("1", "+FLAGS", "(\\Flagged)")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[NOPERM]", data[0])
        typ, data = b.store("1", "+FLAGS", "(\\Deleted)")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[NOPERM]", data[0])
        typ, data = b.store("1", "FLAGS", "(\\Seen)")
        self.assertEqual(typ, "NO")  # replacing touches every flag
        self.assertIn(b"[NOPERM]", data[0])
        typ, data = b.store("1", "+FLAGS", "(\\Seen)")
        self.assertEqual(typ, "OK")
        typ, data = b.expunge()
        self.assertEqual(typ, "NO")
        self.assertIn(b"[NOPERM]", data[0])
        typ, data = b.fetch("2", "(BODY[])")  # sets \Seen: allowed with "s"
        self.assertEqual(typ, "OK")
        self.assertIn(b"body of p1", data[0][1])
        typ, data = b.append(SHARED, None, None, msg("from bob"))
        self.assertEqual(typ, "OK")
        self.assertIn(b"APPENDUID", data[0])
        typ, _ = b.noop()
        typ, data = b.fetch("3", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(data[0][1].strip(), b"Subject: from bob")
        # New mail from the owner reaches the guest (inotify on bob's core).
        self.assertEqual(a.append("Projects", None, None, msg("late"))[0], "OK")
        deadline = time.monotonic() + 10
        exists = []
        while time.monotonic() < deadline and b"4" not in exists:
            b.noop()
            exists = b.untagged_responses.pop("EXISTS", [])
            time.sleep(0.05)
        self.assertIn(b"4", exists)
        b.close()
        # Guest mode never took the owner's index (ringmail-index.owner is
        # still the token alice's core wrote).
        with open(owner_file) as f:
            self.assertEqual(f.read(), owner_token)

        # \Seen is shared: the owner sees bob's flags, in the file names.
        typ, _ = a.select("Projects")
        typ, data = a.fetch("1:2", "(FLAGS)")
        self.assertTrue(all(b"\\Seen" in d for d in data), data)
        cur = os.listdir(os.path.join(self.folder_dir(ALICE, "Projects"), "cur"))
        self.assertEqual(sum(1 for n in cur if n.endswith(":2,S")), 2, cur)
        a.close()

    def shared_flags(self, a):
        """FLAGS of every message in alice's Projects, as the owner sees
        them (without \Recent)."""
        typ, _ = a.select("Projects")
        self.assertEqual(typ, "OK")
        typ, data = a.fetch("1:*", "(FLAGS)")
        self.assertEqual(typ, "OK")
        a.unselect()  # not CLOSE: that would expunge the \Deleted ones
        out = []
        for d in data:
            flags = d.split(b"FLAGS (", 1)[1].split(b")", 1)[0].split()
            out.append(sorted(f for f in flags if f != b"\\Recent"))
        return out

    def test_append_flags_need_rights(self):
        """RFC 4314 §4: APPEND stores \Seen only with "s", \Deleted only
        with "t", other flags and keywords only with "w"; the rest are
        dropped and the APPEND still succeeds (Dovecot does the same)."""
        a = self.imap(ALICE)
        self.assertEqual(a.create("Projects")[0], "OK")
        b = self.imap(BOB)
        flags = "(\\Seen \\Deleted \\Flagged \\Answered $Work)"
        for rights in ("lri", "lris", "lrit", "lriw", "lristw"):
            self.assertEqual(self.cmd(a, "SETACL", "Projects", BOB, rights)[0], "OK")
            typ, data = b.append(SHARED, flags, None, msg(f"with {rights}"))
            self.assertEqual(typ, "OK", data)
            self.assertIn(b"APPENDUID", data[0])
        self.assertEqual(self.shared_flags(a), [
            [],
            [b"\\Seen"],
            [b"\\Deleted"],
            [b"$Work", b"\\Answered", b"\\Flagged"],
            [b"$Work", b"\\Answered", b"\\Deleted", b"\\Flagged", b"\\Seen"],
        ])
        # The owner's own APPEND keeps every flag.
        self.assertEqual(a.append("Projects", flags, None, msg("own"))[0], "OK")
        got = self.shared_flags(a)
        self.assertEqual(len(got), 6, got)
        self.assertEqual(len(got[5]), 5, got)

    def test_copy_move_flags_need_rights(self):
        """RFC 4314 §4: COPY and MOVE into a folder carry \Seen, \Deleted
        and the other flags only with "s", "t", "w" there."""
        a = self.imap(ALICE)
        self.assertEqual(a.create("Projects")[0], "OK")
        b = self.imap(BOB)
        self.assertEqual(b.create("Mine")[0], "OK")
        flags = "(\\Seen \\Deleted \\Flagged $Work)"
        for i in range(3):
            self.assertEqual(b.append("Mine", flags, None, msg(f"m{i}"))[0], "OK")
        self.assertEqual(b.select("Mine")[0], "OK")
        self.assertEqual(self.cmd(a, "SETACL", "Projects", BOB, "lri")[0], "OK")
        typ, data = b.copy("1", SHARED)
        self.assertEqual(typ, "OK", data)
        self.assertIn(b"COPYUID", data[0])
        self.assertEqual(self.cmd(a, "SETACL", "Projects", BOB, "lrit")[0], "OK")
        typ, data = b._simple_command("UID", "MOVE", "2", SHARED)
        self.assertEqual(typ, "OK", data)
        self.assertEqual(self.cmd(a, "SETACL", "Projects", BOB, "lrisw")[0], "OK")
        typ, data = b._simple_command("MOVE", "2", SHARED)  # UID 3 is seq 2 now
        self.assertEqual(typ, "OK", data)
        # The source keeps its flags: COPY links a new name, and the
        # remaining original was not touched.
        typ, data = b.fetch("1", "(FLAGS)")
        self.assertIn(b"\\Flagged", data[0])
        self.assertIn(b"$Work", data[0])
        b.close()
        self.assertEqual(self.shared_flags(a), [
            [],
            [b"\\Deleted"],
            [b"$Work", b"\\Flagged", b"\\Seen"],
        ])

    def test_invisible_without_lookup(self):
        a = self.prepare_projects()
        self.assertEqual(self.cmd(a, "SETACL", "Projects", BOB, "lr")[0], "OK")
        # "r" without "l" on Secret: still not listed.
        self.assertEqual(self.cmd(a, "SETACL", "Secret", BOB, "a")[0], "OK")
        b = self.imap(BOB)
        typ, lines = b.list('""', "*")
        self.assertFalse(any(b"Secret" in l for l in lines), lines)
        # Not listed, and SELECT answers exactly as for a folder that does
        # not exist (RFC 4314 §6): existence does not leak.
        self.assertEqual(self.cmd(a, "DELETEACL", "Secret", BOB)[0], "OK")
        typ1, data1 = b.select(f"shared/{ALICE}/Secret")
        typ2, data2 = b.select(f"shared/{ALICE}/NoSuchFolder")
        self.assertEqual((typ1, data1), ("NO", [b"[NONEXISTENT] Mailbox doesn't exist."]))
        self.assertEqual((typ2, data2), (typ1, data1))
        typ, text, _ = self.cmd(b, "MYRIGHTS", f"shared/{ALICE}/Secret")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[NONEXISTENT]", text)
        typ, data = b.status(f"shared/{ALICE}/Secret", "(MESSAGES)")
        self.assertEqual((typ, data), ("NO", [b"[NONEXISTENT] Mailbox doesn't exist."]))
        typ, data = b.append(f"shared/{ALICE}/Secret", None, None, msg("x"))
        self.assertEqual(typ, "NO")
        self.assertIn(b"[TRYCREATE]", data[0])
        # An unknown owner is just as absent.
        typ, data = b.select("shared/nobody@example.test/Projects")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[NONEXISTENT]", data[0])

    def test_create_delete_with_rights_same_core(self):
        """dave shares alice's home core: the folder state is the owner's
        own, not a guest's."""
        a = self.prepare_projects()
        self.assertEqual(self.cmd(a, "SETACL", "Projects", DAVE, "lrwstipekx")[0], "OK")
        d = self.imap(DAVE)
        sub = f"shared/{ALICE}/Projects/Sub"
        self.assertEqual(d.create(sub)[0], "OK")
        self.assertTrue(os.path.isdir(self.folder_dir(ALICE, "Projects.Sub")))
        # The new folder inherits the parent's ACL, so dave sees it.
        with open(os.path.join(self.folder_dir(ALICE, "Projects.Sub"), "dovecot-acl")) as f:
            self.assertEqual(f.read(), f"user={DAVE} lrwstipekx\n")
        typ, lines = d.list(f"shared/{ALICE}/", "*")
        self.assertIn(f'(\\HasNoChildren) "/" "{sub}"'.encode(), lines)
        typ, data = d.status(sub, "(MESSAGES)")
        self.assertEqual(typ, "OK")
        self.assertEqual(d.select(f"shared/{ALICE}/Projects")[0], "OK")
        typ, data = d.store("1", "+FLAGS", "(\\Deleted)")
        self.assertEqual(typ, "OK")
        typ, data = d.expunge()
        self.assertEqual(typ, "OK")
        self.assertEqual(data, [b"1"])
        d.close()
        self.assertEqual(d.delete(sub)[0], "OK")
        self.assertFalse(os.path.isdir(self.folder_dir(ALICE, "Projects.Sub")))
        typ, data = d.create(f"shared/{ALICE}/TopLevel")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[NOPERM]", data[0])

    def test_owner_restricted_by_acl(self):
        a = self.prepare_projects()
        # The owner's own rights come from the file once an entry matches.
        self.assertEqual(self.cmd(a, "SETACL", "Secret", ALICE, "lra")[0], "OK")
        with open(os.path.join(self.folder_dir(ALICE, "Secret"), "dovecot-acl")) as f:
            self.assertEqual(f.read(), "owner lra\n")
        self.assertEqual(self.cmd(a, "MYRIGHTS", "Secret")[2], [b"Secret lra"])
        typ, data = a.append("Secret", None, None, msg("no"))
        self.assertEqual(typ, "NO")
        self.assertIn(b"[NOPERM]", data[0])
        self.assertEqual(self.cmd(a, "DELETEACL", "Secret", ALICE)[0], "OK")
        self.assertEqual(a.append("Secret", None, None, msg("yes"))[0], "OK")

    def test_guest_idle_sees_delivery(self):
        """New mail in the owner's INBOX reaches a guest idling on another
        core: its folder state watches the directory like any other."""
        a = self.imap(ALICE)
        self.assertEqual(self.cmd(a, "SETACL", "INBOX", BOB, "lr")[0], "OK")
        r = RawIMAP(self.imap_port)
        self.addCleanup(r.close)
        self.assertTrue(r.line().startswith("* OK"))
        r.cmd("a1", f"LOGIN {BOB} {USERS[BOB]}")
        lines = r.cmd("a2", f"EXAMINE shared/{ALICE}/INBOX")
        self.assertIn("* 0 EXISTS", lines)
        self.assertTrue(lines[-1].startswith("a2 OK [READ-ONLY]"), lines)
        r.send("a3 IDLE\r\n")
        self.assertTrue(r.line().startswith("+"))
        time.sleep(0.3)  # the IDLE rescan is done; the rest is the watch
        smtp_deliver(self.port, ALICE, msg("while idle"))
        r.sock.settimeout(30)
        seen = []
        while "* 1 EXISTS" not in seen:
            seen.append(r.line())
        r.send("DONE\r\n")
        self.assertTrue(r.until_tagged("a3")[-1].startswith("a3 OK"))
        self.assertTrue(r.cmd("a4", "LOGOUT")[-1].startswith("a4 OK"))


class AclQuotaTest(DaemonTestCase):
    """Messages a grantee stores in a shared folder count against the
    owner's quota."""
    imap = True
    extra_args = ("--threads=2",)

    def setUp(self):
        self.daemon = Daemon(extra_args=list(self.extra_args), users=USERS, imap=True)
        self.addCleanup(self.daemon.cleanup)
        self.addCleanup(self.daemon.stop)
        with open(self.daemon.passwd_file, "w") as f:
            for user, pw in sorted(USERS.items()):
                extra = "userdb_quota_rule=*:messages=3" if user == ALICE else ""
                f.write(f"{user}:{{PLAIN}}{pw}::::::{extra}\n")
        self.daemon.start()
        self.port = self.daemon.smtp_port
        self.imap_port = self.daemon.imap_port

    def test_append_charges_owner(self):
        a = login(self.imap_port, ALICE, USERS[ALICE])
        self.addCleanup(quiet_logout, a)
        self.assertEqual(a.create("Projects")[0], "OK")
        for i in range(2):
            self.assertEqual(a.append("Projects", None, None, msg(f"p{i}"))[0], "OK")
        self.assertEqual(AclTest.cmd(a, "SETACL", "Projects", BOB, "lri")[0], "OK")
        b = login(self.imap_port, BOB, USERS[BOB])
        self.addCleanup(quiet_logout, b)
        self.assertEqual(b.append(SHARED, None, None, msg("fits"))[0], "OK")
        typ, data = b.append(SHARED, None, None, msg("over"))
        self.assertEqual(typ, "NO")
        self.assertIn(b"[OVERQUOTA]", data[0])
        typ, data = a.getquotaroot("INBOX")
        self.assertEqual(typ, "OK")
        self.assertIn(b'"User quota" (MESSAGE 3 3)', data[1])

    def test_getquotaroot_of_shared_folder(self):
        """GETQUOTAROOT on another user's shared folder is refused as
        Dovecot refuses it ("Not showing other users' quota."), though
        writes there are charged to the owner; the owner naming their own
        folder in the shared namespace sees their root."""
        a = login(self.imap_port, ALICE, USERS[ALICE])
        self.addCleanup(quiet_logout, a)
        self.assertEqual(a.create("Projects")[0], "OK")
        self.assertEqual(a.append("Projects", None, None, msg("p"))[0], "OK")
        self.assertEqual(AclTest.cmd(a, "SETACL", "Projects", BOB, "lri")[0], "OK")
        b = login(self.imap_port, BOB, USERS[BOB])
        self.addCleanup(quiet_logout, b)
        for name in (SHARED, f"shared/{ALICE}"):
            typ, data = b._simple_command("GETQUOTAROOT", name)
            self.assertEqual(typ, "NO", name)
            self.assertIn(b"Not showing other users' quota.", data[-1])
            self.assertEqual(b.untagged_responses.pop("QUOTAROOT", []), [])
            self.assertEqual(b.untagged_responses.pop("QUOTA", []), [])
        # Bob's own folders: he has no limits (no root).
        typ, data = b.getquotaroot("INBOX")
        self.assertEqual(typ, "OK")
        typ, data = a.getquotaroot(SHARED)
        self.assertEqual(typ, "OK")
        self.assertIn(b'"User quota"', data[0][0])
        self.assertIn(b'"User quota" (MESSAGE 1 3)', data[1])


class AclDovecot(dovecot.Dovecot):
    """dovecot.Dovecot with extra_conf appended to the config."""

    def write_conf(self):
        super().write_conf()
        with open(self.conf, "a") as f:
            f.write(self.extra_conf)


class AclDovecotTest(unittest.TestCase):
    """Debian's Dovecot with the acl plugin (vfile backend, file dict)
    reads the dovecot-acl and shared-mailboxes files ringmail writes, and
    ringmail reads the ones Dovecot writes."""

    def setUp(self):
        if not os.path.exists(dovecot.DOVECOT):
            self.fail("dovecot is not installed (tools/lib/packages.txt lists dovecot-imapd)")
        if os.geteuid() != 0:
            self.fail("this test runs its own dovecot and needs root")
        self.daemon = Daemon(imap=True, extra_args=["--threads=2"])
        self.addCleanup(self.daemon.cleanup)
        data = self.daemon.data_dir
        conf = f"""
mail_plugins = $mail_plugins acl
protocol imap {{
  mail_plugins = $mail_plugins acl imap_acl
}}
plugin {{
  acl = vfile
  acl_shared_dict = file:{data}/shared-mailboxes
}}
namespace shared {{
  type = shared
  separator = /
  prefix = shared/%%u/
  location = maildir:{data}/mail/%%d/%%n/Maildir
  subscriptions = no
  list = children
}}
"""
        self.dovecot = AclDovecot(self.daemon.workdir, data, USERS, extra_conf=conf)
        self.addCleanup(self.dovecot.stop)

    def test_round_trip(self):
        d = self.daemon.start()
        a = login(d.imap_port, ALICE, USERS[ALICE])
        self.assertEqual(a.create("Projects")[0], "OK")
        self.assertEqual(a.append("Projects", None, None, msg("shared"))[0], "OK")
        self.assertEqual(AclTest.cmd(a, "SETACL", "Projects", BOB, "lrs")[0], "OK")
        a.logout()
        d.stop()

        # Dovecot reads the dictionary and the ACL as the test user.
        uid, gid = dovecot.test_user()
        os.chown(self.daemon.data_dir, uid, gid)
        os.chown(os.path.join(self.daemon.data_dir, "shared-mailboxes"), uid, gid)
        self.dovecot.start()
        b = login(self.dovecot.port, BOB, USERS[BOB])
        typ, lines = b.list('""', "shared/*")
        self.assertTrue(any(l and SHARED.encode() in l for l in lines), (lines, self.dovecot.tail()))
        self.assertEqual(AclTest.cmd(b, "MYRIGHTS", SHARED)[2], [f"{SHARED} lrs".encode()])
        typ, data = b.select(SHARED)
        self.assertEqual((typ, data), ("OK", [b"1"]))
        b.logout()
        # Dovecot writes an entry for dave; ringmail must honour it.
        da = login(self.dovecot.port, ALICE, USERS[ALICE])
        self.assertEqual(AclTest.cmd(da, "SETACL", "Projects", DAVE, "lr")[0], "OK",
                         self.dovecot.tail())
        da.logout()
        self.dovecot.stop()

        d.start()
        dv = login(d.imap_port, DAVE, USERS[DAVE])
        self.assertEqual(AclTest.cmd(dv, "MYRIGHTS", SHARED)[2], [f"{SHARED} lr".encode()])
        typ, lines = dv.list('""', "shared/*")
        self.assertIn(f'(\\HasNoChildren) "/" "{SHARED}"'.encode(), lines,
                      open(os.path.join(self.daemon.data_dir, "shared-mailboxes")).read())
        dv.logout()
        d.stop()


if __name__ == "__main__":
    unittest.main()
