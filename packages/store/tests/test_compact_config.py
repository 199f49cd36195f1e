"""Compact configs are read without calling anything the blob names (fuzz finding)."""

from __future__ import annotations

import pickle
import pickletools
import struct

import pytest

from proxystore.store.config import ConnectorConfig
from proxystore.store.config import StoreConfig

CALLS: list[object] = []


def record(*args: object) -> str:
    CALLS.append(args)
    return 'called'


def custom_serializer(obj: object) -> bytes:
    return pickle.dumps(obj)


class _Calls:
    """Pickles as a call of `record`: what a forged blob would do."""

    def __reduce__(self) -> tuple[object, ...]:
        return (record, ('planted',))


def _blob(fields: object) -> bytes:
    return pickletools.optimize(pickle.dumps(fields, protocol=4))


def test_blob_that_calls_a_global_is_refused_and_nothing_runs() -> None:
    CALLS.clear()
    blob = _blob(('s', 'local', {'x': _Calls()}, {}))
    with pytest.raises(ValueError, match='calls nothing'):
        StoreConfig.from_compact(blob)
    assert CALLS == []


def test_blob_whose_fields_are_a_call_is_refused() -> None:
    CALLS.clear()
    with pytest.raises(ValueError, match='not a compact store config'):
        StoreConfig.from_compact(_blob(_Calls()))
    assert CALLS == []


def test_global_outside_the_serializers_is_refused() -> None:
    blob = _blob(('s', 'local', {'f': record}, {}))
    with pytest.raises(ValueError, match='names a global'):
        StoreConfig.from_compact(blob)


@pytest.mark.parametrize(
    'blob',
    [b'', b'\x80\x04', b'garbage', _blob([1, 2]), _blob(('s', 'local', {}, {'x': 1}))],
)
def test_malformed_blobs_raise_value_error(blob: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the documented type
        StoreConfig.from_compact(blob)


def test_custom_serializer_and_plain_options_round_trip() -> None:
    config = StoreConfig(
        name='s',
        connector=ConnectorConfig(
            kind='local',
            options={'a': [1, 2.5, None], 'b': (b'x', bytearray(b'y')), 'c': {3}},
        ),
        serializer=custom_serializer,
        cache_size=3,
    )
    again = StoreConfig.from_compact(config.compact())
    assert again == config
    assert again.serializer is custom_serializer


@pytest.mark.parametrize(
    ('opcode', 'index'),
    [(b'r', struct.pack('<I', 2**31)), (b'q', b'\xff'), (b'p', b'99999999\n')],
)
def test_blob_that_memoizes_at_an_index_it_chooses_is_refused(
    opcode: bytes, index: bytes
) -> None:
    # Fuzz finding: a 40-byte blob with LONG_BINPUT 176957565 made the C
    # unpickler grow its memo to that index (2 s and gigabytes per blob).
    blob = b'\x80\x04\x8c\x01s' + opcode + index + b'.'
    name = {b'r': 'LONG_BINPUT', b'q': 'BINPUT', b'p': 'PUT'}[opcode]
    with pytest.raises(ValueError, match=f'has no {name} opcode .at byte 5.'):
        StoreConfig.from_compact(blob)


def test_blob_that_is_not_a_pickle_names_the_error() -> None:
    with pytest.raises(ValueError, match='not a compact store config: '):
        StoreConfig.from_compact(b'\x80\x04\xff')
