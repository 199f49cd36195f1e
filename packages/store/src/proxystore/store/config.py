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

import importlib
import inspect
import io
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


# The only callables a compact blob may call while it is read: builtin types
# whose construction runs no code of the blob's choosing (a bytearray in the
# options of a local connector that keeps its data in the config).
_CALLABLE_GLOBALS = {
    ('builtins', 'bytearray'): bytearray,
    ('builtins', 'complex'): complex,
    ('builtins', 'frozenset'): frozenset,
    ('builtins', 'set'): set,
}


class _Reference:
    """A global named by a compact blob: resolved after reading, never called."""

    __slots__ = ('module', 'name')

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise pickle.UnpicklingError(
            f'a compact config calls nothing, but this blob calls '
            f'{self.module}.{self.name}'
        )

    def resolve(self) -> Any:
        """The object named (a custom serializer or deserializer)."""
        target: Any = importlib.import_module(self.module)
        for part in self.name.split('.'):
            target = getattr(target, part)
        return target


class _CompactUnpickler(pickle.Unpickler):
    """Reads a compact blob: plain values, builtin types and named functions.

    A global the blob names becomes a `_Reference` that raises if the blob
    calls it; only `_CALLABLE_GLOBALS` are the objects themselves.
    """

    def find_class(self, module: str, name: str) -> Any:
        known = _CALLABLE_GLOBALS.get((module, name))
        return known if known is not None else _Reference(module, name)

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError('a compact config has no persistent ids')


# Opcodes that store into the unpickler's memo at an index the blob chooses:
# the C unpickler grows its memo up to that index, so a 40-byte blob naming
# index 2**28 allocates gigabytes (a fuzz finding). `StoreConfig.compact`
# memoizes with MEMOIZE only (protocol 4), whose index is the memo's length.
_INDEXED_PUTS = frozenset({'PUT', 'BINPUT', 'LONG_BINPUT'})


def _check_opcodes(blob: bytes | bytearray | memoryview) -> None:
    """Refuse blobs with opcodes `compact` never writes (before unpickling).

    Raises:
        ValueError: If ``blob`` is not a pickle, or stores into the memo at
            an index of its choosing.
    """
    try:
        puts = [
            (opcode.name, position)
            for opcode, _, position in pickletools.genops(io.BytesIO(blob))
            if opcode.name in _INDEXED_PUTS
        ]
    except Exception as e:  # pickletools raises a few unrelated types
        raise ValueError(
            f'not a compact store config: {type(e).__name__}: {e}'
        ) from None
    if puts:
        name, position = puts[0]
        raise ValueError(
            f'a compact store config has no {name} opcode (at byte {position}): '
            'it memoizes with MEMOIZE only'
        )


def _load_compact(blob: bytes) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    """The fields of a compact blob, checked; calls nothing the blob names.

    Raises:
        ValueError: If ``blob`` is not a compact config.
    """
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise ValueError(f'a compact config is bytes, not {type(blob).__name__}')
    _check_opcodes(blob)
    try:
        fields = _CompactUnpickler(io.BytesIO(blob)).load()
    except Exception as e:  # the unpickler raises many unrelated types
        raise ValueError(
            f'not a compact store config: {type(e).__name__}: {e}'
        ) from None
    if not (
        type(fields) is tuple
        and len(fields) == 4
        and type(fields[0]) is str
        and type(fields[1]) is str
        and type(fields[2]) is dict
        and type(fields[3]) is dict
    ):
        raise ValueError('not a compact store config: (name, kind, options, extra)')
    name, kind, options, extra = fields
    unknown = set(extra) - set(_COMPACT_FIELDS)
    if unknown:
        raise ValueError(f'a compact store config has unknown fields {unknown!r}')
    extra = dict(extra)
    for field in ('serializer', 'deserializer'):
        value = extra.get(field)
        if isinstance(value, _Reference):
            try:
                extra[field] = value.resolve()
            except Exception as e:  # an import fails in many ways
                raise ValueError(
                    f'the {field} {value.module}.{value.name} of a compact store '
                    f'config cannot be imported: {type(e).__name__}: {e}'
                ) from None
    if _holds_reference((options, extra)):
        raise ValueError(
            'a compact store config names a global outside its serializer and '
            'deserializer'
        )
    return name, kind, options, extra


def _holds_reference(value: Any) -> bool:
    # Iterative: a deeply nested blob must not exhaust the stack here.
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, _Reference):
            return True
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            pending.extend(item)
    return False


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
        """Rebuild a config from `compact`.

        A blob is a pickle, but it is read by an unpickler that calls nothing
        the blob names: the options and settings are plain values (``None``,
        booleans, numbers, strings, bytes, and lists, tuples, sets and dicts of
        them, and bytearrays); the custom serializer and deserializer, the only
        functions a blob may hold, are imported by name, as pickle would, but
        not called. So malformed or forged bytes raise `ValueError` and run no
        code of the blob's choosing.

        Raises:
            ValueError: If ``blob`` is not a compact config or its fields are
                not a valid config (pydantic's ``ValidationError`` is one).
        """
        name, kind, options, extra = _load_compact(blob)
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

        Options set to ``None`` are left out (TOML has no null): read back,
        they take their defaults. The secret is left out.

        Raises:
            ValueError: If a custom serializer or deserializer is set (TOML cannot
                hold a function), or a list in the options holds ``None``.
        """
        if self.serializer is not None or self.deserializer is not None:
            raise ValueError(
                'A config with a custom serializer or deserializer cannot be '
                'written to TOML.',
            )
        data = _without_none(
            self.model_dump(exclude={'serializer', 'deserializer', 'secret'})
        )
        path = pathlib.Path(filepath)
        path.parent.mkdir(parents=True, exist_ok=True)
        import tomli_w  # see from_toml

        path.write_text(tomli_w.dumps(data))


def _without_none(value: Any) -> Any:
    """``value`` with the ``None`` entries of its tables left out (TOML has no null).

    An option left out takes its default when the file is read, which is what a
    ``None`` option means for the connectors.

    Raises:
        ValueError: If a list holds ``None`` (it has no TOML form).
    """
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        if any(item is None for item in value):
            raise ValueError(f'A list with None cannot be written to TOML: {value!r}')
        return [_without_none(item) for item in value]
    return value


def _config_from_compact(blob: bytes) -> StoreConfig:
    return StoreConfig.from_compact(blob)
