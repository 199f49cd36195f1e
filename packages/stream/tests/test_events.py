"""The event wire format: round trips, and every kind of malformed message."""

from __future__ import annotations

import pickle
from typing import Any

import msgpack
import pytest

from proxystore.stream.events import EndOfStreamEvent
from proxystore.stream.events import EventBatch
from proxystore.stream.events import NewObjectEvent
from proxystore.stream.events import NewObjectKeyEvent
from proxystore.stream.events import StoreEvent
from proxystore.stream.events import bytes_to_event
from proxystore.stream.events import event_to_bytes
from proxystore.stream.exceptions import MalformedEventError

BATCH = EventBatch(
    'topic',
    [
        StoreEvent('topic', 'ab12', {'name': 's', 'kind': 'file', 'options': {}}),
        NewObjectKeyEvent('topic', 'ab12', ('key-1',), True, {'i': 1}),
        NewObjectEvent('topic', {'a': [1, 2.5, b'raw', None]}, {}),
        EndOfStreamEvent('topic'),
    ],
)


def test_round_trip() -> None:
    assert bytes_to_event(event_to_bytes(BATCH)) == BATCH


def test_a_key_event_is_small() -> None:
    batch = EventBatch(
        't', [NewObjectKeyEvent('t', 'ab12cd34ef56ab12', ('k' * 12,), True, {})]
    )
    assert len(event_to_bytes(batch)) < 100


def test_objects_without_a_store_must_be_msgpack_values() -> None:
    with pytest.raises(TypeError, match='Map a store to the topic'):
        event_to_bytes(EventBatch('t', [NewObjectEvent('t', object(), {})]))
    with pytest.raises(TypeError, match='must be msgpack values'):
        event_to_bytes(EventBatch('t', [NewObjectEvent('t', 1, {'when': {1.5}})]))


def _packed(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True)  # type: ignore[no-any-return]


def _batch(*events: Any, **fields: Any) -> bytes:
    return _packed({'v': 1, 'topic': 't', 'events': list(events), **fields})


KEY = {'type': 'key', 'store': 'ab', 'key': ['k'], 'evict': True, 'meta': {}}

MALFORMED = [
    ('a string', 'text', 'must be bytes, not str'),
    ('not msgpack', b'\xc1\xc1\xc1', 'is not msgpack'),
    ('a pickle', pickle.dumps({'v': 1, 'topic': 't', 'events': []}), 'is not msgpack'),
    ('trailing bytes', _packed({'v': 1}) + b'\x00', 'is not msgpack'),
    ('a list', _packed([1, 2]), 'must be a map, not list'),
    ('no version', _packed({'topic': 't', 'events': []}), 'version None'),
    ('a future version', _batch(v=2), 'version 2 is not supported'),
    ('no topic', _packed({'v': 1, 'events': []}), '"topic" is missing'),
    ('a numeric topic', _batch(topic=3), '"topic" must be str, not int'),
    ('events not a list', _batch(events={}), '"events" must be list'),
    ('an event not a map', _batch('end'), 'An event must be a map, not str'),
    ('an unknown event', _batch({'type': 'exec'}), "Unknown event type 'exec'"),
    ('no type', _batch({}), 'Unknown event type None'),
    ('a key without a key', _batch({**KEY, 'key': None}), '"key" must be list'),
    ('evict as text', _batch({**KEY, 'evict': 'yes'}), '"evict" must be bool'),
    ('metadata as a list', _batch({**KEY, 'meta': []}), '"meta" must be dict'),
    ('a store id as int', _batch({**KEY, 'store': 7}), '"store" must be str'),
    (
        'an object event without object',
        _batch({'type': 'obj', 'meta': {}}),
        '"obj" is missing',
    ),
    (
        'a store event without store',
        _batch({'type': 'store', 'id': 'a'}),
        '"store" is missing',
    ),
    ('int map keys', _packed({1: 2}), 'is not msgpack'),
]


@pytest.mark.parametrize(
    ('message', 'error'),
    [(m, e) for _, m, e in MALFORMED],
    ids=[name for name, _, _ in MALFORMED],
)
def test_malformed_messages_are_refused(message: Any, error: str) -> None:
    with pytest.raises(MalformedEventError, match=error.replace('(', '\\(')):
        bytes_to_event(message)


def test_an_oversized_message_is_refused() -> None:
    with pytest.raises(MalformedEventError, match='larger than an event batch'):
        bytes_to_event(b'\x00' * (64 * 1024 * 1024 + 1))


def test_malformed_is_a_value_error() -> None:
    assert issubclass(MalformedEventError, ValueError)
