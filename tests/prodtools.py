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


class PKI:
    """A throw-away CA (``cryptography``): server certificates, user certificates, and RFC 3820
    proxies of those, written as PEM files into ``folder``."""

    #: RFC 3820 ProxyCertInfo, DER: SEQUENCE { SEQUENCE { id-ppl-inheritAll } }
    PROXY_CERT_INFO = bytes.fromhex("300c300a06082b06010505071501")

    def __init__(self, folder, common_name="rucio-tornado test CA"):
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import ec
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = self.x509_name(("CN", common_name))
        self.cert = self._build(self.name, self.name, self.key.public_key(), self.key, True, [
            x509.KeyUsage(False, False, False, False, False, True, True, False, False)])
        self.ca_path = self._write("ca.pem" if common_name.endswith("test CA")
                                   else "other-ca.pem", self.cert)

    @staticmethod
    def x509_name(*pairs):
        """``("DC", "org"), ("CN", "Jane Doe")`` (most significant first) -> x509.Name."""
        from cryptography import x509
        from cryptography.x509.oid import NameOID
        oids = {"CN": NameOID.COMMON_NAME, "DC": NameOID.DOMAIN_COMPONENT,
                "OU": NameOID.ORGANIZATIONAL_UNIT_NAME, "O": NameOID.ORGANIZATION_NAME,
                "C": NameOID.COUNTRY_NAME}
        return x509.Name([x509.NameAttribute(oids[kind], value) for kind, value in pairs])

    def _build(self, subject, issuer, public_key, signing_key, is_ca, extensions=(),
               critical=()):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        now = datetime.datetime.now(datetime.UTC)
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                   .public_key(public_key).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=2)))
        if is_ca is not None:
            builder = builder.add_extension(x509.BasicConstraints(ca=is_ca, path_length=None),
                                            critical=True)
        for extension in extensions:
            builder = builder.add_extension(extension, critical=False)
        for extension in critical:
            builder = builder.add_extension(extension, critical=True)
        return builder.sign(signing_key, hashes.SHA256())

    def _write(self, filename, *items):
        from cryptography.hazmat.primitives import serialization
        from cryptography.x509 import Certificate
        path = self.folder / filename
        chunks = []
        for item in items:
            if isinstance(item, Certificate):
                chunks.append(item.public_bytes(serialization.Encoding.PEM))
            else:
                chunks.append(item.private_bytes(serialization.Encoding.PEM,
                                                 serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
        path.write_bytes(b"".join(chunks))
        path.chmod(0o600)
        return str(path)

    def server(self):
        """A server certificate for 127.0.0.1/localhost: (cert, key) paths."""
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import ec
        key = ec.generate_private_key(ec.SECP256R1())
        san = x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                           x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
        cert = self._build(self.x509_name(("CN", "localhost")), self.name, key.public_key(),
                           self.key, False, [san])
        return self._write("server.pem", cert), self._write("server.key", key)

    def user(self, filename, *pairs):
        """A user certificate with the DN ``pairs``: (cert path, key path, cert, key)."""
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import rsa
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = self._build(self.x509_name(*pairs), self.name, key.public_key(), self.key, False,
                           [x509.KeyUsage(True, False, True, False, False, False, False, False,
                                          False)])
        return self._write(filename + ".pem", cert), self._write(filename + ".key", key), \
            cert, key

    def proxy(self, filename, user_cert, user_key):
        """An RFC 3820 proxy of the user certificate, as grid tools write it: one file holding
        the proxy certificate, its key and the user certificate."""
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID, ObjectIdentifier
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name(list(user_cert.subject) + [
            x509.NameAttribute(NameOID.COMMON_NAME, str(x509.random_serial_number() % 10**9))])
        info = x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.5.5.7.1.14"),
                                          self.PROXY_CERT_INFO)
        cert = self._build(subject, user_cert.subject, key.public_key(), user_key, None, critical=[
            info, x509.KeyUsage(True, False, True, False, False, False, False, False, False)])
        return self._write(filename, cert, key, user_cert)


def make_certificates(folder):
    """A test CA and a server certificate for 127.0.0.1/localhost: (ca, cert, key) paths."""
    pki = PKI(folder)
    return (pki.ca_path, *pki.server())


class Server:
    """``rucio-tornado serve`` as a subprocess, configured with ``RUCIO_TORNADO_*`` variables."""

    def __init__(self, workdir, settings=None, serve_args=(), scheme="http", ca=None,
                 wait=True, preexec_fn=None):
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
            stdout=open(self.out_path, "w"), stderr=open(self.log_path, "w"), env=env,
            preexec_fn=preexec_fn)
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
