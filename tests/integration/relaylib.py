"""Peers for the outbound relay tests: a private dnsmasq serving MX records
for test domains, and scripted aiosmtpd sinks on loopback addresses that
share one port (the relay's --relay_port)."""
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


def free_port(host="127.0.0.1", kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def free_port_on_all(hosts):
    """A TCP port free on every address in `hosts` (sinks share it)."""
    for _ in range(50):
        port = free_port(hosts[0])
        ok = True
        for h in hosts[1:]:
            s = socket.socket()
            try:
                s.bind((h, port))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            return port
    raise RuntimeError("no common free port")


class _PortTaken(Exception):
    """dnsmasq exited at start-up because its port was taken meanwhile."""


class Dnsmasq:
    """dnsmasq on 127.0.0.1:<udp port>, answering only what it is given:
    mx = [(domain, host, preference)], hosts = [(name, ip)]."""

    # free_port() releases the port before dnsmasq binds it, so another
    # process can take it in between; dnsmasq then exits at start-up with
    # "Address already in use" and we try again with a new port.
    START_ATTEMPTS = 5

    def __init__(self, mx=(), hosts=()):
        self.dir = tempfile.mkdtemp(prefix="ringmail-dns.")
        self.log = None
        for attempt in range(self.START_ATTEMPTS):
            self.port = free_port(kind=socket.SOCK_DGRAM)
            try:
                self._start(mx, hosts)
                return
            except _PortTaken:
                if attempt + 1 == self.START_ATTEMPTS:
                    raise RuntimeError(f"dnsmasq: no free port after {self.START_ATTEMPTS} attempts")

    def _start(self, mx, hosts):
        args = [shutil.which("dnsmasq") or "/usr/sbin/dnsmasq", "--keep-in-foreground",
                "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll",
                "--bind-interfaces", "--listen-address=127.0.0.1",
                # Answer for .test locally (NODATA/NXDOMAIN) instead of REFUSED.
                "--local=/test/",
                f"--port={self.port}", "--user=root", "--group=root",
                f"--pid-file={self.dir}/pid", "--log-facility=-", "--cache-size=0"]
        for domain, host, pref in mx:
            args.append(f"--mx-host={domain},{host},{pref}")
        for name, ip in hosts:
            args.append(f"--host-record={name},{ip}")
        if self.log:
            self.log.close()
        self.log = open(os.path.join(self.dir, "log"), "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        self._wait_ready(mx[0][0] if mx else "localhost")

    def _wait_ready(self, name):
        query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
        for label in name.split("."):
            query += bytes([len(label)]) + label.encode()
        query += b"\x00\x00\x0f\x00\x01"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                with open(self.log.name, errors="replace") as f:
                    text = f.read()
                if "Address already in use" in text:
                    raise _PortTaken(text)
                raise RuntimeError("dnsmasq exited: " + text)
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(0.2)
            try:
                s.sendto(query, ("127.0.0.1", self.port))
                s.recvfrom(512)
                return
            except OSError:
                time.sleep(0.05)
            finally:
                s.close()
        raise TimeoutError("dnsmasq did not answer")

    @property
    def server(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class SinkState:
    """What a sink saw, shared with the test thread (under a lock)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []       # (connection id, mail_from, [rcpts], data bytes)
        self.connections = 0
        self.open = 0
        self.max_open = 0
        self.rcpt_attempts = 0
        # Scripted behaviour: "accept", "tempfail" (451 at RCPT), "reject"
        # (550 at RCPT), "drop" (close at DATA). A callable gets the attempt
        # number (1-based) and returns one of those.
        self.behaviour = "accept"
        self.delay = 0.0         # seconds to sleep before answering DATA
        self.tls_messages = 0    # messages received over STARTTLS

    def mode(self):
        b = self.behaviour
        return b(self.rcpt_attempts) if callable(b) else b


class _CountingSMTP(SMTP):
    def __init__(self, handler, state, **kw):
        super().__init__(handler, **kw)
        self._state = state

    def connection_made(self, transport):
        with self._state.lock:
            self._state.connections += 1
            self._state.open += 1
            self._state.max_open = max(self._state.max_open, self._state.open)
            self._conn_id = self._state.connections
        super().connection_made(transport)

    def connection_lost(self, exc):
        with self._state.lock:
            self._state.open -= 1
        super().connection_lost(exc)


class _Handler:
    def __init__(self, state):
        self.state = state

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.state.lock:
            self.state.rcpt_attempts += 1
            mode = self.state.mode()
        if mode == "tempfail":
            return "451 4.7.1 Try again later"
        if mode == "reject":
            return "550 5.1.1 <%s>: Recipient address rejected" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.state.lock:
            mode = self.state.mode()
            delay = self.state.delay
        if mode == "drop":
            server.transport.close()
            return "451 dropped"
        if delay:
            await asyncio.sleep(delay)
        with self.state.lock:
            if session.ssl is not None:
                self.state.tls_messages += 1
            self.state.messages.append((server._conn_id, envelope.mail_from,
                                        list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 Ok: queued"


def make_host_cert(directory, host):
    """A fresh self-signed EC certificate naming `host` (CN and DNS SAN) and
    its key in `directory`; returns (cert, key) paths. Never committed."""
    cert = os.path.join(directory, f"{host}.crt")
    key = os.path.join(directory, f"{host}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                    "-subj", f"/CN={host}", "-addext", f"subjectAltName=DNS:{host}",
                    "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


class Sink:
    """An aiosmtpd server on host:port with scripted answers; with
    `tls_context` (an ssl.SSLContext) it offers STARTTLS."""

    def __init__(self, host, port, tls_context=None):
        self.state = SinkState()
        state = self.state

        class _Controller(Controller):
            def factory(self):
                return _CountingSMTP(self.handler, state, **self.SMTP_kwargs)

        self.controller = _Controller(_Handler(state), hostname=host, port=port,
                                      server_hostname=f"sink-{host}",
                                      enable_SMTPUTF8=True, tls_context=tls_context)
        self.controller.start()

    def messages(self):
        with self.state.lock:
            return list(self.state.messages)

    def wait_messages(self, n, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages()) >= n:
                return self.messages()
            time.sleep(0.05)
        raise AssertionError(f"sink got {len(self.messages())} messages, wanted {n}")

    def stop(self):
        self.controller.stop()
