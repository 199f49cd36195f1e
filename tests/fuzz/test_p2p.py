"""Fuzz targets of peer messages and relay messages (proxystore.p2p).

Contract: `messages.decode` returns a `PeerMessage` (which encodes back to
an equal message) or raises `PeerMessageError`; the relay's `decode` returns a
message or raises `RelayMessageError`.
"""

from __future__ import annotations

import types

import pytest
from hypothesis import strategies as st

from proxystore.p2p import messages as peer
from proxystore.p2p.relay import messages as relay
from proxystore.p2p.relay.exceptions import RelayMessageError

pytestmark = pytest.mark.fuzz


def test_peer_messages(fuzz: types.ModuleType) -> None:
    def check(data: bytes) -> None:
        for buffer in (data, bytearray(data), memoryview(data)):
            try:
                message = peer.decode(buffer)
            except peer.PeerMessageError:
                pass
            else:
                again = peer.decode(b''.join(bytes(b) for b in peer.encode(message)))
                assert again == message
            try:
                header, size = peer.decode_header(buffer)
            except peer.PeerMessageError:
                continue
            assert size >= 0
            assert header.payload == b''

    fuzz.run('peer_messages', check)


# Deeply nested JSON: what a random mutation never makes, but a forger would.
_NESTED = st.builds(
    lambda opening, depth, tail: (opening * depth + tail).encode(),
    st.sampled_from(['[', '{"a":', '{"type":"register","uuid":[']),
    st.integers(1, 200_000),
    st.sampled_from(['', ']', '1}', '"x"']),
)


def test_relay_messages(fuzz: types.ModuleType) -> None:
    def check(data: bytes) -> None:
        texts = (data, data.decode('utf-8', 'replace'), data.decode('latin-1'))
        for text in texts:
            try:
                message = relay.decode(text)
            except RelayMessageError:
                continue
            assert relay.decode(relay.encode(message)) == message

    fuzz.run('relay_messages', check, fuzz.inputs('relay_messages', _NESTED))
