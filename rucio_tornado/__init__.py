"""rucio-tornado: a server for the Rucio REST API."""

__version__ = "0.1.0"
#: The Rucio API version we speak, reported by ``GET /ping``.
RUCIO_API_VERSION = "41.5.1"
