"""Errors raised by stores, their factories and registry."""

from __future__ import annotations

from typing import Any

__all__ = [
    'CommandLineError',
    'KeyBindingError',
    'MissingSecretError',
    'NonProxiableTypeError',
    'ProxyResolveMissingKeyError',
    'ProxyStoreFactoryError',
    'SecretRequiredError',
    'StoreClosedError',
    'StoreError',
    'StoreExistsError',
    'UnauthenticatedChannelWarning',
]


class StoreError(Exception):
    """Base class of the errors raised by a store."""


class StoreExistsError(StoreError):
    """A store with this name is already registered."""


class StoreClosedError(StoreError):
    """The store was closed; it cannot be used any more."""


class MissingSecretError(StoreError):
    """This process does not have the secret of an authenticated store."""


class SecretRequiredError(StoreError, ValueError):
    """Strict mode (``PROXYSTORE_REQUIRE_SECRET=1``) refused a store without a secret.

    Also a `ValueError`: the store was given the wrong arguments for this
    process's policy.
    """


class CommandLineError(StoreError, ValueError):
    """A ``proxystore store`` command that cannot run as asked.

    Neither or both of a config file and a connector kind, a malformed option,
    a connector that cannot list its objects. The command prints it on one line
    and exits with status 2.
    """


class UnauthenticatedChannelWarning(UserWarning):
    """A store without a secret read from a network channel.

    Its payloads are deserialized (unpickled) as they come, so whoever can write
    to the channel (the Redis server, a UCX peer, an endpoint's peers) can run
    code in the reading process. Given once per store.
    """


class KeyBindingError(StoreError, TypeError):
    """A store with a secret was given a connector that cannot name keys first.

    An authenticated payload is bound to the key it is written under (see
    `proxystore.serialize.codec`), so the store picks the key before writing,
    which needs a `proxystore.connectors.protocols.DeferrableConnector` (``new_key``
    and ``set``). Also a `TypeError`: the connector is of the wrong kind.
    """


class ProxyStoreFactoryError(StoreError):
    """The proxy's factory is not a store factory (or not of the expected kind)."""


class NonProxiableTypeError(Exception):
    """The object cannot be proxied.

    ``None`` and ``bool`` are refused: a proxy cannot stand in for a singleton that
    code compares by identity.
    """


class ProxyResolveMissingKeyError(Exception):
    """A proxy's object is not in its store.

    Args:
        key: Key of the missing object.
        store_type: Type of the store.
        store_name: Name of the store.
    """

    def __init__(self, key: Any, store_type: type[Any], store_name: str) -> None:
        self.key = key
        self.store_type = store_type
        self.store_name = store_name
        super().__init__(
            f"Cannot resolve target object with key='{key}' from "
            f"{store_type.__name__}(name='{store_name}'): there is no object "
            'associated with the key (it was never stored, or it was evicted).',
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.key, self.store_type, self.store_name))
