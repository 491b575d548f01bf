"""A private Debian Dovecot (dovecot-imapd, dovecot-pop3d, dovecot-lmtpd) for
tests and benchmarks that compare ringmail with Dovecot over the same Maildir tree.

    d = Dovecot(workdir, data_dir, {"alice@example.test": "pw"}, pop3=True)
    d.start()            # chowns <data_dir>/mail, free loopback ports
    imaplib.IMAP4("127.0.0.1", d.port); poplib.POP3("127.0.0.1", d.pop3_port)
    Dovecot(..., lmtp=True): LMTP delivery (RFC 2033) on d.lmtp_port
    d.stop()

It runs as root from a private config in <workdir>/dovecot (own base_dir and
state_dir, 127.0.0.1 only, passwd-file users, no TLS): the system Dovecot
service is never used (tools/lib/common.sh stops and disables it), and no
well-known port is bound. Dovecot refuses mail access as root ("Mail access
not allowed for root"; passwd-file also rejects uid 0), while ringmaild runs
as root here: so mail is accessed as the system user ringmail-test (created
with useradd if missing) and the mail tree is chowned to it before Dovecot
starts. Only ownership changes; ringmaild, as root, reads and writes it
either way. Callers that must not let Dovecot touch ringmail's own tree pass
a copy (copy_tree) as data_dir.
"""
import os
import pwd
import shutil
import socket
import subprocess
import time

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
TEST_USER = "ringmail-test"
# Dovecot's default pop3_uidl_format; ringmail's default too.
DOVECOT_UIDL_FORMAT = "%08Xu%08Xv"


def installed(pop3=False, lmtp=False):
    """True if the dovecot binary (and, with pop3/lmtp, those daemons) exist."""
    if not os.path.exists(DOVECOT):
        return False
    if lmtp and not os.path.exists("/usr/lib/dovecot/lmtp"):
        return False
    return not pop3 or os.path.exists("/usr/lib/dovecot/pop3")


def test_user():
    """(uid, gid) of TEST_USER, creating the system user if missing."""
    try:
        pw = pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", TEST_USER], check=True, capture_output=True)
        pw = pwd.getpwnam(TEST_USER)
    return pw.pw_uid, pw.pw_gid


def chown_tree(root, uid, gid):
    for dirpath, dirnames, filenames in os.walk(root):
        os.lchown(dirpath, uid, gid)
        for n in filenames:
            os.lchown(os.path.join(dirpath, n), uid, gid)


def copy_tree(src_data_dir, dst_data_dir):
    """Copies <src>/mail to <dst>/mail (contents, names and mtimes)."""
    shutil.copytree(os.path.join(src_data_dir, "mail"), os.path.join(dst_data_dir, "mail"),
                    symlinks=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Dovecot:
    """A private dovecot instance serving <data_dir>/mail/%d/%n/Maildir over
    IMAP (self.port), with pop3=True POP3 (self.pop3_port) and with
    lmtp=True LMTP (self.lmtp_port; recipients are full addresses).

    fast_login: Dovecot's documented "high-performance" login mode (one
    long-lived login process serving many connections, service_count = 0)
    instead of its default one process per connection; benchmarks use it.
    The imap and pop3 processes may grow to 4 GiB (vsz_limit; with
    Dovecot's default of 256 MiB the first SELECT of a million-message
    folder, bench/compare --workloads large, lost its connection).
    """

    def __init__(self, workdir, data_dir, users, pop3=False,
                 uidl_format=DOVECOT_UIDL_FORMAT, fast_login=False, lmtp=False,
                 extra_conf=""):
        self.dir = os.path.join(workdir, "dovecot")
        os.makedirs(os.path.join(self.dir, "run"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "state"), exist_ok=True)
        self.log = os.path.join(self.dir, "dovecot.log")
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.pop3 = pop3
        self.uidl_format = uidl_format
        self.fast_login = fast_login
        self.port = None
        self.pop3_port = None
        self.lmtp = lmtp
        self.lmtp_port = None
        self.extra_conf = extra_conf  # appended to the config (benchmark knobs)
        self.proc = None
        passwd = os.path.join(self.dir, "passwd")
        self.uid, self.gid = test_user()
        with open(passwd, "w") as f:
            for user, pw in sorted(users.items()):
                f.write(f"{user}:{{PLAIN}}{pw}:{self.uid}:{self.gid}::{self.dir}::\n")
        # dovecot's auth process runs as user "dovecot": it must reach the
        # passwd-file (mkdtemp makes the workdir 0700).
        os.chmod(workdir, 0o711)
        os.chmod(self.dir, 0o755)
        os.chmod(passwd, 0o644)
        self.data_dir = data_dir
        self.passwd = passwd

    def write_conf(self):
        d = self.dir
        protocols = "imap pop3" if self.pop3 else "imap"
        if self.lmtp:
            protocols += " lmtp"
        pop3_port = self.pop3_port if self.pop3 else 0
        login_tuning = ""
        if self.fast_login:
            login_tuning = """
  service_count = 0
  process_min_avail = 2
  vsz_limit = 1G"""
        conf = f"""
base_dir = {d}/run
state_dir = {d}/state
log_path = {self.log}
info_log_path = {self.log}
protocols = {protocols}
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:{self.data_dir}/mail/%d/%n/Maildir
pop3_uidl_format = {self.uidl_format}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.passwd}
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}{login_tuning}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}{login_tuning}
}}
service pop3 {{
  process_limit = 1024
  vsz_limit = 4G
}}{self._lmtp_service()}
service imap {{
  process_limit = 1024
  vsz_limit = 4G
}}
"""
        with open(self.conf, "w") as f:
            f.write(conf)

    def _lmtp_service(self):
        if not self.lmtp:
            return ""
        # Dovecot's defaults otherwise (mail_fsync = optimized: each
        # delivery is fsync'd before the 250); RCPT TO is looked up as given.
        return f"""
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.lmtp_port}
  }}
  process_limit = 1024
}}"""

    def _greets(self, port, greeting):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                return s.recv(100).startswith(greeting)
        except OSError:
            return False

    def start(self, timeout=20.0):
        assert self.proc is None
        mail = os.path.join(self.data_dir, "mail")
        os.makedirs(mail, exist_ok=True)
        chown_tree(mail, self.uid, self.gid)
        self.port = free_port()
        if self.pop3:
            self.pop3_port = free_port()
            while self.pop3_port == self.port:
                self.pop3_port = free_port()
        if self.lmtp:
            self.lmtp_port = free_port()
            while self.lmtp_port in (self.port, self.pop3_port):
                self.lmtp_port = free_port()
        self.write_conf()
        with open(self.log + ".out", "ab") as out:
            self.proc = subprocess.Popen([DOVECOT, "-c", self.conf, "-F"],
                                         stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code, self.proc = self.proc.returncode, None
                raise RuntimeError(f"dovecot exited with {code}:\n{self.tail()}")
            if self._greets(self.port, b"* OK") and (
                    not self.pop3 or self._greets(self.pop3_port, b"+OK")) and (
                    not self.lmtp or self._greets(self.lmtp_port, b"220")):
                return self
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"dovecot did not listen on {self.port}/{self.pop3_port}/"
                           f"{self.lmtp_port}:\n"
                           f"{self.tail()}")

    def stop(self):
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def version(self):
        p = subprocess.run([DOVECOT, "--version"], capture_output=True, text=True)
        return p.stdout.strip()

    def tail(self, n=30):
        out = []
        for p in (self.log, self.log + ".out"):
            try:
                with open(p, "rb") as f:
                    out += f.read().decode("utf-8", "replace").splitlines()[-n:]
            except OSError:
                pass
        return "\n".join(out)
