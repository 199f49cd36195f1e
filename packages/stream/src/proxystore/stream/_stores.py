"""Stores of topics: how producers describe them and consumers find them.

A store is described by a msgpack map (its name, connector kind and options,
and plain settings), identified by a short hash of that description. The
description never holds code: a store with a custom serializer is described
by name only, and the consumer must have that store itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import msgpack

from proxystore.store import Store
from proxystore.store import get_or_create_store
from proxystore.store import get_store
from proxystore.store.config import ConnectorConfig
from proxystore.store.config import StoreConfig
from proxystore.store.config import connector_kinds
from proxystore.stream.exceptions import MalformedEventError
from proxystore.stream.exceptions import UnknownStoreError

__all__ = ['StoreDirectory', 'describe', 'store_id']

_SETTINGS: dict[str, type] = {
    'cache_size': int,
    'metrics': bool,
    'populate_target': bool,
    'secret_id': str,
}


def describe(store: Store[Any]) -> dict[str, Any]:
    """A code-free description of ``store`` for consumers.

    Raises:
        TypeError: If the connector's options are not msgpack values.
    """
    config = store.config()
    descriptor: dict[str, Any] = {'name': config.name}
    if config.serializer is not None or config.deserializer is not None:
        descriptor['custom'] = True  # code cannot travel: consumers need the store
    else:
        descriptor['kind'] = config.connector.kind
        descriptor['options'] = config.connector.options
        for name in _SETTINGS:
            value = getattr(config, name)
            if value != StoreConfig.model_fields[name].default:
                descriptor[name] = value
    try:
        msgpack.packb(descriptor, use_bin_type=True)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f'Store "{store.name}" cannot be described to consumers: its '
            f'connector options are not plain values ({e}).',
        ) from e
    return descriptor


def store_id(descriptor: dict[str, Any]) -> str:
    """A short id of a description (equal descriptions, equal ids)."""
    packed = msgpack.packb(descriptor, use_bin_type=True)
    return hashlib.blake2b(packed, digest_size=8).hexdigest()


def _config(descriptor: dict[str, Any]) -> StoreConfig:
    name = descriptor.get('name')
    kind = descriptor.get('kind')
    options = descriptor.get('options')
    if not isinstance(name, str) or not name:
        raise MalformedEventError('A store description has no valid "name".')
    if not isinstance(kind, str) or not isinstance(options, dict):
        raise MalformedEventError(
            f'The description of store "{name}" needs "kind" and "options".',
        )
    if kind not in connector_kinds():
        # Only installed connectors, by entry-point name: a description never
        # makes a consumer import a module of the sender's choosing.
        raise MalformedEventError(
            f'Store "{name}" uses connector "{kind}", which is not installed here '
            f'(installed: {", ".join(sorted(connector_kinds())) or "none"}).',
        )
    settings: dict[str, Any] = {}
    for field, kind_of in _SETTINGS.items():
        if field in descriptor:
            value = descriptor[field]
            if not isinstance(value, kind_of):
                raise MalformedEventError(
                    f'Setting "{field}" of store "{name}" must be '
                    f'{kind_of.__name__}, not {type(value).__name__}.',
                )
            settings[field] = value
    try:
        return StoreConfig(
            name=name,
            connector=ConnectorConfig(kind=kind, options=options),
            **settings,
        )
    except ValueError as e:
        raise MalformedEventError(f'Store "{name}" is described wrongly: {e}') from e


class StoreDirectory:
    """The stores a consumer knows, by id.

    Args:
        stores: Stores the consumer already has (matched by their descriptions).
    """

    def __init__(self, stores: Iterable[Store[Any]] = ()) -> None:
        self._by_id: dict[str, Store[Any]] = {}
        for store in stores:
            self._by_id[store_id(describe(store))] = store

    def announce(self, identifier: str, descriptor: dict[str, Any]) -> None:
        """Learn the store of an id from its description (once per id).

        Raises:
            MalformedEventError: If the description is invalid, or names a
                connector that is not installed.
            UnknownStoreError: If the store has a custom serializer and this
                process has no store of its name.
        """
        if identifier in self._by_id:
            return
        if descriptor.get('custom'):
            name = descriptor.get('name')
            store = get_store(name) if isinstance(name, str) else None
            if store is None:
                raise UnknownStoreError(
                    f'Store "{name}" has a custom serializer, which cannot travel '
                    'with events: register that store in the consumer process.',
                )
            self._by_id[identifier] = store
            return
        self._by_id[identifier] = get_or_create_store(
            _config(descriptor), register=True
        )

    def get(self, identifier: str) -> Store[Any]:
        """The store of an id.

        Raises:
            UnknownStoreError: If it was never announced nor given.
        """
        try:
            return self._by_id[identifier]
        except KeyError:
            raise UnknownStoreError(
                f'An event names store {identifier}, which this consumer has not '
                'seen announced (it joined after the announcement?); give the '
                'store to StreamConsumer(stores=[...]).',
            ) from None

    def stores(self) -> list[Store[Any]]:
        """Every store known, once each."""
        return list({id(s): s for s in self._by_id.values()}.values())
