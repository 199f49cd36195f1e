"""Stores of topics: how producers describe them and consumers find them.

A store is described by a msgpack map (its name, connector kind and options,
and plain settings), identified by a short hash of that description. The
description never holds code: a store with a custom serializer is described
by name only, and the consumer must have that store itself.

Whoever can write to the broker can forge a description, so a consumer makes a
store from one only when it is safe to (see `StoreDirectory`): by default only
for stores authenticated by a secret this process holds, whose payloads a
forger cannot produce.
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
from proxystore.store.keyring import find_secret
from proxystore.stream.exceptions import MalformedEventError
from proxystore.stream.exceptions import UnknownStoreError

__all__ = ['StoreDirectory', 'describe', 'store_id']

# Connectors whose options name other connectors (by kind, maybe by import
# path): never made from a description.
_NESTING = frozenset({'multi'})
# Stores a consumer makes from descriptions, at most (a forger could name many).
MAX_STORES = 64

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
    if config.connector.kind in _NESTING:
        raise TypeError(
            f'Store "{store.name}" has a {config.connector.kind} connector, which '
            'streams do not support: give each topic a store of one connector.',
        )
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
    if kind not in connector_kinds() or kind in _NESTING:
        # Only installed connectors, by entry-point name, that name no other
        # connector: a description never makes a consumer import a module.
        raise MalformedEventError(
            f'Store "{name}" uses connector "{kind}", which a stream cannot use '
            f'here (usable: {", ".join(sorted(set(connector_kinds()) - _NESTING))}).',
        )
    # A copy made here never deletes shared data, whatever the sender says.
    options = {k: v for k, v in options.items() if k != 'clear'}
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
        trust_broker: Make stores from any valid description. By default a
            store is made only if its description names a secret this process
            holds (``PROXYSTORE_SECRET``, `proxystore.store.keyring`): payloads
            are then authenticated, and a forged description (pointing at a
            server of the forger's) yields nothing that is unpickled. Trust the
            broker only if whoever can write to it may run code here.
    """

    def __init__(
        self, stores: Iterable[Store[Any]] = (), *, trust_broker: bool = False
    ) -> None:
        self.trust_broker = trust_broker
        self._by_id: dict[str, Store[Any]] = {}
        self._made = 0
        for store in stores:
            self._by_id[store_id(describe(store))] = store

    def announce(self, identifier: str, descriptor: dict[str, Any]) -> None:
        """Learn the store of an id from its description (once per id).

        Raises:
            MalformedEventError: If the description is invalid or does not match
                the id, names a connector that cannot be used here, or too many
                stores were described.
            UnknownStoreError: If the store cannot be made here safely (no
                secret this process holds) or has a custom serializer and this
                process has no store of its name.
        """
        if identifier in self._by_id:
            return
        try:
            expected = store_id(descriptor)
        except (TypeError, ValueError) as e:
            raise MalformedEventError(f'A store description is invalid: {e}') from e
        if identifier != expected:
            raise MalformedEventError(
                f'A store description does not match its id {identifier} '
                f'(it hashes to {expected}).',
            )
        name = descriptor.get('name')
        if descriptor.get('custom'):
            store = get_store(name) if isinstance(name, str) else None
            if store is None:
                raise UnknownStoreError(
                    f'Store "{name}" has a custom serializer, which cannot travel '
                    'with events: register that store in the consumer process.',
                )
            self._by_id[identifier] = store
            return
        config = _config(descriptor)
        registered = get_store(config.name)
        if registered is not None and store_id(describe(registered)) == identifier:
            self._by_id[identifier] = registered  # this process has that store
            return
        if not self.trust_broker and (
            config.secret_id is None or find_secret(config.secret_id) is None
        ):
            raise UnknownStoreError(
                f'Store "{config.name}" was described by the broker, but this '
                'consumer makes stores from descriptions only when they name a '
                'secret it holds (payloads are then authenticated). Give the '
                'store to StreamConsumer(stores=[...]), register it, set '
                'PROXYSTORE_SECRET, or pass trust_broker=True if every writer to '
                'the broker is trusted.',
            )
        if self._made >= MAX_STORES:
            raise MalformedEventError(
                f'More than {MAX_STORES} stores were described to this consumer.',
            )
        try:
            store = get_or_create_store(config, register=True)
        except MalformedEventError:
            raise
        except Exception as e:  # a connector refusing the options
            raise MalformedEventError(
                f'Store "{config.name}" cannot be made from its description: {e}',
            ) from e
        self._made += 1
        self._by_id[identifier] = store

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
