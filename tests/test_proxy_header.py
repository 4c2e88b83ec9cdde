"""The PROXY protocol header: framing (never a byte past it), parsing, the setting's rule.
Through nginx and a live server: tests/test_production_nginx.py."""
import asyncio
import socket
from ipaddress import IPv4Address, IPv6Address

import pytest
from proxyprotocol.result import ProxyResultIPv4, ProxyResultIPv6, ProxyResultLocal
from proxyprotocol.v2 import ProxyProtocolV2

from rucio_tornado.config import Settings, validate
from rucio_tornado.proxy_header import BadHeader, client_address, header_length, \
    read_client_address

PEER = ("127.0.0.1", 40000)
V1 = b"PROXY TCP4 203.0.113.9 127.0.0.1 4444 443\r\n"
V2 = ProxyProtocolV2().pack(ProxyResultIPv6((IPv6Address("2001:db8::7"), 5555),
                                            (IPv6Address("::1"), 443)))
HELLO = b"\x16\x03\x01\x02\x00"         # the start of a TLS ClientHello


@pytest.mark.parametrize("data, length", [
    (V1 + HELLO, len(V1)),
    (V2 + HELLO, len(V2)),
    (V1[:20], None), (V2[:10], None), (V2[:15], None), (b"PRO", None), (b"", None),
])
def test_the_header_is_framed_exactly(data, length):
    assert header_length(data) == length


@pytest.mark.parametrize("data", [
    HELLO, b"GET / HTTP/1.1\r\n", b"PROXY " + b"1" * 120,
    V2[:14] + b"\xff\xff",                                  # declares 64 KiB of addresses
])
def test_anything_else_is_refused(data):
    with pytest.raises(BadHeader):
        header_length(data)


@pytest.mark.parametrize("header, address", [
    (V1, ("203.0.113.9", 4444)),
    (b"PROXY TCP6 2001:db8::1 ::1 5555 443\r\n", ("2001:db8::1", 5555)),
    (V2, ("2001:db8::7", 5555)),
    (ProxyProtocolV2().pack(ProxyResultIPv4((IPv4Address("198.51.100.3"), 1),
                                            (IPv4Address("127.0.0.1"), 2))), ("198.51.100.3", 1)),
    (b"PROXY UNKNOWN\r\n", PEER),                           # the proxy speaking for itself
    (ProxyProtocolV2().pack(ProxyResultLocal()), PEER),
])
def test_the_client_address(header, address):
    assert tuple(client_address(header, PEER))[:2] == address   # IPv6: a 4-tuple, as sockets


@pytest.mark.parametrize("header", [
    b"PROXY TCP4 203.0.113.999 127.0.0.1 1 2\r\n", b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
    b"PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n", b"PROXY SCTP 1.2.3.4 5.6.7.8 1 2\r\n",
])
def test_malformed_headers(header):
    with pytest.raises(BadHeader):
        client_address(header, PEER)


@pytest.mark.parametrize("chunks", [[V1 + HELLO], [V1[:9], V1[9:] + HELLO], [V2[:3], V2[3:], HELLO]])
def test_reading_leaves_the_next_bytes_on_the_socket(chunks):
    async def scenario():
        ours, theirs = socket.socketpair()
        ours.setblocking(False)
        with ours, theirs:
            async def send():
                for chunk in chunks:
                    theirs.sendall(chunk)
                    await asyncio.sleep(0.03)
            sender = asyncio.create_task(send())
            address = await asyncio.wait_for(read_client_address(ours, PEER), 5)
            await sender
            return address, ours.recv(100)
    address, rest = asyncio.run(scenario())
    assert address[0] in ("203.0.113.9", "2001:db8::7") and rest == HELLO


def test_a_connection_that_ends_first():
    async def scenario():
        ours, theirs = socket.socketpair()
        ours.setblocking(False)
        with ours:
            theirs.sendall(V1[:10])
            theirs.close()
            await read_client_address(ours, PEER)
    with pytest.raises(BadHeader):
        asyncio.run(scenario())


def test_proxy_protocol_needs_trusted_proxies():
    assert any("proxy_protocol needs trusted_proxies" in problem
               for problem in validate(Settings(proxy_protocol=True)))
    assert validate(Settings(proxy_protocol=True, trusted_proxies="127.0.0.1")) == []
