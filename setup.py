"""rucio-tornado: a Rucio REST API server on Tornado, peewee, SQLite and PostgreSQL."""
from setuptools import find_packages, setup

setup(
    name="rucio-tornado",
    version="0.1.0",
    description="A Rucio-compatible data catalog server built on Tornado and peewee",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["rucio_tornado", "rucio_tornado.*"]),
    include_package_data=True,
    package_data={"rucio_tornado.web": ["ui/*"]},   # the catalog browser's static files
    install_requires=[
        "tornado>=6.4",
        "peewee>=3.17",
        "pyjwt[crypto]>=2.8",         # external OIDC tokens: RS256, ES256, JWKS
        "cryptography>=42",           # X.509 client certificates, SSH keys
        "ujson>=5.9",
        "psycopg2-binary>=2.9",
        "prometheus-client>=0.20",
        "requests>=2.28",   # rucio-tornado load (the bulk loader is an HTTP client)
        "tqdm>=4.66",       # rucio-tornado load's progress bar
        "botocore>=1.34",             # signed URLs: AWS Signature V4 presigning (s3 RSEs)
        "proxy-protocol>=0.11",       # PROXY headers of a TLS passthrough (proxy_protocol)
        "jsonschema>=4.18",           # request bodies checked against their schemas (web/schemas.py)
    ],
    extras_require={
        "test": [
            "pytest>=8",
            "pytest-tornado>=0.8.1",
            "setuptools<81",  # pytest-tornado imports pkg_resources
            "rucio-clients[ssh]>=41,<42",  # [ssh]: paramiko, for auth_type = ssh
            "requests",
            "cryptography",  # test CA, certificates and proxies for the TLS tests
            "ruff",
            "selenium>=4.20",  # the catalog browser test (Debian's chromium + chromium-driver)
            "hypothesis>=6.100",  # tests/test_fuzz.py and tools/fuzz (issue 12, item 9)
        ],
    },
    entry_points={"console_scripts": ["rucio-tornado = rucio_tornado.cli:main"]},
)
