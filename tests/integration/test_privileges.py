"""Started as root, ringmaild drops to its `user` for good once its ports are
bound, and everything it creates is that user's, 0600 or 0700 (issue 18,
"Privileges and files"). Needs root (it creates the system user "ringmail"
if missing, and starts ringmaild as root); skipped otherwise."""
import imaplib
import os
import pwd
import shutil
import smtplib
import ssl
import stat
import subprocess
import tempfile
import unittest

import harness
from harness import Daemon

RUN_AS = "ringmail"


def ensure_user():
    try:
        return pwd.getpwnam(RUN_AS)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", RUN_AS], check=True)
        return pwd.getpwnam(RUN_AS)


def status_fields(path):
    fields = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


@unittest.skipUnless(os.geteuid() == 0, "needs root: starts ringmaild as root to see it drop")
class PrivilegesTest(unittest.TestCase):
    def setUp(self):
        self.pw = ensure_user()
        # A work dir the user may enter and write (the ports file, data/); the
        # passwd-file and the TLS key in it stay root's, mode 0600: ringmaild
        # reads them before it drops root.
        self.work = tempfile.mkdtemp(prefix="ringmail-priv.")
        self.addCleanup(shutil.rmtree, self.work, True)

    def start_as_user(self, **kw):
        d = Daemon(workdir=self.work, extra_args=[f"--user={RUN_AS}"], **kw)
        for p in (d.passwd_file, d.cert_file, d.key_file):
            if p:
                os.chown(p, 0, 0)
                os.chmod(p, 0o600)
        os.chown(self.work, self.pw.pw_uid, self.pw.pw_gid)
        os.chown(d.data_dir, self.pw.pw_uid, self.pw.pw_gid)
        self.addCleanup(d.stop)
        return d.start()

    def passwd(self):
        path = f"{self.work}/passwd"
        harness.write_passwd(path, harness.USERS)
        return path

    def run_once(self, *flags):
        """Starts ringmaild with only an SMTP listener and `flags`, as root,
        for a start-up that is expected to fail; returns the finished run."""
        return subprocess.run(
            [harness.binary(), f"--passwd_file={self.passwd()}", "--smtp_listen=127.0.0.1:0",
             "--imap_listen=", "--pop3_listen=", "--submission_listen=", "--smtps_listen=",
             "--imaps_listen=", "--pop3s_listen=", "--lmtp_listen=", *flags],
            capture_output=True, timeout=30)

    def test_root_without_user_refuses_to_start(self):
        p = self.run_once(f"--data_dir={self.work}/data")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"started as root without `user`", p.stderr)
        self.assertFalse(os.path.exists(f"{self.work}/data"), "it created files before refusing")

    def test_runs_unprivileged_and_creates_only_private_files(self):
        d = self.start_as_user(tls=True, imap=True)
        # Every thread, io_uring workers included, as the kernel sees it.
        tasks = os.listdir(f"/proc/{d.proc.pid}/task")
        self.assertGreater(len(tasks), 1)
        for tid in tasks:
            f = status_fields(f"/proc/{d.proc.pid}/task/{tid}/status")
            who = f"thread {tid} ({f['Name']})"
            self.assertEqual(f["Uid"].split(), [str(self.pw.pw_uid)] * 4, who)
            self.assertEqual(f["Gid"].split(), [str(self.pw.pw_gid)] * 4, who)
            self.assertIn(f["Groups"].split(), ([], [str(self.pw.pw_gid)]), who)
            for cap in ("CapPrm", "CapEff", "CapAmb"):
                self.assertEqual(int(f[cap], 16), 0, f"{who}: {cap} {f[cap]}")
            self.assertEqual(f["NoNewPrivs"], "1", who)

        # STARTTLS works with the root-only key it read before the drop.
        tls = ssl.create_default_context()
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
        with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=10) as s:
            s.starttls(context=tls)
            s.sendmail("someone@remote.example", ["alice@example.test"],
                       b"Subject: private\r\n\r\nonly alice and ringmail may read this\r\n")
        [path] = d.wait_for_count("alice@example.test", 1)
        m = imaplib.IMAP4("127.0.0.1", d.imap_port)
        m.login("alice@example.test", harness.USERS["alice@example.test"])
        m.select("INBOX")
        typ, data = m.fetch("1", "(BODY.PEEK[TEXT])")
        self.assertEqual(typ, "OK")
        self.assertIn(b"only alice and ringmail", data[0][1])
        m.create("Archive")
        m.logout()

        # Everything under data/ is the user's: directories 0700, files and
        # sockets 0600, nothing else (Maildir, journal, queue, state, index,
        # dovecot-uidlist, the control socket, the new folder).
        # ringmaild is still running (the control socket is checked too), so
        # a file may go away between the listing and the lstat (an index
        # written to a temporary name and renamed): those are skipped.
        seen = 0
        for root, dirs, files in os.walk(d.data_dir):
            for name in dirs + files:
                p = os.path.join(root, name)
                try:
                    st = os.lstat(p)
                except FileNotFoundError:
                    continue
                seen += 1
                self.assertEqual((st.st_uid, st.st_gid), (self.pw.pw_uid, self.pw.pw_gid), p)
                want = 0o700 if stat.S_ISDIR(st.st_mode) else 0o600
                self.assertEqual(stat.S_IMODE(st.st_mode), want, f"{p}: {oct(st.st_mode)}")
        self.assertGreater(seen, 10)
        self.assertTrue(os.path.exists(os.path.join(d.maildir("alice@example.test"), ".Archive")))

    def test_data_dir_the_user_cannot_write_is_one_line(self):
        data = f"{self.work}/data"
        os.mkdir(data, 0o700)  # root's
        os.chmod(self.work, 0o755)
        p = self.run_once(f"--data_dir={data}", f"--user={RUN_AS}")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"is not writable by uid", p.stderr)

    def test_unknown_user_is_a_config_error(self):
        p = self.run_once(f"--data_dir={self.work}/data", "--user=no-such-user-ringmail")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"no such user: no-such-user-ringmail", p.stderr)


if __name__ == "__main__":
    unittest.main()
