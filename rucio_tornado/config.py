"""One Settings object: an INI file (``[server]`` section) plus ``RUCIO_TORNADO_*`` overrides.

Precedence, lowest first: built-in defaults, the configuration file, environment variables,
command-line flags (applied by the CLI through :meth:`Settings.override`).
"""
import configparser
import dataclasses
import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit

ENV_PREFIX = "RUCIO_TORNADO_"
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "conf" / "rucio-tornado.cfg"
DEFAULT_ROOT_PASSWORD = "secret"
MODES = ("development", "production")
LOOP_READS = ("auto", "always", "never")   # db_loop_reads
MIN_SECRET_LENGTH = 32
MIN_ROOT_PASSWORD_LENGTH = 12            # production


@dataclasses.dataclass
class Settings:
    mode: str = "development"            # development | production
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: str = "var"                # SQLite file, generated JWT key (development)
    db: str = ""                         # sqlite:///path or postgresql://user@host:port/db
    db_pool_size: int = 8                # PostgreSQL connections (and executor threads) per process
    db_loop_reads: str = "auto"          # point reads on the IOLoop's own connection (auto: a
                                         # SQLite file, PostgreSQL on a loopback address or
                                         # socket; always; never): no executor hop
    db_stream_pool_size: int = 8         # PostgreSQL connections reserved for streamed listings
    allow_sqlite_in_production: bool = False
    jwt_secret: str = ""                 # HS256 key; development generates one in data_dir
    jwt_algorithm: str = "HS256"
    jwt_private_key_file: str = ""       # RS256 signing key (production, optional)
    jwt_public_key_file: str = ""        # RS256 verification key
    token_lifetime: int = 3600           # seconds
    root_account: str = "root"
    root_username: str = "ddmlab"
    root_password: str = DEFAULT_ROOT_PASSWORD
    root_email: str = ""
    vo: str = "def"
    stream_batch_size: int = 1000        # rows fetched and written per chunk
    gil_switch_interval_us: int = 200    # how long a thread may hold the GIL while another
                                         # waits (Python's default 5000): a stream's prefetched
                                         # rows and the IOLoop get it back sooner; 0: default
    malloc_arenas: int = 1               # glibc malloc arenas per process (0: glibc's 8 per
                                         # core): what a bulk call's threads kept goes back
    processes: int = 1
    ssl_certfile: str = ""
    ssl_keyfile: str = ""
    ssl_client_ca: str = ""              # CA bundle (PEM) for X.509 client certificates
    ssl_client_ca_path: str = ""         # ... or a directory of hashed CA files (c_rehash)
    x509_dn_header: str = "X-SSL-Client-S-DN"       # client DN set by a trusted TLS proxy
    x509_verify_header: str = "X-SSL-Client-Verify"  # ... believed only when it says SUCCESS
    oidc_issuers: str = ""               # "ISSUER=JWKS file or URL, ISSUER" (none: discovery)
    oidc_audience: str = "rucio"         # external tokens' aud must contain this
    oidc_leeway: int = 60                # seconds of clock skew allowed for exp/nbf/iat
    oidc_jwks_refresh: float = 3600.0    # seconds a fetched JWKS is kept before reading it again
    # the browser/polling login (/auth/oidc...) against one identity provider (none: 401)
    oidc_login_issuer: str = ""          # the IdP's issuer URL (discovery document under it)
    oidc_client_id: str = ""             # this server's client at that IdP
    oidc_client_secret: str = ""         # ... and its secret (client_secret_basic)
    oidc_scope: str = "openid profile"   # scopes every login asks for (more may be requested)
    oidc_login_lifetime: int = 300       # seconds a started login may take
    ssh_challenge_lifetime: int = 10     # seconds a client has to sign an SSH challenge
    trusted_proxies: str = ""            # comma-separated addresses allowed to set X-Forwarded-*
    proxy_protocol: bool = False         # connections start with a PROXY header (TLS passthrough),
                                         # believed from trusted_proxies only: others are closed
    shutdown_timeout: float = 30.0       # seconds running requests get on SIGTERM
    periodic_tasks: bool = True          # run rule expiry and subscriptions in-process (development)
    periodic_interval: float = 10.0      # seconds between periodic task runs
    access_log: bool = True
    trace_retention: int = 100000        # traces kept (newest rows); 0 keeps all
    # -- limits (docs/RELIABILITY.md): checked before the work they would cause ------------
    max_body_size: int = 64 * 1024 * 1024    # bytes of a request body: beyond, 413 (a
                                         # 100k-file POST /replicas with pfn+md5: 42 MB)
    max_bulk_items: int = 100_000        # items in one bulk call (files, DIDs): beyond, 413
    max_url_size: int = 65536            # bytes of the request line's target: beyond, 414
    max_header_size: int = 65536         # bytes of all header lines: beyond, 431
    idle_connection_timeout: float = 75.0    # seconds a kept-alive connection may sit idle
    body_timeout: float = 300.0          # seconds to receive a whole request body
    login_max_failures: int = 10         # failed logins per identity (and per address x3) ...
    login_failure_window: float = 300.0  # ... within this many seconds, then 429 until it ends
    password_hash_threads: int = 2       # scrypt runs here, never in the database executor
    external_url: str = ""               # the https address clients use (a TLS proxy's), for the banner
    rse_accounts: str = ""               # JSON file of RSE object-store credentials (signed URLs)
    config_file: str = ""

    @classmethod
    def load(cls, path=None, environ=None):
        """Defaults, then the INI file at ``path`` (or the bundled development file), then env."""
        environ = os.environ if environ is None else environ
        path = path or environ.get(ENV_PREFIX + "CONFIG") or (
            str(DEFAULT_CONFIG) if DEFAULT_CONFIG.exists() else "")
        values = {}
        if path:
            parser = configparser.ConfigParser(interpolation=None)
            if not parser.read(path):
                raise SystemExit(f"configuration file not found: {path}")
            if parser.has_section("server"):
                values.update(parser.items("server"))
        for field in dataclasses.fields(cls):
            env = environ.get(ENV_PREFIX + field.name.upper())
            if env is not None:
                values[field.name] = env
        settings = cls(config_file=path or "")
        settings.override(**values)
        return settings

    def override(self, **values):
        """Set fields from strings or typed values, ignoring ``None`` (unset CLI flags)."""
        known = {f.name: f for f in dataclasses.fields(self)}
        for key, value in values.items():
            if value is None:
                continue
            if key not in known:
                raise SystemExit(f"unknown setting: {key}")
            kind = type(getattr(self, key))
            try:
                setattr(self, key, _coerce(value, kind))
            except ValueError:
                raise SystemExit(f"setting {key}: {value!r} is not a valid {kind.__name__}") \
                    from None
        return self

    @property
    def db_url(self):
        """The database URL; development defaults to SQLite in the data folder."""
        return self.db or "sqlite:///" + str(Path(self.data_dir) / "rucio.db")

    @property
    def is_production(self):
        return self.mode == "production"

    @property
    def terminates_tls(self):
        return bool(self.ssl_certfile)

    @property
    def public_url(self):
        scheme = "https" if self.terminates_tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def client_url(self):
        """The address a client should use: ``external_url``, else https behind a proxy in
        production (a guess: the proxy is on this host name), else where we listen."""
        if self.external_url:
            return self.external_url.rstrip("/")
        if self.is_production and not self.terminates_tls:
            return f"https://{self.host}"
        return self.public_url

    @property
    def runs_periodic_tasks(self):
        """Periodic tasks run in the server only in a single development process; production
        runs them in ``rucio-tornado daemon`` so that they run in exactly one place."""
        return self.periodic_tasks and self.processes == 1 and not self.is_production


def validate(settings):
    """Every reason ``settings`` cannot start a server, as a list of messages (empty: fine)."""
    problems = []
    if settings.mode not in MODES:
        problems.append(f"mode must be one of {', '.join(MODES)}, not {settings.mode!r}")
    if settings.processes < 1:
        problems.append("processes must be at least 1")
    if settings.db_loop_reads not in LOOP_READS:
        problems.append(f"db_loop_reads must be one of {', '.join(LOOP_READS)}, "
                        f"not {settings.db_loop_reads!r}")
    if settings.malloc_arenas < 0:
        problems.append("malloc_arenas must be 0 (glibc's default) or a number of arenas")
    if settings.gil_switch_interval_us < 0:
        problems.append("gil_switch_interval_us must be 0 (Python's default) or a number "
                        "of microseconds")
    if settings.trace_retention < 0:
        problems.append("trace_retention must be 0 (keep all traces) or a number of rows")
    for name in ("max_body_size", "max_bulk_items", "max_url_size", "max_header_size",
                 "idle_connection_timeout", "body_timeout", "login_max_failures",
                 "login_failure_window", "password_hash_threads"):
        if getattr(settings, name) <= 0:
            problems.append(f"{name} must be positive")
    if bool(settings.ssl_certfile) != bool(settings.ssl_keyfile):
        problems.append("ssl_certfile and ssl_keyfile must be set together")
    for name in ("ssl_certfile", "ssl_keyfile", "ssl_client_ca", "rse_accounts"):
        path = getattr(settings, name)
        if path and not Path(path).is_file():
            problems.append(f"{name}: file not found: {path}")
    problems.extend(_authentication_problems(settings))
    try:
        networks = parse_networks(settings.trusted_proxies)
    except ValueError as exc:
        problems.append(f"trusted_proxies: {exc}")
    else:
        if any(network.prefixlen == 0 for network in networks):
            problems.append("trusted_proxies must not cover every address (0.0.0.0/0, ::/0): "
                            "anybody could then claim any client address and https")
        if settings.proxy_protocol and not networks:
            problems.append("proxy_protocol needs trusted_proxies (the addresses of the proxies "
                            "that send the PROXY header)")
    if settings.is_production:
        problems.extend(_production_problems(settings))
    return problems


def _authentication_problems(settings):
    problems = []
    if settings.ssl_client_ca_path and not Path(settings.ssl_client_ca_path).is_dir():
        problems.append(f"ssl_client_ca_path: directory not found: {settings.ssl_client_ca_path}")
    if (settings.ssl_client_ca or settings.ssl_client_ca_path) and not settings.terminates_tls:
        problems.append("ssl_client_ca / ssl_client_ca_path need ssl_certfile and ssl_keyfile "
                        "(behind a TLS proxy, the proxy checks client certificates)")
    try:
        issuers = parse_issuers(settings.oidc_issuers)
    except ValueError as exc:
        return problems + [f"oidc_issuers: {exc}"]
    for issuer, location in issuers.items():
        if location and "://" not in location and not Path(location).is_file():
            problems.append(f"oidc_issuers: JWKS file of {issuer} not found: {location}")
    if issuers and not settings.oidc_audience:
        problems.append("oidc_audience must be set when oidc_issuers is")
    return problems


def _production_problems(settings):
    problems = []
    if settings.jwt_algorithm == "HS256":
        if len(settings.jwt_secret) < MIN_SECRET_LENGTH:
            problems.append(f"production needs jwt_secret (HS256) of at least "
                            f"{MIN_SECRET_LENGTH} characters, or jwt_algorithm = RS256 with "
                            f"jwt_private_key_file and jwt_public_key_file")
    elif settings.jwt_algorithm == "RS256":
        for name in ("jwt_private_key_file", "jwt_public_key_file"):
            path = getattr(settings, name)
            if not path or not Path(path).is_file():
                problems.append(f"RS256 needs {name} (an existing PEM file), got {path!r}")
    else:
        problems.append(f"jwt_algorithm must be HS256 or RS256, not {settings.jwt_algorithm!r}")
    if not settings.db.startswith(("postgresql://", "postgres://")):
        if not settings.db.startswith("sqlite:///") or not settings.allow_sqlite_in_production:
            problems.append("production needs a PostgreSQL database (db = postgresql://...); "
                            "SQLite only with allow_sqlite_in_production = true")
    if not settings.root_password or settings.root_password == DEFAULT_ROOT_PASSWORD:
        problems.append("production refuses the default or an empty root_password: "
                        "set root_password (e.g. RUCIO_TORNADO_ROOT_PASSWORD)")
    elif len(settings.root_password) < MIN_ROOT_PASSWORD_LENGTH:
        problems.append(f"production needs a root_password of at least "
                        f"{MIN_ROOT_PASSWORD_LENGTH} characters")
    if not settings.terminates_tls and not settings.trusted_proxies.strip():
        problems.append("production requires TLS: set ssl_certfile and ssl_keyfile, or "
                        "trusted_proxies (the TLS proxy's addresses)")
    return problems


def parse_networks(text):
    """``"127.0.0.1, 10.0.0.0/8"`` -> a tuple of ip networks (ValueError if malformed)."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False)
                 for part in text.split(",") if part.strip())


def _coerce(value, kind):
    if not isinstance(value, str) or kind is str:
        return value
    if kind is bool:
        return value.strip().lower() in ("1", "true", "yes", "on")
    return kind(value)


def safe_url(url):
    """The database URL without its password, for printing."""
    if "@" in url and ":" in url.split("@")[0].split("//")[-1]:
        scheme, rest = url.split("//", 1)
        creds, host = rest.split("@", 1)
        return f"{scheme}//{creds.split(':')[0]}:***@{host}"
    return url


#: Hosts a JWKS or discovery URL may reach over plain http (a local test issuer).
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def parse_issuers(text):
    """``"ISS=JWKS, ISS"`` -> ``{iss: jwks location or ""}``; ValueError if malformed. The
    first ``=`` of each entry separates the issuer from its JWKS file or URL."""
    issuers = {}
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        issuer, _, location = (piece.strip() for piece in entry.partition("="))
        if not issuer:
            raise ValueError(f"no issuer in {entry!r}")
        for url in filter(None, (issuer if not location else None, location)):
            if "://" in url:
                check_url(url)
        issuers[issuer] = location
    return issuers


def check_url(url):
    """https, or http on a loopback address only (a local test issuer)."""
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK):
        return url
    raise ValueError(f"{url}: JWKS and discovery URLs must be https (http only on loopback)")
