"""Payload format, zero-copy frames, custom serializers and every bad input."""

from __future__ import annotations

import pickle
import struct
from typing import Any

import numpy
import pandas
import pytest

from proxystore.serialize import AuthenticationError
from proxystore.serialize import CorruptPayloadError
from proxystore.serialize import SerializationError
from proxystore.serialize import Serializer
from proxystore.serialize import UnknownSerializerError
from proxystore.serialize import deserialize
from proxystore.serialize import is_bytes_like
from proxystore.serialize import register_serializer
from proxystore.serialize import serialize
from proxystore.serialize import serialize_payload
from proxystore.serialize import serializers
from proxystore.serialize import unregister_serializer

KEY = b'a-test-secret-of-32-bytes-000000'


class Point:
    def __init__(self, x: int) -> None:
        self.x = x

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and other.x == self.x


@pytest.mark.parametrize(
    'obj',
    [
        b'bytes',
        bytearray(b'bytearray'),
        'text with unicode \u00e9 and a lone surrogate \udc80',
        [1, 'two', 3.0, None, {'four': (5,)}],
        {'nested': {'list': [1, 2]}},
        Point(3),
        b'',
        '',
    ],
    ids=lambda obj: type(obj).__name__,
)
def test_round_trip(obj: Any) -> None:
    data = serialize(obj)
    assert isinstance(data, bytes)
    copy = deserialize(data)
    assert type(copy) is type(obj)
    assert copy == obj


def test_memoryview_round_trip() -> None:
    copy = deserialize(serialize(memoryview(b'abc')))
    assert isinstance(copy, memoryview)
    assert copy.tobytes() == b'abc'


def test_lambda_falls_back_to_cloudpickle() -> None:
    data = serialize(lambda x: x + 1)
    assert data[4:6] == b'CP'
    assert deserialize(data)(1) == 2


def test_numpy_buffers_travel_out_of_band() -> None:
    array = numpy.arange(1000, dtype=numpy.float64).reshape(10, 100)
    payload = serialize_payload(array)
    # header, pickle stream, padding, the array's own memory
    assert any(
        isinstance(b, memoryview) and b.obj is not None and len(b) == array.nbytes
        for b in payload.buffers
    )
    copy = deserialize(bytearray(payload.join()))
    numpy.testing.assert_array_equal(copy, array)
    assert copy.flags.writeable


def test_writable_frames_are_used_in_place() -> None:
    array = numpy.arange(100, dtype=numpy.int64)
    data = bytearray(serialize(array))
    copy = deserialize(data)
    copy[0] = 99  # a view of `data`, written through
    assert deserialize(data)[0] == 99


def test_read_only_frames_are_copied_once_and_writable() -> None:
    array = numpy.ones(100)
    copy = deserialize(serialize(array))
    copy[0] = 5
    assert copy.flags.writeable


def test_frames_of_later_buffers_are_aligned() -> None:
    array = numpy.arange(10, dtype=numpy.float64)
    payload = serialize_payload(array)
    offset, starts = 0, []
    for buffer in payload.buffers:
        starts.append(offset)
        offset += len(buffer)
    assert starts[-1] % 64 == 0
    assert payload.nbytes == offset


def test_pandas_frame_round_trip() -> None:
    frame = pandas.DataFrame({'a': numpy.arange(1000), 'b': ['x'] * 1000})
    copy = deserialize(serialize(frame))
    pandas.testing.assert_frame_equal(copy, frame)


def test_non_contiguous_array() -> None:
    array = numpy.arange(100).reshape(10, 10)[:, ::2]
    numpy.testing.assert_array_equal(deserialize(serialize(array)), array)


def test_is_bytes_like() -> None:
    assert is_bytes_like(b'')
    assert is_bytes_like(bytearray())
    assert is_bytes_like(memoryview(b''))
    assert not is_bytes_like('str')


# --- bad inputs ---------------------------------------------------------------


def test_unserializable_object() -> None:
    import threading

    with pytest.raises(
        SerializationError, match="Object of type <class '_thread.lock'>"
    ):
        serialize(threading.Lock())


def test_deserialize_requires_bytes_like() -> None:
    with pytest.raises(ValueError, match='Expected a bytes-like object.*got str'):
        deserialize('not bytes')  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ('data', 'message'),
    [
        (b'', 'Payload is truncated: 0 bytes is shorter than the 8-byte header'),
        (
            b'XX\x01\x00PK\x01\x00' + bytes(8),
            "Not a ProxyStore payload: it starts with b'XX'",
        ),
        (b'PS\x09\x00PK\x01\x00' + bytes(8), 'Unsupported payload format version 9'),
        (b'PS\x01\x00PK\x02\x00' + bytes(8), 'shorter than its 24-byte header'),
    ],
    ids=['empty', 'bad-magic', 'bad-version', 'short-header'],
)
def test_corrupt_payloads(data: bytes, message: str) -> None:
    with pytest.raises(CorruptPayloadError, match=message):
        deserialize(data)


def test_truncated_payload() -> None:
    data = serialize(numpy.arange(1000))
    with pytest.raises(CorruptPayloadError, match='Payload is truncated: frame 1 ends'):
        deserialize(data[:-10])


def test_trailing_garbage() -> None:
    with pytest.raises(CorruptPayloadError, match='3 unexpected trailing bytes'):
        deserialize(serialize([1]) + b'xyz')


def test_legacy_1x_payload_is_refused_clearly() -> None:
    legacy = b'PK\n' + pickle.dumps([1, 2])
    with pytest.raises(CorruptPayloadError, match='Not a ProxyStore payload'):
        deserialize(legacy)


def test_unknown_serializer_id() -> None:
    data = bytearray(serialize([1]))
    data[4:6] = b'ZZ'
    with pytest.raises(
        UnknownSerializerError, match="Unknown serializer identifier b'ZZ'"
    ):
        deserialize(data)


def test_corrupted_pickle_stream() -> None:
    data = bytearray(serialize({'a': [1, 2, 3]}))
    (length,) = struct.unpack_from('<Q', data, 8)
    data[16 : 16 + length] = b'\x00' * length
    with pytest.raises(
        SerializationError,
        match='Failed to deserialize object using the pickle serializer',
    ) as exc_info:
        deserialize(data)
    assert exc_info.value.__cause__ is not None


# --- authentication -----------------------------------------------------------


def test_authenticated_round_trip() -> None:
    data = serialize({'a': 1}, secret=KEY)
    assert deserialize(data, secret=KEY) == {'a': 1}


def test_wrong_secret() -> None:
    data = serialize([1], secret=b'right' * 8)
    with pytest.raises(AuthenticationError, match='secret differs'):
        deserialize(data, secret=b'wrong' * 8)


def test_tampered_payload_is_refused_before_unpickling(tmp_path: Any) -> None:
    marker = tmp_path / 'pwned'

    class Exploit:
        def __reduce__(self) -> Any:
            return (open, (str(marker), 'w'))

    honest = serialize([1, 2, 3], secret=KEY)
    evil_frames = serialize(Exploit(), secret=b'other' * 8)
    # Splice the evil payload's body after the honest header and tag.
    with pytest.raises((AuthenticationError, CorruptPayloadError)):
        deserialize(honest[:48] + evil_frames[48:], secret=KEY)
    tampered = bytearray(honest)
    tampered[-1] ^= 0xFF
    with pytest.raises(AuthenticationError, match='was modified'):
        deserialize(tampered, secret=KEY)
    with pytest.raises(AuthenticationError):
        deserialize(evil_frames, secret=KEY)
    assert not marker.exists()


def test_authenticated_payload_needs_a_secret() -> None:
    with pytest.raises(AuthenticationError, match='no secret was given'):
        deserialize(serialize([1], secret=KEY))


def test_unauthenticated_payload_is_refused_with_a_secret() -> None:
    with pytest.raises(AuthenticationError, match='not authenticated'):
        deserialize(serialize([1]), secret=KEY)


# --- custom serializers -------------------------------------------------------


class UpperSerializer:
    identifier = b'UP'
    name = 'upper'

    def supported(self, obj: Any) -> bool:
        return isinstance(obj, str) and obj.startswith('up:')

    def serialize(self, obj: Any) -> list[bytes]:
        return [obj.upper().encode()]

    def deserialize(self, frames: list[memoryview]) -> Any:
        return bytes(frames[0]).decode().lower()


def test_register_a_serializer() -> None:
    serializer = UpperSerializer()
    register_serializer(serializer)
    try:
        assert serializers()[0] is serializer
        data = serialize('up:hello')
        assert data[4:6] == b'UP'
        assert b'UP:HELLO' in data
        assert deserialize(data) == 'up:hello'
        assert deserialize(serialize('plain')) == 'plain'
        with pytest.raises(ValueError, match="identifier b'UP' is taken"):
            register_serializer(UpperSerializer())
    finally:
        unregister_serializer(b'UP')
    with pytest.raises(UnknownSerializerError):
        deserialize(data)


def test_register_rejects_bad_serializers() -> None:
    with pytest.raises(TypeError, match='does not implement the Serializer protocol'):
        register_serializer(object())  # type: ignore[arg-type]
    bad = UpperSerializer()
    bad.identifier = b'TOO'
    with pytest.raises(ValueError, match='2 ASCII bytes'):
        register_serializer(bad)
    assert isinstance(UpperSerializer(), Serializer)
