"""Connector kinds: the names under which connectors are found.

A connector distribution declares its class in the entry-point group
``proxystore.connectors`` (``redis = "proxystore.connectors.redis:RedisConnector"``).
Looking a kind up imports only that connector's module, on first use; listing the
kinds imports none.

A kind is an entry-point name (``'file'``, case-insensitive), ProxyStore 1.x's class
name (``'FileConnector'``) or the import path of a connector class
(``'proxystore.connectors.file.FileConnector'`` or ``'package.module:Class'``).

```python
from proxystore.connectors.registry import connector_type, kind_of

FileConnector = connector_type('file')
assert kind_of(FileConnector) == 'file'
```

A kind that is not installed raises `UnknownConnectorError` naming the
distribution to install, taken from one table of the connectors this project
ships separately.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
from typing import Any

from proxystore.connectors.protocols import ConnectorError

__all__ = [
    'ENTRY_POINT_GROUP',
    'UnknownConnectorError',
    'connector_kinds',
    'connector_type',
    'install_hint',
    'kind_of',
]

ENTRY_POINT_GROUP = 'proxystore.connectors'
"""The entry-point group in which connector distributions declare their class."""

# Kinds shipped in their own distribution: kind -> (distribution, extra of the
# ``proxystore`` metapackage). The one place that names them.
_DISTRIBUTIONS: dict[str, tuple[str, str]] = {
    'redis': ('proxystore-connector-redis', 'redis'),
    'mpi': ('proxystore-connector-mpi', 'mpi'),
    'ucx': ('proxystore-connector-ucx', 'ucx'),
    'endpoint': ('proxystore-p2p-endpoint', 'endpoint'),
}
_SUFFIX = 'connector'


class UnknownConnectorError(ConnectorError, ValueError):
    """No installed connector has the kind asked for, or its path does not import.

    A `ValueError`, as ProxyStore 1.x raised for an unknown connector type.

    Attributes:
        kind: The kind asked for.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.kind, str(self)))


@functools.cache
def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    return {entry.name.lower(): entry for entry in found}


def _short(kind: str) -> str:
    short = kind.strip().lower()
    if short.endswith(_SUFFIX) and short != _SUFFIX:
        short = short[: -len(_SUFFIX)]
    return short


def connector_kinds() -> dict[str, str]:
    """Installed connectors, sorted: entry-point name to ``module:Class``."""
    return {name: entry.value for name, entry in sorted(_entry_points().items())}


def install_hint(kind: str) -> str:
    """How to install the connector of ``kind``: a ``pip install`` line.

    Kinds of this project name their real distribution and the extra of the
    ``proxystore`` metapackage; other kinds get the conventional name.
    """
    short = _short(kind)
    distribution, extra = _DISTRIBUTIONS.get(
        short,
        (f'proxystore-connector-{short}', short),
    )
    return f"pip install 'proxystore[{extra}]' (package {distribution})"


def _import_path(kind: str) -> type[Any]:
    if ':' in kind:
        module_name, _, attribute = kind.partition(':')
    else:
        module_name, _, attribute = kind.rpartition('.')
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as e:
        raise UnknownConnectorError(
            kind,
            f'Unknown connector type "{kind}": cannot import it ({e}).',
        ) from e
    if not isinstance(found, type):
        raise UnknownConnectorError(
            kind,
            f'Unknown connector type "{kind}": it names a '
            f'{type(found).__name__}, not a class.',
        )
    return found


def connector_type(kind: str) -> type[Any]:
    """The connector class of a kind, importing its module on first use.

    Args:
        kind: Entry-point name, ProxyStore 1.x class name or import path.

    Raises:
        UnknownConnectorError: If no installed connector has that name (the
            message names the package to install), or the import path does not
            import.
    """
    if not isinstance(kind, str) or not kind.strip():
        raise UnknownConnectorError(
            str(kind),
            f'A connector kind is a non-empty string, not {kind!r}.',
        )
    kind = kind.strip()
    entry = _entry_points().get(_short(kind))
    if entry is not None:
        return entry.load()  # type: ignore[no-any-return]
    if '.' in kind or ':' in kind:
        return _import_path(kind)
    installed = ', '.join(connector_kinds()) or 'none'
    raise UnknownConnectorError(
        kind,
        f'Unknown connector type "{kind}". Installed connectors: {installed}. '
        f'If "{_short(kind)}" is a ProxyStore connector, install it with '
        f'{install_hint(kind)}.',
    )


def kind_of(cls: type[Any]) -> str:
    """The kind that names a connector class: its entry-point name, else its path.

    Args:
        cls: A connector class.

    Raises:
        TypeError: If ``cls`` is not a class.
    """
    if not isinstance(cls, type):
        raise TypeError(f'kind_of() takes a connector class, not {cls!r}.')
    path = f'{cls.__module__}:{cls.__qualname__}'
    for name, entry in _entry_points().items():
        if entry.value == path:
            return name
    return f'{cls.__module__}.{cls.__qualname__}'
