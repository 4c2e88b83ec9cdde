"""One Settings object: an INI file (``[server]`` section) plus ``RUCIO_TORNADO_*`` overrides.

Precedence, lowest first: built-in defaults, the configuration file, environment variables,
command-line flags (applied by the CLI through :meth:`Settings.override`).
"""
import configparser
import dataclasses
import os
from pathlib import Path

ENV_PREFIX = "RUCIO_TORNADO_"
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "conf" / "rucio-tornado.cfg"
DEFAULT_ROOT_PASSWORD = "secret"


@dataclasses.dataclass
class Settings:
    mode: str = "development"            # development | production
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: str = "var"                # SQLite file, generated JWT key (development)
    db: str = ""                         # sqlite:///path or postgresql://user@host:port/db
    db_pool_size: int = 8                # PostgreSQL connections (and executor threads) per process
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
    processes: int = 1
    ssl_certfile: str = ""
    ssl_keyfile: str = ""
    ssl_client_ca: str = ""
    trusted_proxies: str = ""            # comma-separated addresses allowed to set X-Forwarded-*
    shutdown_timeout: float = 30.0       # seconds running requests get on SIGTERM
    periodic_tasks: bool = True          # run rule expiry and subscriptions in-process (development)
    periodic_interval: float = 10.0      # seconds between periodic task runs
    access_log: bool = True
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
            setattr(self, key, _coerce(value, type(getattr(self, key))))
        return self

    @property
    def db_url(self):
        """The database URL; development defaults to SQLite in the data folder."""
        return self.db or "sqlite:///" + str(Path(self.data_dir) / "rucio.db")

    @property
    def is_production(self):
        return self.mode == "production"


def _coerce(value, kind):
    if not isinstance(value, str) or kind is str:
        return value
    if kind is bool:
        return value.strip().lower() in ("1", "true", "yes", "on")
    return kind(value)
