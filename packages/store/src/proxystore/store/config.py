"""Store and connector configuration: what it takes to re-create a store elsewhere.

A `StoreConfig` travels inside every store proxy, so that the process resolving
the proxy can re-create the store. It pickles to a compact blob (the fields that
differ from their defaults), which keeps a pickled proxy small.

Connectors are named by ``kind``: the name of an entry point of the group
``proxystore.connectors`` (``'file'``, ``'redis'``, ...; ProxyStore 1.x's
``'FileConnector'`` works too), or the import path of a connector class; see
`proxystore.connectors.registry`, from which `connector_kinds` is re-exported.
"""

from __future__ import annotations

import inspect
import os
import pathlib
import pickle
import pickletools
from typing import Any

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import SecretBytes

from proxystore.connectors.registry import ENTRY_POINT_GROUP  # noqa: F401 - old path
from proxystore.connectors.registry import connector_kinds
from proxystore.connectors.registry import connector_type
from proxystore.store.types import DeserializerT
from proxystore.store.types import SerializerT

__all__ = ['ConnectorConfig', 'StoreConfig', 'connector_kinds']

# StoreConfig fields that go into the compact blob when not at their defaults.
_COMPACT_FIELDS = (
    'serializer',
    'deserializer',
    'cache_size',
    'metrics',
    'populate_target',
    'auto_register',
    'secret_id',
)


class ConnectorConfig(BaseModel):
    """Which connector to make, and its options (the output of its ``config()``).

    Attributes:
        kind: Entry-point name (``'file'``), ProxyStore 1.x name
            (``'FileConnector'``) or import path of the connector class.
        options: Keyword options for the connector's ``from_config``.
    """

    model_config = ConfigDict(extra='forbid')

    kind: str = Field(min_length=1)
    options: dict[str, Any] = Field(default_factory=dict)

    def get_connector_type(self) -> type[Any]:
        """The connector class named by `kind` (see `proxystore.connectors.registry`).

        Raises:
            UnknownConnectorError: (a `ValueError`) If no installed connector has
                that name, with the package to install when the name looks like a
                ProxyStore connector.
        """
        return connector_type(self.kind)

    def normalized(self) -> tuple[type[Any], dict[str, Any]]:
        """The connector class and the options that differ from its defaults.

        Two configs that make the same connector (``'local'`` and ProxyStore
        1.x's ``'proxystore.connectors.local.LocalConnector'``, an option left out
        or given its default value) normalize alike.

        Raises:
            ValueError: If no installed connector has the config's `kind`.
        """
        connector_type = self.get_connector_type()
        try:
            parameters = inspect.signature(connector_type).parameters
        except (TypeError, ValueError):  # pragma: no cover - no signature
            parameters = {}  # type: ignore[assignment]
        options = {
            name: value
            for name, value in self.options.items()
            if name not in parameters or parameters[name].default != value
        }
        return connector_type, options

    def get_connector(self) -> Any:
        """Make the connector (``type.from_config(options)``)."""
        return self.get_connector_type().from_config(dict(self.options))


class StoreConfig(BaseModel):
    """Everything needed to re-create a `proxystore.store.Store`.

    Attributes:
        name: Name of the store (the registry key).
        connector: The connector and its options.
        serializer: Custom serializer (must be importable by reference).
        deserializer: Custom deserializer (must be importable by reference).
        cache_size: Entries of the store's LRU cache.
        metrics: Record metrics of operations.
        populate_target: Default of ``populate_target`` for new proxies.
        auto_register: Register the store when it is created from this config.
        secret: Key that authenticates every payload (HMAC-SHA256). It stays in
            this process: pickled configs (and proxies) and TOML files carry only
            `secret_id`.
        secret_id: Fingerprint of the secret, by which another process finds it
            (see `proxystore.store.keyring`).
    """

    model_config = ConfigDict(extra='forbid', arbitrary_types_allowed=True)

    name: str = Field(min_length=1)
    connector: ConnectorConfig
    serializer: SerializerT | None = None
    deserializer: DeserializerT | None = None
    cache_size: int = Field(default=16, ge=0)
    metrics: bool = False
    populate_target: bool = True
    auto_register: bool = False
    secret: SecretBytes | None = None
    secret_id: str | None = None

    def compact(self) -> bytes:
        """The config as a small blob: the fields that differ from the defaults.

        The secret is left out (its id is kept). `StoreConfig.from_compact`
        reverses it.
        """
        extra = {
            name: getattr(self, name)
            for name in _COMPACT_FIELDS
            if getattr(self, name) != type(self).model_fields[name].default
        }
        fields = (self.name, self.connector.kind, self.connector.options, extra)
        # Protocol 4 without unused memo entries and without the frame header
        # (frames are a hint for large pickles; loads does not need them).
        blob = pickletools.optimize(pickle.dumps(fields, protocol=4))
        if blob[2:3] == pickle.FRAME:
            blob = blob[:2] + blob[11:]
        return blob

    @classmethod
    def from_compact(cls, blob: bytes) -> StoreConfig:
        """Rebuild a config from `compact`."""
        name, kind, options, extra = pickle.loads(blob)
        connector = ConnectorConfig(kind=kind, options=options)
        return cls(name=name, connector=connector, **extra)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_config_from_compact, (self.compact(),))

    def __setstate__(self, state: dict[Any, Any]) -> None:
        # ProxyStore 1.x pickled configs by pydantic's state, without the fields
        # added since (the secret): those take their defaults.
        fields = state.get('__dict__')
        if isinstance(fields, dict):
            for name, info in type(self).model_fields.items():
                if name not in fields and not info.is_required():
                    fields[name] = info.get_default(call_default_factory=True)
        super().__setstate__(state)

    @classmethod
    def from_toml(cls, filepath: str | os.PathLike[str]) -> StoreConfig:
        """Read a config from a TOML file.

        Raises:
            FileNotFoundError: If the file does not exist.
            ValueError: If the TOML is malformed or not a valid config.
        """
        # Not a cycle-breaker: the TOML modules cost about 4 ms of import time,
        # and only configs read from or written to files need them.
        import tomllib

        path = pathlib.Path(filepath)
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f'{path} is not valid TOML: {e}') from e
        return cls.model_validate(data)

    def write_toml(self, filepath: str | os.PathLike[str]) -> None:
        """Write the config to a TOML file (creating parent folders).

        Raises:
            ValueError: If a custom serializer or deserializer is set (TOML cannot
                hold a function); the secret is left out.
        """
        if self.serializer is not None or self.deserializer is not None:
            raise ValueError(
                'A config with a custom serializer or deserializer cannot be '
                'written to TOML.',
            )
        data = self.model_dump(
            exclude={'serializer', 'deserializer', 'secret'},
            exclude_none=True,  # TOML has no null
        )
        path = pathlib.Path(filepath)
        path.parent.mkdir(parents=True, exist_ok=True)
        import tomli_w  # see from_toml

        path.write_text(tomli_w.dumps(data))


def _config_from_compact(blob: bytes) -> StoreConfig:
    return StoreConfig.from_compact(blob)
