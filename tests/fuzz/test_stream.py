"""Fuzz targets of stream event batches and store descriptions.

Contract: `bytes_to_event` returns an `EventBatch` or raises
`MalformedEventError`; a decoded batch encodes back to an equal batch. A store
description is announced to a `StoreDirectory` (as a consumer does with the
store events of a batch): it is learnt, or refused with `MalformedEventError`
or `UnknownStoreError`.
"""

from __future__ import annotations

import types

import msgpack
import pytest

from proxystore.stream._stores import StoreDirectory
from proxystore.stream._stores import store_id
from proxystore.stream.events import EventBatch
from proxystore.stream.events import StoreEvent
from proxystore.stream.events import bytes_to_event
from proxystore.stream.events import event_to_bytes
from proxystore.stream.exceptions import MalformedEventError
from proxystore.stream.exceptions import UnknownStoreError

pytestmark = pytest.mark.fuzz


def test_stream_events(fuzz: types.ModuleType) -> None:
    def check(data: bytes) -> None:
        try:
            batch = bytes_to_event(data)
        except MalformedEventError:
            return
        assert isinstance(batch, EventBatch)
        assert bytes_to_event(event_to_bytes(batch)) == batch

    fuzz.run('stream_events', check)


def _batch_around(description: bytes, identifier: str) -> bytes:
    # A valid batch whose one store event's description is the fuzzed bytes,
    # spliced in as they are (msgpack values concatenate).
    head = msgpack.packb({'v': 1, 'topic': 't'})[1:]  # the two pairs, no map header
    event = msgpack.packb({'type': 'store', 'id': identifier})[1:]
    return (
        b'\x83'
        + head
        + msgpack.packb('events')
        + b'\x91\x83'
        + event
        + msgpack.packb('store')
        + description
    )


def test_store_description(fuzz: types.ModuleType) -> None:
    def check(description: bytes) -> None:
        try:
            batch = bytes_to_event(_batch_around(description, 'id'))
        except MalformedEventError:
            return
        (event,) = batch.events
        assert isinstance(event, StoreEvent)
        try:
            identifier = store_id(event.descriptor)
        except (TypeError, ValueError):
            identifier = 'unhashable'
        for trust in (False, True):
            directory = StoreDirectory(trust_broker=trust)
            if trust and event.descriptor.get('kind') != 'local':
                continue  # only stores that touch nothing outside the process
            try:
                directory.announce(identifier, event.descriptor)
            except (MalformedEventError, UnknownStoreError):
                continue
            for store in directory.stores():
                store.close()

    fuzz.run('store_description', check)
