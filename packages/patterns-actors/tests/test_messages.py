"""The message format: round trips, and a typed error for every bad input."""

from __future__ import annotations

import pytest

from proxystore.actors import MessageError
from proxystore.actors import messages


def test_round_trip_with_and_without_secret() -> None:
    frames = messages.dump_frames({'a': b'x' * 1000})
    for secret in (None, b'k' * 32):
        data = messages.encode({'kind': 'call', 'action': 'f'}, frames, secret)
        message = messages.decode(data, secret)
        assert message.kind == 'call'
        assert messages.load_frames(message.frames) == {'a': b'x' * 1000}


@pytest.mark.parametrize(
    ('data', 'match'),
    [
        (b'', 'no PSAM prefix'),
        (b'XXXX\x01\x00', 'no PSAM prefix'),
        (b'PSAM\x02\x00', 'version 2, not 1'),
        (b'PSAM\x01\x05abcde', 'a tag of 5 bytes'),
        (b'PSAM\x01\x00\xc1', 'malformed'),
        (b'PSAM\x01\x00\x92\x01\x02', 'not \\[header, frames\\]'),
    ],
)
def test_bad_bytes(data: bytes, match: str) -> None:
    with pytest.raises(MessageError, match=match):
        messages.decode(data)


def test_unknown_kind() -> None:
    data = messages.encode({'kind': 'launch'})
    with pytest.raises(MessageError, match="unknown kind 'launch'"):
        messages.decode(data)


def test_secret_checks() -> None:
    plain = messages.encode({'kind': 'ping'})
    with pytest.raises(MessageError, match='unauthenticated'):
        messages.decode(plain, b'secret')
    other = messages.encode({'kind': 'ping'}, secret=b'other')
    with pytest.raises(MessageError, match='wrong tag'):
        messages.decode(other, b'secret')
    tampered = bytearray(messages.encode({'kind': 'ping'}, secret=b'secret'))
    tampered[-1] ^= 1
    with pytest.raises(MessageError, match='wrong tag'):
        messages.decode(bytes(tampered), b'secret')


def test_size_bound_before_parsing() -> None:
    data = messages.encode({'kind': 'call'}, [b'x' * 2000])
    with pytest.raises(MessageError, match='more than the 1000 taken'):
        messages.decode(data, max_bytes=1000)


def test_message_error_is_a_value_error() -> None:
    assert issubclass(MessageError, ValueError)
    with pytest.raises(MessageError, match='no frames'):
        messages.load_frames([])
