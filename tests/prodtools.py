"""Helpers for the production tests: test certificates and ``rucio-tornado`` subprocesses."""
import datetime
import ipaddress
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.live import free_port

TEST_SECRET = "production-test-secret-at-least-32-characters"
ROOT_PASSWORD = "a-real-root-password"


def make_certificates(folder):
    """A test CA and a server certificate for 127.0.0.1/localhost: (ca, cert, key) paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = Path(folder)
    now = datetime.datetime.now(datetime.UTC)

    def name(common):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def build(subject, issuer, public_key, signing_key, is_ca, extensions=()):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                   .public_key(public_key).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=2))
                   .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None),
                                  critical=True))
        for extension in extensions:
            builder = builder.add_extension(extension, critical=False)
        return builder.sign(signing_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = build(name("rucio-tornado test CA"), name("rucio-tornado test CA"), ca_key.public_key(),
               ca_key, True, [x509.KeyUsage(False, False, False, False, False, True, True, False,
                                            False)])
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                       x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = build(name("localhost"), ca.subject, key.public_key(), ca_key, False, [san])
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return tuple(str(path) for path in paths)


class Server:
    """``rucio-tornado serve`` as a subprocess, configured with ``RUCIO_TORNADO_*`` variables."""

    def __init__(self, workdir, settings=None, serve_args=(), scheme="http", ca=None,
                 wait=True):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.verify = ca or True
        env = dict(os.environ, RUCIO_TORNADO_DATA_DIR=str(self.workdir / "var"),
                   RUCIO_TORNADO_PORT=str(self.port), RUCIO_TORNADO_JWT_SECRET=TEST_SECRET)
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env.update({f"RUCIO_TORNADO_{key.upper()}": str(value)
                    for key, value in (settings or {}).items()})
        self.log_path = self.workdir / f"server-{self.port}.log"
        self.out_path = self.workdir / f"server-{self.port}.out"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rucio_tornado", "serve", *serve_args],
            stdout=open(self.out_path, "w"), stderr=open(self.log_path, "w"), env=env)
        if wait:
            self.wait_until_up()

    def wait_until_up(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(self.url + "/ping", timeout=1,
                                verify=self.verify).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("server did not come up:\n" + self.log())

    def log(self):
        return self.log_path.read_text()

    def output(self):
        return self.out_path.read_text()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Send ``sig`` and return the exit code (killing the server if it hangs)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError("server did not stop:\n" + self.log()) from None
        return self.process.returncode


def children_of(pid):
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found
