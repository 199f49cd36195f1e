"""Events, and their wire format.

A producer publishes an `EventBatch` per flush of a topic. On the wire a batch
is a msgpack map (version 1)::

    {'v': 1, 'topic': str, 'events': [event, ...]}

and each event is one of::

    {'type': 'store', 'id': str, 'store': {...}}   # the store behind a topic
    {'type': 'key', 'store': str, 'key': [...], 'evict': bool, 'meta': {...}}
    {'type': 'obj', 'obj': value, 'meta': {...}}    # an object without a store
    {'type': 'end'}                                 # end of the topic

Decoding checks every field; anything else raises `MalformedEventError`. The
format holds only msgpack values (no pickle), so a corrupt or forged message can
make a consumer fail cleanly but never run code. A store is described once, by a
`StoreEvent`, and key events refer to it by a short id.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import msgpack

from proxystore.stream.exceptions import MalformedEventError

__all__ = [
    'EndOfStreamEvent',
    'Event',
    'EventBatch',
    'NewObjectEvent',
    'NewObjectKeyEvent',
    'StoreEvent',
    'bytes_to_event',
    'event_to_bytes',
]

VERSION = 1
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
"""Default largest message a consumer decodes: events are metadata, not bulk data
(objects of topics without a store travel in them, so keep those small)."""
# Each decoded value costs far more memory than its byte on the wire: bound
# the number of values, not only the bytes.
_MAX_ITEMS = 100_000


@dataclasses.dataclass(frozen=True)
class EndOfStreamEvent:
    """The producer closed the topic: no more objects will come."""

    topic: str


@dataclasses.dataclass(frozen=True)
class NewObjectEvent:
    """An object sent in the event itself (the topic has no store).

    Only msgpack values travel this way: ``None``, booleans, numbers, strings,
    bytes, and lists and string-keyed dicts of them.
    """

    topic: str
    obj: Any
    metadata: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class NewObjectKeyEvent:
    """An object put in a store: its key, and the store's short id."""

    topic: str
    store_id: str
    raw_key: tuple[Any, ...]
    evict: bool
    metadata: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class StoreEvent:
    """The store of a topic: its id and a description to reach it."""

    topic: str
    store_id: str
    descriptor: dict[str, Any]


Event = EndOfStreamEvent | NewObjectEvent | NewObjectKeyEvent | StoreEvent


@dataclasses.dataclass(frozen=True)
class EventBatch:
    """The events of one flush of a topic, in order."""

    topic: str
    events: list[Event]


# --- encoding -------------------------------------------------------------------


def _encode_event(event: Event) -> dict[str, Any]:
    if isinstance(event, NewObjectKeyEvent):
        return {
            'type': 'key',
            'store': event.store_id,
            'key': list(event.raw_key),
            'evict': event.evict,
            'meta': event.metadata,
        }
    if isinstance(event, NewObjectEvent):
        return {'type': 'obj', 'obj': event.obj, 'meta': event.metadata}
    if isinstance(event, StoreEvent):
        return {'type': 'store', 'id': event.store_id, 'store': event.descriptor}
    if isinstance(event, EndOfStreamEvent):
        return {'type': 'end'}
    raise TypeError(f'Not an event: {type(event).__name__}.')


def event_to_bytes(batch: EventBatch) -> bytes:
    """Encode a batch for the broker.

    Raises:
        TypeError: If an object or metadata value is not a msgpack value (map a
            store to the topic to send other objects).
    """
    message = {
        'v': VERSION,
        'topic': batch.topic,
        'events': [_encode_event(e) for e in batch.events],
    }
    try:
        return msgpack.packb(message, use_bin_type=True)  # type: ignore[no-any-return]
    except (TypeError, ValueError, OverflowError) as e:
        raise TypeError(
            f'An event of topic "{batch.topic}" cannot be encoded ({e}): objects '
            'sent without a store, and metadata, must be msgpack values (None, '
            'bool, int, float, str, bytes, lists and str-keyed dicts of them). '
            'Map a store to the topic to stream any object.',
        ) from e


# --- decoding -------------------------------------------------------------------


def _field(data: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    try:
        value = data[name]
    except KeyError:
        raise MalformedEventError(f'Event field "{name}" is missing.') from None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MalformedEventError(
            f'Event field "{name}" must be {_names(kind)}, not {type(value).__name__}.',
        )
    return value


def _names(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return ' or '.join(k.__name__ for k in kinds)


def _key_event(topic: str, data: dict[str, Any]) -> Event:
    return NewObjectKeyEvent(
        topic=topic,
        store_id=_field(data, 'store', str),
        raw_key=tuple(_field(data, 'key', list)),
        evict=_field(data, 'evict', bool),
        metadata=_field(data, 'meta', dict),
    )


def _object_event(topic: str, data: dict[str, Any]) -> Event:
    if 'obj' not in data:
        raise MalformedEventError('Event field "obj" is missing.')
    return NewObjectEvent(topic, data['obj'], _field(data, 'meta', dict))


def _store_event(topic: str, data: dict[str, Any]) -> Event:
    return StoreEvent(topic, _field(data, 'id', str), _field(data, 'store', dict))


def _end_event(topic: str, data: dict[str, Any]) -> Event:
    return EndOfStreamEvent(topic)


_DECODERS: dict[str, Callable[[str, dict[str, Any]], Event]] = {
    'key': _key_event,
    'obj': _object_event,
    'store': _store_event,
    'end': _end_event,
}


def bytes_to_event(
    message: bytes | bytearray | memoryview,
    *,
    max_bytes: int = MAX_MESSAGE_BYTES,
) -> EventBatch:
    """Decode a batch from the broker.

    Args:
        message: The message.
        max_bytes: Largest message accepted.

    Raises:
        MalformedEventError: If the message is not a valid version-1 batch, or is
            larger than ``max_bytes`` or holds more than 100,000 values in one
            array or map.
    """
    if not isinstance(message, (bytes, bytearray, memoryview)):
        raise MalformedEventError(
            f'A message must be bytes, not {type(message).__name__}.',
        )
    if len(message) > max_bytes:
        raise MalformedEventError(
            f'A message of {len(message)} bytes is larger than an event batch may '
            f'be here ({max_bytes} bytes).',
        )
    try:
        data = msgpack.unpackb(
            message,
            raw=False,
            strict_map_key=True,
            max_array_len=_MAX_ITEMS,
            max_map_len=_MAX_ITEMS,
            max_str_len=max_bytes,
            max_bin_len=max_bytes,
            max_ext_len=0,
        )
    except Exception as e:  # msgpack raises several unrelated types
        raise MalformedEventError(f'A message is not msgpack: {e}') from e
    if not isinstance(data, dict):
        raise MalformedEventError(
            f'A message must be a map, not {type(data).__name__}.',
        )
    version = data.get('v')
    if version != VERSION:
        raise MalformedEventError(
            f'Event format version {version!r} is not supported (this is '
            f'version {VERSION}).',
        )
    topic = _field(data, 'topic', str)
    events = []
    for raw in _field(data, 'events', list):
        if not isinstance(raw, dict):
            raise MalformedEventError(
                f'An event must be a map, not {type(raw).__name__}.',
            )
        kind = raw.get('type')
        decoder = _DECODERS.get(kind) if isinstance(kind, str) else None
        if decoder is None:
            raise MalformedEventError(f'Unknown event type {kind!r}.')
        events.append(decoder(topic, raw))
    return EventBatch(topic, events)
