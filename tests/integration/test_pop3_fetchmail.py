"""fetchmail (Debian's package) against ringmail's POP3, as a user would run
it: an rcfile with `uidl` and `keep`, each message handed to an MDA that
writes its raw bytes to a file.

Checks that every message SMTP delivered arrives byte-exact (fetchmail
hands the MDA LF line ends with dot-stuffing removed, so what arrives must
equal the stored LF file: ringmail's trace fields plus what SMTP received),
that a second run with UIDL tracking fetches nothing, that new mail is
fetched alone after it, and that a run without `keep` empties the maildrop.
`set invisible` keeps fetchmail from adding a Received: field; `sslproto ''`
keeps it from trying STLS."""
import os
import shutil
import smtplib
import subprocess
import tempfile

from harness import DaemonTestCase, USERS
from mailcheck import make_message, read, subject_of, to_lf

ALICE = "alice@example.test"
SENDER = "sender@client.test"
FETCHMAIL = shutil.which("fetchmail") or "/usr/bin/fetchmail"


class FetchmailTest(DaemonTestCase):
    def setUp(self):
        if not os.path.exists(FETCHMAIL):
            self.fail("fetchmail is not installed (tools/lib/packages.txt lists it)")
        super().setUp()
        self.home = tempfile.mkdtemp(prefix="ringmail-fetchmail.")
        if not os.environ.get("RINGMAIL_KEEP_TEST_DIRS"):
            self.addCleanup(shutil.rmtree, self.home, True)
        self.out = os.path.join(self.home, "out")
        os.mkdir(self.out)
        self.runs = 0

    def deliver(self, messages):
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as s:
            for m in messages:
                self.assertEqual(s.sendmail(SENDER, [ALICE], m), {})

    def fetchmail(self, keep=True, fetchall=False):
        """Runs fetchmail once; returns (exit status, {subject: bytes} of the
        messages this run delivered to the MDA)."""
        self.runs += 1
        run_dir = os.path.join(self.out, f"run{self.runs}")
        os.mkdir(run_dir)
        rc = os.path.join(self.home, "fetchmailrc")
        opts = ["keep" if keep else "no keep", "no rewrite"]
        if fetchall:
            opts.append("fetchall")
        with open(rc, "w") as f:
            f.write(f"""set no syslog
set invisible
set idfile "{self.home}/fetchids"
poll 127.0.0.1 service {self.daemon.pop3_port} protocol pop3 uidl auth password
  timeout 30
  user "{ALICE}" there with password "{USERS[ALICE]}" is "root" here
  {' '.join(opts)}
  sslproto ''
  mda "cat > $(mktemp {run_dir}/m.XXXXXX)"
""")
        os.chmod(rc, 0o600)
        env = dict(os.environ, HOME=self.home, FETCHMAILHOME=self.home)
        p = subprocess.run([FETCHMAIL, "-f", rc, "--nodetach"], env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        self.last_output = (p.stdout + p.stderr).decode("utf-8", "replace")
        got = {}
        for name in sorted(os.listdir(run_dir)):
            data = read(os.path.join(run_dir, name))
            got[subject_of(data)] = data
        return p.returncode, got

    def stored(self):
        """{subject: stored LF bytes} from new/ and cur/."""
        out = {}
        root = self.daemon.maildir(ALICE)
        for sub in ("new", "cur"):
            d = os.path.join(root, sub)
            for name in os.listdir(d) if os.path.isdir(d) else []:
                data = read(os.path.join(d, name))
                out[subject_of(data)] = data
        return out

    def test_fetchmail_byte_exact_then_uidl_tracking(self):
        sent = [make_message(f"fm-{i}", SENDER, ALICE) for i in range(8)]
        sent.append(make_message("fm-dots", SENDER, ALICE,
                                 body_lines=[".", "..", ".x", "", ". ", "...", "end"]))
        # Large enough to cross many reads and ring buffers.
        sent.append(make_message("fm-big", SENDER, ALICE,
                                 body_lines=[f".{i:06d} " + "y" * 70 for i in range(4000)]))
        self.deliver(sent)
        stored = self.stored()
        self.assertEqual(len(stored), len(sent))

        code, got = self.fetchmail()
        self.assertEqual(code, 0, self.last_output)
        self.assertEqual(sorted(got), sorted(stored), self.last_output)
        for subject, data in got.items():
            self.assertEqual(data, stored[subject], subject)
            msg = [m for m in sent if f"Subject: {subject}\r\n".encode() in m][0]
            self.assertTrue(data.endswith(to_lf(msg)), subject)

        # UIDL tracking: nothing new (fetchmail's status 1 is "no mail").
        code, got = self.fetchmail()
        self.assertEqual(code, 1, self.last_output)
        self.assertEqual(got, {})

        # New mail alone is fetched next.
        later = [make_message(f"fm-later-{i}", SENDER, ALICE) for i in range(2)]
        self.deliver(later)
        code, got = self.fetchmail()
        self.assertEqual(code, 0, self.last_output)
        self.assertEqual(sorted(got), ["fm-later-0", "fm-later-1"])
        stored = self.stored()
        for subject, data in got.items():
            self.assertEqual(data, stored[subject], subject)

        # Without keep (and with fetchall) fetchmail takes and deletes all.
        code, got = self.fetchmail(keep=False, fetchall=True)
        self.assertEqual(code, 0, self.last_output)
        self.assertEqual(len(got), len(sent) + len(later))
        self.assertEqual(self.stored(), {})
        code, got = self.fetchmail()
        self.assertEqual(code, 1, self.last_output)
