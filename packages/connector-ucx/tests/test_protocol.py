"""The wire format's readers: typed errors for truncated or corrupt messages."""

from __future__ import annotations

import pytest

from proxystore.connectors.ucx import UCXConnectorError
from proxystore.connectors.ucx import UCXProtocolError
from proxystore.connectors.ucx import _protocol as wire
from proxystore.connectors.ucx._client import Client


def _reply(status: int, count: int, rest: bytes) -> memoryview:
    return memoryview(wire.HEADER.pack(status, wire.VERSION, 0, count) + rest)


def test_refusal_whose_text_is_not_utf8_is_a_connector_error() -> None:
    # Fuzz finding: the client decoded the server's text strictly and raised
    # UnicodeDecodeError (the server cuts its text to fit, maybe mid-character).
    reply = _reply(wire.Status.BAD_REQUEST, 0, 'too large \u00e9'.encode()[:-1] + b'\0')
    with pytest.raises(UCXConnectorError, match='refused a get: too large \ufffd'):
        Client._check_reply(reply, 'a get')


def test_short_get_reply_is_a_protocol_error() -> None:
    # Fuzz finding: struct.error escaped iter_sizes.
    reply = _reply(wire.Status.OK, 2, wire.SIZE.pack(3) + b'\0\0')
    with pytest.raises(UCXProtocolError, match='too short for 2 sizes'):
        list(wire.iter_sizes(reply, 2))


def test_size_below_missing_is_a_protocol_error() -> None:
    reply = _reply(wire.Status.OK, 2, wire.SIZE.pack(3) + wire.SIZE.pack(-2))
    with pytest.raises(UCXProtocolError, match='entry 1 a size of -2'):
        list(wire.iter_sizes(reply, 2))


def test_protocol_error_is_the_servers_bad_request_type() -> None:
    assert wire.ProtocolError is UCXProtocolError
    assert issubclass(UCXProtocolError, UCXConnectorError)
    with pytest.raises(UCXProtocolError, match='truncated put request'):
        wire.decode_put(memoryview(wire.HEADER.pack(wire.Op.PUT, 1, 0, 1)), 1)


def test_listings_round_trip_and_bad_ones_are_refused() -> None:
    entries = [(b'a' * 16, 5, False), (b'b' * 16, 1 << 40, True)]
    encoded = wire.encode_listing(entries)
    assert wire.decode_listing(memoryview(encoded), 2) == entries
    with pytest.raises(UCXProtocolError, match='a listing of 3 objects has 50 bytes'):
        wire.decode_listing(memoryview(encoded), 3)
    # Fuzz finding: any nonzero flag read as spilled, so bytes did not round trip.
    bad = bytearray(encoded)
    bad[24] = 7
    with pytest.raises(UCXProtocolError, match='spilled flag 7'):
        wire.decode_listing(memoryview(bytes(bad)), 2)
