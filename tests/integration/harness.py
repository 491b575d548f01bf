"""Starts and stops a real ringmaild for integration tests (stdlib only).

    d = Daemon(extra_args=["--threads=2"])   # temp data dir, passwd-file, port 0
    d.start()                                # waits for --ports_file
    smtplib.SMTP("127.0.0.1", d.smtp_port)
    d.stop()                                 # SIGTERM, asserts exit status 0 and
                                             # no sanitizer report in the log
    d.kill9(); d.start()                     # crash and restart on the same data
    d = Daemon(imap=True).start()            # also --imap_listen=127.0.0.1:0
    imaplib.IMAP4("127.0.0.1", d.imap_port)
    d = Daemon(tls=True).start()             # self-signed cert in the temp dir
    d.cert_file, d.submission_port, d.smtps_port

The binary is $RINGMAILD or <repo>/bazel-bin/server/ringmaild. A missing
binary raises (a failure, never a skip).
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_BINARY = os.path.join(REPO, "bazel-bin", "server", "ringmaild")

# Users for every daemon: two local domains. Passwords are test-only.
USERS = {
    "alice@example.test": "alice-secret",
    "bob@example.test": "bob-secret",
    "carol@other.test": "carol-secret",
    "dave@other.test": "dave-secret",
}
LOCAL_DOMAINS = ("example.test", "other.test")


def binary():
    path = os.environ.get("RINGMAILD") or DEFAULT_BINARY
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise FileNotFoundError(
            f"ringmaild binary not found at {path} (build it with "
            "'bazel build //server:ringmaild' or set RINGMAILD)")
    return path


_help_cache = None


def daemon_help():
    """--helpfull output of the daemon (used to see which flags exist)."""
    global _help_cache
    if _help_cache is None:
        _help_cache = ""
        for flag in ("--helpfull", "--help"):
            try:
                p = subprocess.run([binary(), flag], capture_output=True, timeout=10,
                                   stdin=subprocess.DEVNULL)
                _help_cache += (p.stdout + p.stderr).decode("utf-8", "replace")
            except (OSError, subprocess.TimeoutExpired):
                pass
    return _help_cache


def has_flag(name):
    """True if ringmaild advertises --name in its --helpfull output."""
    return f"-{name}" in daemon_help()


def root_flags(path):
    """["--allow_root=true"] when running as root and the ringmaild at `path`
    knows the flag (benchmarks and tests write their trees as root next to
    it and keep it root on purpose), else []."""
    if os.geteuid() != 0:
        return []
    try:
        p = subprocess.run([path, "--help"], capture_output=True, timeout=10,
                           stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return ["--allow_root=true"] if b"--allow_root=" in p.stdout + p.stderr else []


def sha512_crypt(password):
    out = subprocess.run(["openssl", "passwd", "-6", password], capture_output=True,
                         check=True, text=True)
    return out.stdout.strip()


def make_cert(directory):
    """Writes a fresh self-signed EC P-256 certificate (CN=localhost) and key
    into `directory`; returns (cert, key) paths. Never committed."""
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


def write_passwd(path, users):
    lines = []
    for i, (user, pw) in enumerate(sorted(users.items())):
        # Mix schemes: the first user gets {SHA512-CRYPT}, the others {PLAIN}.
        scheme = "{SHA512-CRYPT}" + sha512_crypt(pw) if i == 0 else "{PLAIN}" + pw
        lines.append(f"{user}:{scheme}::::::\n")
    with open(path, "w") as f:
        f.writelines(lines)


class Daemon:
    def __init__(self, extra_args=(), users=None, workdir=None, start_timeout=20.0,
                 imap=False, tls=False):
        self.extra_args = list(extra_args)
        self.tls = tls  # generate a certificate and pass --tls_cert/--tls_key
        self.imap = imap  # listen for IMAP on an ephemeral port; see imap_port
        self.users = dict(USERS if users is None else users)
        self.own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="ringmail-it.")
        self.data_dir = os.path.join(self.workdir, "data")
        self.passwd_file = os.path.join(self.workdir, "passwd")
        self.ports_file = os.path.join(self.workdir, "ports")
        self.log_file = os.path.join(self.workdir, "ringmaild.log")
        self.start_timeout = start_timeout
        self.proc = None
        self.smtp_port = None
        self.imap_port = None
        self.pop3_port = None
        self.submission_port = None
        self.smtps_port = None  # only with tls=True
        self.lmtp_port = None
        self.cert_file = self.key_file = None
        self.starts = 0
        os.makedirs(self.data_dir, exist_ok=True)
        if tls:
            self.cert_file, self.key_file = make_cert(self.workdir)
        write_passwd(self.passwd_file, self.users)

    # -- lifecycle -----------------------------------------------------------
    def start(self):
        assert self.proc is None, "already running"
        if os.path.exists(self.ports_file):
            os.unlink(self.ports_file)
        self.starts += 1
        args = [binary(), f"--data_dir={self.data_dir}", f"--passwd_file={self.passwd_file}",
                "--smtp_listen=127.0.0.1:0", "--imap_listen=127.0.0.1:0",
                "--pop3_listen=127.0.0.1:0",
                "--submission_listen=127.0.0.1:0", "--smtps_listen=127.0.0.1:0",
                "--imaps_listen=127.0.0.1:0", "--pop3s_listen=127.0.0.1:0",
                "--lmtp_listen=127.0.0.1:0",
                f"--ports_file={self.ports_file}",
                "--hostname=mx.ringmail.test"] + self.extra_args
        if self.tls:
            args[1:1] = [f"--tls_cert={self.cert_file}", f"--tls_key={self.key_file}"]
        # The tests write mail into the tree as root next to ringmaild, so it
        # stays root on purpose unless a test names a user
        # (test_privileges.py runs it as one).
        if (os.geteuid() == 0 and not any(a.startswith(("--user=", "--allow_root=")) for a in args)
                and has_flag("allow_root")):
            args.append("--allow_root=true")
        if self.imap and not any(a.startswith("--imap_listen") for a in args):
            args.append("--imap_listen=127.0.0.1:0")
        log = open(self.log_file, "ab")
        log.write(f"=== start #{self.starts}: {' '.join(args)}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            ports = self._read_ports()
            if ports and "smtp" in ports and (not self.imap or "imap" in ports):
                self.ports = ports
                self.smtp_port = int(ports["smtp"].rsplit(":", 1)[1])
                if "imap" in ports:
                    self.imap_port = int(ports["imap"].rsplit(":", 1)[1])
                if "pop3" in ports:
                    self.pop3_port = int(ports["pop3"].rsplit(":", 1)[1])
                if "submission" in ports:
                    self.submission_port = int(ports["submission"].rsplit(":", 1)[1])
                if "smtps" in ports:
                    self.smtps_port = int(ports["smtps"].rsplit(":", 1)[1])
                if "lmtp" in ports:
                    self.lmtp_port = int(ports["lmtp"].rsplit(":", 1)[1])
                return self
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.proc = None
                raise RuntimeError(f"ringmaild exited with {code} before writing "
                                   f"{self.ports_file}:\n{self.log_tail()}")
            time.sleep(0.02)
        self.kill9()
        raise TimeoutError(f"ringmaild did not write {self.ports_file} within "
                           f"{self.start_timeout}s:\n{self.log_tail()}")

    def _read_ports(self):
        try:
            with open(self.ports_file) as f:
                text = f.read()
        except FileNotFoundError:
            return None
        if not text.endswith("\n"):
            return None  # still being written
        ports = {}
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 2:
                ports.setdefault(parts[0], parts[1])
        return ports

    def sanitizer_report(self):
        """The first sanitizer error report in the daemon's log (its stderr
        goes there), or "": --config=asan builds print one on a
        heap-use-after-free, overflow, leak or undefined behaviour
        (AddressSanitizer warnings do not count)."""
        try:
            with open(self.log_file, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        m = re.search(r"ERROR: (Address|Leak)Sanitizer|AddressSanitizer:DEADLYSIGNAL|"
                      r"SUMMARY: UndefinedBehaviorSanitizer|: runtime error: ", text)
        if not m:
            return ""
        i = m.start()
        start = text.rfind("\n", 0, max(0, i - 200)) + 1
        return text[start:start + 6000]

    def stop(self, timeout=20.0):
        """SIGTERM; returns the exit status and raises unless it is 0 and the
        log holds no sanitizer report (sanitizer_report)."""
        asan = self.sanitizer_report()
        if asan:
            self.kill9()
            raise AssertionError(f"ringmaild reported a memory error:\n{asan}")
        if self.proc is None:
            return 0
        early = self.proc.poll()
        if early is not None:
            self.proc = None
            raise AssertionError(f"ringmaild had already exited with {early} before SIGTERM "
                                 f"(crashed?):\n{self.log_tail()}")
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            raise AssertionError(f"ringmaild did not exit within {timeout}s of SIGTERM:\n"
                                 f"{self.log_tail()}")
        self.proc = None
        asan = self.sanitizer_report()
        if asan:
            raise AssertionError(f"ringmaild reported a memory error:\n{asan}")
        if code != 0:
            raise AssertionError(f"ringmaild exited with {code} after SIGTERM:\n{self.log_tail()}")
        return code

    def kill9(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def cleanup(self):
        self.kill9()
        if self.own_workdir and not os.environ.get("RINGMAIL_KEEP_TEST_DIRS"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, n=40):
        try:
            with open(self.log_file, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return "(no log)"

    # -- mailboxes -----------------------------------------------------------
    def maildir(self, address):
        local, domain = address.rsplit("@", 1)
        return os.path.join(self.data_dir, "mail", domain.lower(), local, "Maildir")

    def new_files(self, address):
        d = os.path.join(self.maildir(address), "new")
        try:
            return sorted(os.path.join(d, n) for n in os.listdir(d) if not n.startswith("."))
        except FileNotFoundError:
            return []

    def all_delivered(self):
        """Every file under <data_dir>/mail/*/*/Maildir/new, as (address, path)."""
        out = []
        base = os.path.join(self.data_dir, "mail")
        if not os.path.isdir(base):
            return out
        for domain in sorted(os.listdir(base)):
            for local in sorted(os.listdir(os.path.join(base, domain))):
                addr = f"{local}@{domain}"
                out.extend((addr, p) for p in self.new_files(addr))
        return out

    def wait_for_count(self, address, n, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            files = self.new_files(address)
            if len(files) >= n:
                return files
            time.sleep(0.05)
        return self.new_files(address)


def parse_maildir_name(path):
    """Returns {'S': int, 'W': int} from a name like 'T.M.host,S=123,W=130'."""
    name = os.path.basename(path).split(":", 1)[0]
    out = {}
    for part in name.split(",")[1:]:
        if "=" in part:
            k, v = part.split("=", 1)
            if v.isdigit():
                out[k] = int(v)
    return out


def split_message(data):
    """(header block bytes, body bytes) of an LF-terminated stored message."""
    i = data.find(b"\n\n")
    if i < 0:
        return data, b""
    return data[: i + 1], data[i + 2:]


# ---------------------------------------------------------------- raw client
class RawSMTP:
    """Minimal line-oriented SMTP client for what smtplib cannot do (BDAT,
    pipelining, bad input). Replies are returned as (code, [lines])."""

    def __init__(self, port, host="127.0.0.1", timeout=15.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def reply(self):
        lines = []
        while True:
            while b"\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    if lines or self.buf:
                        raise ConnectionError(f"connection closed mid-reply: {lines} {self.buf!r}")
                    raise ConnectionError("connection closed")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            line = line.rstrip(b"\r").decode("utf-8", "replace")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return int(line[:3]), lines

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def closed(self, timeout=5.0):
        """True if the server closes the connection (EOF) within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
        except (socket.timeout, TimeoutError):
            return False
        except OSError:
            return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class DaemonTestCase(unittest.TestCase):
    """Each test gets its own daemon, started in setUp. It is stopped with
    SIGTERM in a cleanup that runs after the test's own cleanups (so client
    connections registered with addCleanup are closed first); the test fails
    unless the daemon exits 0."""

    extra_args = ()
    imap = False  # set True in a subclass to get self.imap_port
    tls = False   # set True for a certificate (self.daemon.cert_file)

    def daemon_args(self):
        return list(self.extra_args)

    def setUp(self):
        self.daemon = Daemon(extra_args=self.daemon_args(), imap=self.imap, tls=self.tls)
        self.addCleanup(self.daemon.cleanup)   # runs last: kill -9 if still up, rm
        self.addCleanup(self.daemon.stop)      # runs before it: SIGTERM, exit 0
        self.daemon.start()
        self.port = self.daemon.smtp_port
        self.imap_port = self.daemon.imap_port
