"""The PROXY protocol header (v1 text, v2 binary) a TCP proxy sends before the client's bytes.

Behind a TLS passthrough (nginx ``stream`` with ``proxy_protocol on``, HAProxy ``send-proxy``)
the TCP peer is the proxy; the header says who the client is. It must be consumed exactly,
never a byte of the TLS handshake behind it (which Tornado's ``start_tls`` takes over from an
idle socket), so it is framed here by peeking at the socket and read to its last byte only;
parsing is the ``proxy-protocol`` library's.
"""
import asyncio
import socket
import struct

from proxyprotocol import ProxyProtocolIncompleteError
from proxyprotocol.detect import ProxyProtocolDetect
from proxyprotocol.result import is_ipv4, is_ipv6

V1_PREFIX, V1_MAX = b"PROXY ", 107            # the longest v1 line, CRLF included
V2_SIGNATURE, V2_FIXED = b"\r\n\r\n\x00\r\nQUIT\n", 16
V2_MAX = V2_FIXED + 4096                      # addresses and TLVs; nginx sends v1 anyway

_PARSER = ProxyProtocolDetect()


class BadHeader(Exception):
    """No valid PROXY header: the connection is closed."""


def header_length(data):
    """Length of the complete header at the start of ``data``; None while incomplete."""
    if data.startswith(V2_SIGNATURE):
        if len(data) < V2_FIXED:
            return None
        length = V2_FIXED + struct.unpack("!H", data[14:16])[0]
        if length > V2_MAX:
            raise BadHeader("PROXY v2 header too long")
        return length if len(data) >= length else None
    if data.startswith(V1_PREFIX):
        end = data.find(b"\r\n", 0, V1_MAX)
        if end >= 0:
            return end + 2
        if len(data) >= V1_MAX:
            raise BadHeader("PROXY v1 line too long")
        return None
    if V2_SIGNATURE.startswith(data[:12]) or V1_PREFIX.startswith(data[:6]):
        return None                           # too short to tell yet
    raise BadHeader("no PROXY protocol header")


def client_address(header, peer):
    """The client's ``(host, port)`` the header names; ``peer`` for LOCAL / UNKNOWN (health
    checks, which speak for the proxy itself)."""
    try:
        result = _PARSER.unpack(header)
    except (ProxyProtocolIncompleteError, ValueError, KeyError, IndexError, struct.error) as exc:
        raise BadHeader(f"bad PROXY header: {exc}") from None
    if result.proxied and (is_ipv4(result) or is_ipv6(result)):
        return result.peername
    return peer


async def read_client_address(sock, peer):
    """Consume the PROXY header from the non-blocking ``sock``: the client's address.
    BadHeader if it is not one (or the connection ends first); the caller bounds the wait."""
    loop, received = asyncio.get_running_loop(), b""
    while True:
        await _readable(loop, sock)
        try:
            data = sock.recv(V2_MAX, socket.MSG_PEEK)
        except BlockingIOError:               # a spurious wake-up
            continue
        if not data:
            raise BadHeader("connection closed before the PROXY header")
        length = header_length(received + data)
        if length is None:                    # incomplete: every byte so far is the header's
            received += sock.recv(len(data))
            continue
        received += sock.recv(length - len(received))
        return client_address(received, peer)


async def _readable(loop, sock):
    ready = loop.create_future()
    loop.add_reader(sock.fileno(), lambda: ready.done() or ready.set_result(None))
    try:
        await ready
    finally:
        loop.remove_reader(sock.fileno())
